"""Radicale's rights plugin: each user reads the root (to find their principal), and reads and writes their
own principal and address books; nothing of anybody else's, and nothing deeper than an address book."""

from __future__ import annotations

from radicale import pathutils
from radicale.rights import BaseRights


class OwnCollectionsOnly(BaseRights):
    def authorization(self, user: str, user_groups: set, path: str) -> str:
        if not user:
            return ""
        sane_path = pathutils.strip_path(path)
        if not sane_path:
            return "R"
        if sane_path.split("/", maxsplit=1)[0] != user:
            return ""
        return {0: "RW", 1: "rw"}.get(sane_path.count("/"), "")

"""What a blob key says about whose it is: the layouts the gallery and the media pipeline write.

Kept in step with gallery.service.original_key and media.service.derived_key (a test round-trips both).
A key of any other shape is unknown here, and maintenance never deletes what it does not recognise.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

_ORIGINAL = re.compile(r"^users/(\d+)/originals/([0-9a-f]{2})/([0-9a-f]{40})\.[0-9a-f]+$")
_DERIVED = re.compile(r"^users/(\d+)/derived/([0-9a-f-]{36})/[^/]+$")
USERS_PREFIX = "users/"


@dataclass(frozen=True)
class OriginalKey:
    owner_id: int
    sha1: str


@dataclass(frozen=True)
class DerivedKey:
    owner_id: int
    asset_id: uuid.UUID


BlobOwner = OriginalKey | DerivedKey


def parse(key: str) -> BlobOwner | None:
    if match := _ORIGINAL.match(key):
        owner, fan_out, sha1 = match.groups()
        return OriginalKey(int(owner), sha1) if sha1.startswith(fan_out) else None
    if match := _DERIVED.match(key):
        try:
            return DerivedKey(int(match.group(1)), uuid.UUID(match.group(2)))
        except ValueError:
            return None
    return None

"""Where the gallery keeps its bytes, and what a key says about whose they are.

Originals: users/{owner}/originals/{sha1[:2]}/{sha1}.{random}; derivatives (the media pipeline's thumbnail
and preview): users/{owner}/derived/{asset id}/{name}. A key of any other shape is not the gallery's, and
recovery never deletes what no kind recognises.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from phonecloud.core.kinds import Orphan
from phonecloud.gallery.models import Asset

_ORIGINAL = re.compile(r"^users/(\d+)/originals/([0-9a-f]{2})/([0-9a-f]{40})\.[0-9a-f]+$")
_DERIVED = re.compile(r"^users/(\d+)/derived/([0-9a-f-]{36})/[^/]+$")


def original_key(owner_id: int, sha1: str) -> str:
    """Per owner, so one user's data can be found and deleted without a scan; named by content, with a
    random suffix that makes each upload the only writer of its key."""
    return f"users/{owner_id}/originals/{sha1[:2]}/{sha1}.{secrets.token_hex(4)}"


def derived_key(owner_id: int, asset_id: uuid.UUID, name: str) -> str:
    """Beside, not among, the originals: derivatives are rebuilt at will and never count in the quota."""
    return f"users/{owner_id}/derived/{asset_id}/{name}"


@dataclass(frozen=True)
class OriginalKey:
    owner_id: int
    sha1: str


@dataclass(frozen=True)
class DerivedKey:
    owner_id: int
    asset_id: uuid.UUID


def parse(key: str) -> OriginalKey | DerivedKey | None:
    if match := _ORIGINAL.match(key):
        owner, fan_out, sha1 = match.groups()
        return OriginalKey(int(owner), sha1) if sha1.startswith(fan_out) else None
    if match := _DERIVED.match(key):
        try:
            return DerivedKey(int(match.group(1)), uuid.UUID(match.group(2)))
        except ValueError:
            return None
    return None


def content_sha1(key: str) -> str | None:
    """The SHA-1 an original's key names (its bytes must have it), None for any other key."""
    parsed = parse(key)
    return parsed.sha1 if isinstance(parsed, OriginalKey) else None


def orphans(session: Session, keys: Sequence[str]) -> list[Orphan]:
    """Of these keys, the gallery's that no asset references. An original is referenced only by the asset
    that has exactly its key (an older asset with the same bytes has a key of its own); a derivative by
    its asset's existence (the pipeline writes derivatives only for an asset it has read)."""
    parsed = [(key, parse(key)) for key in keys]
    originals = [(key, owner) for key, owner in parsed if isinstance(owner, OriginalKey)]
    derived = [(key, owner) for key, owner in parsed if isinstance(owner, DerivedKey)]
    referenced = _referenced_originals(session, [owner for _, owner in originals])
    asset_ids = [owner.asset_id for _, owner in derived]
    live = set(session.scalars(select(Asset.id).where(Asset.id.in_(asset_ids)))) if asset_ids else set()
    return ([Orphan(key, owner.owner_id, "original") for key, owner in originals if key not in referenced]
            + [Orphan(key, owner.owner_id, "derivative") for key, owner in derived if owner.asset_id not in live])


def _referenced_originals(session: Session, candidates: Sequence[OriginalKey]) -> set[str]:
    """The blob keys of the assets with these (owner, SHA-1) pairs: one query per owner, each a range of the
    (owner, SHA-1) unique index (SQLite scans the whole table for a list of row values)."""
    by_owner: dict[int, list[str]] = {}
    for candidate in candidates:
        by_owner.setdefault(candidate.owner_id, []).append(candidate.sha1)
    keys: set[str] = set()
    for owner_id, sha1s in by_owner.items():
        keys.update(session.scalars(select(Asset.blob_key).where(Asset.owner_id == owner_id, Asset.sha1.in_(sha1s))))
    return keys

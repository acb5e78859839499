"""Where Takeout parts wait to be read: users/{owner}/takeout/{part id}, until their import is done. A key of
any other shape is not theirs (recovery never deletes what no kind recognises)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from phonecloud.core.kinds import Orphan
from phonecloud.gallery.takeout.models import TakeoutPart

_PART = re.compile(r"^users/(\d+)/takeout/([0-9a-f-]{36})$")


def part_key(owner_id: int, part_id: uuid.UUID) -> str:
    return f"users/{owner_id}/takeout/{part_id}"


def orphans(session: Session, keys: Sequence[str]) -> list[Orphan]:
    """Of these keys, the parts' that no part row references."""
    parts = [(key, int(match.group(1))) for key in keys if (match := _PART.match(key))]
    wanted = [key for key, _ in parts]
    live = set(session.scalars(select(TakeoutPart.blob_key).where(TakeoutPart.blob_key.in_(wanted))) if wanted else ())
    return [Orphan(key, owner, "takeout part") for key, owner in parts if key not in live]


def referenced_keys(session: Session) -> Iterator[str]:
    yield from session.scalars(select(TakeoutPart.blob_key).where(TakeoutPart.blob_key.is_not(None))
                               .execution_options(yield_per=1000))

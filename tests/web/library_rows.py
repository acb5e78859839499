"""A large library made directly in the database (rows only, no bytes): for paging and timing the timeline
without uploading thousands of files. Stand-in rows, named as such: their thumbnails stay 'pending'."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from sqlalchemy import insert, select

from phonecloud.accounts.models import User
from phonecloud.gallery.models import Asset

NEWEST = dt.datetime(2024, 6, 30, 20, 0, tzinfo=dt.UTC)


def add_rows(services, email: str, count: int, spacing: dt.timedelta = dt.timedelta(hours=7), batch: int = 5000) -> None:
    """count photos of the user, one every spacing back from NEWEST (so about 3.4 a day by default)."""
    with services.db.read() as session:
        owner = session.scalar(select(User.id).where(User.email == email))
    for start in range(0, count, batch):
        rows = []
        for number in range(start, min(count, start + batch)):
            moment = NEWEST - spacing * number
            rows.append(dict(id=uuid.uuid4(), owner_id=owner, kind="photo", mime_type="image/jpeg",
                             original_filename=f"ROW_{number:06d}.jpg", size_bytes=1000,
                             sha1=hashlib.sha1(f"{email}:{number}".encode()).hexdigest(), crc32=0,
                             blob_key=f"stand-in/{number}", file_modified_at=moment, uploaded_at=moment,
                             sort_at=moment, is_favorite=False, trashed_at=None))
        with services.db.write() as session:
            session.execute(insert(Asset), rows)

"""The Takeout imports' tables: the zip parts a user uploaded (kept, and charged to the quota, until the import
that reads them is done) and the imports with their progress and report."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from phonecloud.core.db import Base, UTCDateTime, utcnow

# Import states.
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


class TakeoutImport(Base):
    """One import of a Takeout (all its parts), its progress and, once finished, its report."""

    __tablename__ = "takeout_imports"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    files_total: Mapped[int] = mapped_column(BigInteger, default=0)  # distinct new files to upload
    files_done: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    report: Mapped[str | None] = mapped_column(Text)  # JSON: the importer's summary, once finished
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_takeout_imports_owner", "owner_id", "created_at"),)


class TakeoutPart(Base):
    """A zip part: uploaded (blob_key, charged) or on the server's disk (path, named by the administrator).
    Free until an import takes it; its bytes go once that import is done."""

    __tablename__ = "takeout_parts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    import_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("takeout_imports.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha1: Mapped[str | None] = mapped_column(String(40))
    blob_key: Mapped[str | None] = mapped_column(String(200))  # an uploaded part while it is kept
    path: Mapped[str | None] = mapped_column(Text)  # a part on the server's disk
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_takeout_parts_owner", "owner_id", "import_id"),)

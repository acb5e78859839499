"""Queries of the export tables and of the per-asset SHA-256; every one scoped to an owner or an export."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from phonecloud.portability.models import PREPARING, READY, Export, ExportEntry, ExportPart


def owned_export(session: Session, owner_id: int, export_id: uuid.UUID) -> Export | None:
    return session.scalar(select(Export).where(Export.id == export_id, Export.owner_id == owner_id))


def latest_export(session: Session, owner_id: int) -> Export | None:
    return session.scalar(select(Export).where(Export.owner_id == owner_id)
                          .order_by(Export.created_at.desc(), Export.id.desc()).limit(1))


def latest_ready_since(session: Session, owner_id: int, since: dt.datetime) -> Export | None:
    return session.scalar(select(Export).where(Export.owner_id == owner_id, Export.state == READY,
                                               Export.created_at >= since)
                          .order_by(Export.created_at.desc(), Export.id.desc()).limit(1))


def exports_of(session: Session, owner_id: int) -> list[Export]:
    """The owner's exports, newest first (a few: older ones are removed as new ones are made)."""
    return list(session.scalars(select(Export).where(Export.owner_id == owner_id)
                                .order_by(Export.created_at.desc(), Export.id.desc())))


def preparing_export(session: Session, owner_id: int) -> Export | None:
    return session.scalar(select(Export).where(Export.owner_id == owner_id, Export.state == PREPARING).limit(1))


def exports_beyond(session: Session, owner_id: int, keep: int) -> list[Export]:
    """The owner's exports other than the newest `keep`."""
    return list(session.scalars(select(Export).where(Export.owner_id == owner_id)
                                .order_by(Export.created_at.desc(), Export.id.desc()).offset(keep)))


def parts(session: Session, export_id: uuid.UUID) -> list[ExportPart]:
    return list(session.scalars(select(ExportPart).where(ExportPart.export_id == export_id).order_by(ExportPart.number)))


def part(session: Session, export_id: uuid.UUID, number: int) -> ExportPart | None:
    return session.get(ExportPart, (export_id, number))


def entry_of_kind(session: Session, export_id: uuid.UUID, kind: str) -> ExportEntry | None:
    return session.scalar(select(ExportEntry).where(ExportEntry.export_id == export_id, ExportEntry.kind == kind)
                          .order_by(ExportEntry.seq.desc()).limit(1))


def first_offset_at_or_before(session: Session, export_id: uuid.UUID, number: int, offset: int) -> int:
    """Where the entry holding byte `offset` of a part begins (0 when none does)."""
    return session.scalar(select(ExportEntry.offset).where(
        ExportEntry.export_id == export_id, ExportEntry.part == number, ExportEntry.offset <= offset)
        .order_by(ExportEntry.offset.desc()).limit(1)) or 0


def entries_from(session: Session, export_id: uuid.UUID, number: int, offset: int, end: int | None,
                 limit: int) -> list[ExportEntry]:
    """A part's entries whose local header starts in [offset, end), in order, at most `limit`."""
    query = select(ExportEntry).where(ExportEntry.export_id == export_id, ExportEntry.part == number,
                                      ExportEntry.offset >= offset)
    if end is not None:
        query = query.where(ExportEntry.offset < end)
    return list(session.scalars(query.order_by(ExportEntry.offset).limit(limit)))


def entries_in_order(export_id: uuid.UUID) -> Select:
    return select(ExportEntry).where(ExportEntry.export_id == export_id).order_by(ExportEntry.seq)


def delete_layout(session: Session, export_id: uuid.UUID) -> None:
    session.execute(delete(ExportEntry).where(ExportEntry.export_id == export_id))
    session.execute(delete(ExportPart).where(ExportPart.export_id == export_id))

"""Account deletion's part for messages: every row and blob of one user, a batch at a time, each batch's
removal recorded in the transaction that deletes its rows (blobs go once it has committed). Idempotent: a
run cut short leaves rows for the next one, or blobs that the deletion's final sweep of the prefix removes."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from phonecloud.accounts.quota import QuotaLedger
from phonecloud.core.blobstore import BlobNotFound, BlobStore
from phonecloud.core.db import Database
from phonecloud.core.kinds import Purged, Record
from phonecloud.messages import repository
from phonecloud.messages.models import (Attachment, Conversation, MessageImport, MessagePart, OwnAddress, StoredCall,
                                        StoredMessage)

BATCH = 1000


def purge_user(db: Database, blobs: BlobStore, quota: QuotaLedger, owner_id: int, record: Record) -> None:
    _calls(db, owner_id, record)
    _messages(db, owner_id, record)
    with db.write() as session:  # what only grouped them
        rows = sum(repository.delete_all(session, table, owner_id) for table in (Conversation, OwnAddress))
        record(Purged(rows=rows), session)
    _imports(db, blobs, quota, owner_id, record)
    _attachments(db, blobs, quota, owner_id, record)
    for folder in ("exports", "thumbnails"):
        _files_under(blobs, f"users/{owner_id}/messages/{folder}/", record)


def _calls(db: Database, owner_id: int, record: Record) -> None:
    while True:
        with db.write() as session:
            removed = repository.delete_batch(session, StoredCall, owner_id, BATCH)
            record(Purged(items=removed, rows=removed), session)
        if removed < BATCH:
            return


def _messages(db: Database, owner_id: int, record: Record) -> None:
    """Messages with their parts (the attachments' bytes go afterwards, with their rows)."""
    while True:
        with db.write() as session:
            ids = list(session.scalars(select(StoredMessage.id).where(StoredMessage.owner_id == owner_id).limit(BATCH)))
            parts = session.execute(delete(MessagePart).where(MessagePart.message_id.in_(ids))).rowcount if ids else 0
            removed = session.execute(delete(StoredMessage).where(StoredMessage.id.in_(ids))).rowcount if ids else 0
            record(Purged(items=removed, rows=removed + parts), session)
        if len(ids) < BATCH:
            return


def _size(blobs: BlobStore, key: str) -> int | None:
    try:
        return blobs.size(key)
    except BlobNotFound:
        return None


def _imports(db: Database, blobs: BlobStore, quota: QuotaLedger, owner_id: int, record: Record) -> None:
    """Imports, and the uploaded files still kept (their bytes leave the quota with them)."""
    with db.read() as session:
        kept = list(session.execute(select(MessageImport.id, MessageImport.blob_key, MessageImport.size_bytes).where(
            MessageImport.owner_id == owner_id, MessageImport.blob_key.is_not(None))))
    for import_id, key, charged in kept:
        size = _size(blobs, key)
        with db.write() as session:
            rows = session.execute(delete(MessageImport).where(MessageImport.id == import_id)).rowcount
            if rows:
                quota.release(session, owner_id, charged)
            record(Purged(rows=rows, blobs=int(size is not None), bytes=size or 0), session)
        blobs.delete(key)
    with db.write() as session:
        rows = repository.delete_all(session, MessageImport, owner_id)
        record(Purged(rows=rows), session)


def _attachments(db: Database, blobs: BlobStore, quota: QuotaLedger, owner_id: int, record: Record) -> None:
    while True:
        with db.read() as session:
            batch = list(session.execute(select(Attachment.id, Attachment.blob_key).where(
                Attachment.owner_id == owner_id).limit(BATCH)))
        sizes = {key: size for _, key in batch if (size := _size(blobs, key)) is not None}
        with db.write() as session:
            ids = [attachment_id for attachment_id, _ in batch]
            charged = session.scalar(select(func.coalesce(func.sum(Attachment.size_bytes), 0)).where(
                Attachment.id.in_(ids))) if ids else 0
            rows = session.execute(delete(Attachment).where(Attachment.id.in_(ids))).rowcount if ids else 0
            if charged:
                quota.release(session, owner_id, charged)
            record(Purged(rows=rows, blobs=len(sizes), bytes=sum(sizes.values())), session)
        for key in sizes:
            blobs.delete(key)
        if len(batch) < BATCH:
            return


def _files_under(blobs: BlobStore, prefix: str, record: Record) -> None:
    """Blobs no row of the kind lists, found by their prefix: the full exports' Messages files (the exports'
    own rows go with the exports) and the photos' thumbnails (outside the quota, as the gallery's)."""
    removed = Purged()
    for key in list(blobs.iterate(prefix)):
        size = _size(blobs, key)
        if size is None:
            continue
        blobs.delete(key)
        removed.blobs += 1
        removed.bytes += size
    if removed.blobs:
        record(removed, None)

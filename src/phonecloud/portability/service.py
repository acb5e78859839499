"""Exports: a user's whole library as zip parts laid out like Google Takeout, frozen when prepared, any
byte range of any part served on demand in constant memory, with no copy of the library.

Asking for an export makes a row and a job. The job computes the SHA-256 of every original that has none
yet (once per original: the manifest lists them; the CRC-32 recorded at upload is checked on the way),
then freezes the layout in one consistent read of the library: every file's part, offset, size, CRC-32
and source. Generated files (sidecars, album metadata, index.html, manifest.json) are stored once, in one
blob of the export's own. A part's bytes then follow from its rows alone: the same part is the same bytes
each time, whatever happens to the library since. An original deleted after the snapshot makes the
parts that need it fail with 410 before any byte is sent, never a damaged archive.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from phonecloud.accounts.service import Principal
from phonecloud.core.blobstore import BlobNotFound, BlobStore
from phonecloud.core.db import Database, utcnow
from phonecloud.core.errors import BadRequest, Conflict, Gone, NotFound
from phonecloud.core.kinds import Purged, Record
from phonecloud.jobs.queue import JobQueue
from phonecloud.jobs.worker import DeferJob, PermanentJobError
from phonecloud.portability import manifest as manifest_format
from phonecloud.portability import repository
from phonecloud.portability.index_page import index_page
from phonecloud.portability.jobs import EXPORT_JOB, export_of, job_subject
from phonecloud.portability.layout import Layout
from phonecloud.portability.models import FAILED, PREPARING, READY, Export, ExportEntry, ExportPart
from phonecloud.portability.sections import ExportContext, Section
from phonecloud.portability.takeout import iso, unix_seconds
from phonecloud.portability.zipformat import PartInfo, PartPlanner, Placed, ZipEntry, ZipFormat, part_bytes

log = logging.getLogger("phonecloud.export")

KEEP_EXPORTS = 3  # per user; asking for another removes the oldest
# Someone is waiting for an export, while thumbnails can wait: due since long ago, it is claimed first.
FIRST_IN_LINE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
INDEX_PATH = "Takeout/index.html"
INDEX = "index"
MANIFEST = "manifest"
READ_CHUNK = 1 << 20
HASH_CHUNK = 4 << 20
DIGEST_BATCH_BYTES = 256 << 20
ENTRY_BATCH = 500
MAX_DIGEST_PAGE = 10_000
# An export waits for the sections' background work (the media pipeline's capture dates), but not forever.
WAIT_LIMIT = dt.timedelta(hours=1)
# How often a waiting export looks again: soon at first (someone is watching), less often the longer it waits.
WAIT_POLL_FIRST, WAIT_POLL_MOST = dt.timedelta(seconds=0.25), dt.timedelta(seconds=2)


class PartInterrupted(Exception):
    """An original needed by a part went missing while the part was being sent: the stream stops short."""


class DamagedOriginal(Exception):
    """A stored original no longer matches the size or CRC-32 recorded when it was uploaded."""


@dataclass(frozen=True)
class ExportView:
    export: Export
    parts: list[ExportPart]
    manifest: ExportEntry | None


@dataclass(frozen=True)
class PartView:
    export: Export
    part: ExportPart

    @property
    def name(self) -> str:
        return part_name(self.export, self.part.number)

    @property
    def etag(self) -> str:
        return f'"export-{self.export.id}-{self.part.number}"'


@dataclass(frozen=True)
class ExportStanding:
    """How far a user's newest export made since some moment got: prepared, every part downloaded whole,
    every part checked against the manifest by `phonecloud export`."""

    export_id: uuid.UUID
    snapshot_at: dt.datetime  # it holds the library as it was then
    parts: int
    parts_downloaded: int
    downloaded_at: dt.datetime | None  # once every part was: when the last one was
    verified_at: dt.datetime | None


@dataclass(frozen=True)
class Source:
    """Where a placed entry's bytes are."""

    blob_key: str
    blob_offset: int


def part_name(export: Export, number: int) -> str:
    """When it was asked for, which export (two asked for in one second must not share a file name) and the part."""
    return f"phonecloud-export-{export.created_at:%Y%m%dT%H%M%SZ}-{export.id.hex[:8]}-{number:03d}.zip"


def generated_key(export: Export) -> str:
    return f"users/{export.owner_id}/exports/{export.id}/generated"


def _coalesce(pieces: Iterable[bytes], size: int = READ_CHUNK) -> Iterator[bytes]:
    """Small pieces (headers, sidecars) merged into chunks of about `size`: fewer writes to the socket."""
    buffer: list[bytes] = []
    buffered = 0
    for piece in pieces:
        if not buffered and len(piece) >= size:
            yield piece
            continue
        buffer.append(piece)
        buffered += len(piece)
        if buffered >= size:
            yield b"".join(buffer)
            buffer, buffered = [], 0
    if buffer:
        yield b"".join(buffer)


class PortabilityService:
    def __init__(self, db: Database, blobs: BlobStore, part_size: int, zip64_from: int,
                 sections: tuple[Section, ...], jobs: JobQueue):
        """sections: every data kind's part of an export, in archive order."""
        self.db = db
        self.blobs = blobs
        self.jobs = jobs
        self.part_size = part_size
        self.zip64_from = zip64_from
        self.sections = sections

    # -- asking for and describing exports ---------------------------------------------------------------

    def create(self, principal: Principal, base_url: str) -> ExportView:
        """A new export of the library as it is now, prepared in the background; while one is being
        prepared, that one (asking twice does not make two)."""
        stale_keys = []
        with self.db.write() as session:
            export = repository.preparing_export(session, principal.user_id)
            if export is None:
                export = Export(id=uuid.uuid4(), owner_id=principal.user_id, state=PREPARING, created_at=utcnow(),
                                base_url=base_url.rstrip("/"), part_size=self.part_size, zip64_from=self.zip64_from,
                                hash_total_bytes=0, hash_done_bytes=0, asset_count=0, file_count=0, total_bytes=0)
                session.add(export)
                session.flush()
                JobQueue.enqueue_in(session, EXPORT_JOB, job_subject(export.id), run_after=FIRST_IN_LINE,
                                    owner_id=principal.user_id)
                for old in repository.exports_beyond(session, principal.user_id, KEEP_EXPORTS):
                    stale_keys.append(generated_key(old))
                    session.delete(old)
        self.jobs.wake()  # a person is waiting: this process's workers start now, not at their next poll
        for key in stale_keys:
            self.blobs.delete(key)
        return ExportView(export, [], None)

    def _owned(self, session, principal: Principal, export_id: uuid.UUID) -> Export:
        export = repository.owned_export(session, principal.user_id, export_id)
        if export is None:
            raise NotFound(f"no export {export_id}")
        return export

    def _view(self, session, export: Export) -> ExportView:
        if export.state != READY:
            return ExportView(export, [], None)
        return ExportView(export, repository.parts(session, export.id), repository.entry_of_kind(session, export.id, MANIFEST))

    def latest(self, principal: Principal) -> ExportView:
        with self.db.read() as session:
            export = repository.latest_export(session, principal.user_id)
            if export is None:
                raise NotFound("no export yet: POST /api/v1/export makes one")
            return self._view(session, export)

    def exports(self, principal: Principal) -> list[ExportView]:
        """The caller's exports, newest first, each with its parts once ready."""
        with self.db.read() as session:
            return [self._view(session, export) for export in repository.exports_of(session, principal.user_id)]

    def describe(self, principal: Principal, export_id: uuid.UUID) -> ExportView:
        with self.db.read() as session:
            return self._view(session, self._owned(session, principal, export_id))

    def delete(self, principal: Principal, export_id: uuid.UUID) -> None:
        """Forget an export and its generated files (the originals are the library's, untouched)."""
        with self.db.write() as session:
            export = self._owned(session, principal, export_id)
            key = generated_key(export)
            session.delete(export)
        self.blobs.delete(key)

    def verified(self, principal: Principal, export_id: uuid.UUID, manifest_sha256: str) -> ExportView:
        """The client checked every part it downloaded against this manifest: noted, with the time."""
        with self.db.write() as session:
            export = self._ready(session, principal, export_id)
            if manifest_sha256 != export.manifest_sha256:
                raise BadRequest(f"manifest_sha256 {manifest_sha256!r} is not the SHA-256 of export {export_id}'s "
                                 f"manifest ({export.manifest_sha256}): the parts were checked against another "
                                 "manifest", field="manifest_sha256")
            export.verified_at = utcnow()
            return self._view(session, export)

    def standing(self, owner_id: int, since: dt.datetime) -> ExportStanding | None:
        """The owner's newest export prepared from a snapshot taken at or after `since`, and how far it got."""
        with self.db.read() as session:
            export = repository.latest_ready_since(session, owner_id, since)
            if export is None:
                return None
            parts = repository.parts(session, export.id)
        downloaded = [part.downloaded_at for part in parts if part.downloaded_at is not None]
        return ExportStanding(export.id, export.created_at, len(parts), len(downloaded),
                              max(downloaded) if len(downloaded) == len(parts) and parts else None,
                              export.verified_at)

    # -- reading parts -----------------------------------------------------------------------------------

    def _ready(self, session, principal: Principal, export_id: uuid.UUID) -> Export:
        export = self._owned(session, principal, export_id)
        if export.state == PREPARING:
            raise Conflict(f"export {export_id} is still being prepared; its parts are listed once it is ready",
                           state=export.state)
        if export.state == FAILED:
            raise Conflict(f"export {export_id} failed: {export.error}; make a new one", state=export.state)
        return export

    def part(self, principal: Principal, export_id: uuid.UUID, number: int) -> PartView:
        with self.db.read() as session:
            export = self._ready(session, principal, export_id)
            part = repository.part(session, export.id, number)
            if part is None:
                count = len(repository.parts(session, export.id))
                raise NotFound(f"export {export_id} has {count} parts, numbered from 1; there is no part {number}")
        return PartView(export, part)

    def read_part(self, view: PartView, start: int, end: int) -> Iterator[bytes]:
        """Bytes [start, end) of the part. Raises Gone, before any byte, when an original it needs was
        deleted since the export was made; if one vanishes while streaming, the stream stops short (the
        client sees an incomplete download and, asking again, this error), never wrong bytes."""
        export, part = view.export, view.part
        self._check_sources(export, part, start, end)
        zip_format = ZipFormat(export.zip64_from)
        info = PartInfo(part.number, part.size, part.entries, part.cd_offset, part.cd_size)
        generated = generated_key(export)

        def read(placed: Placed, first: int, last: int) -> Iterator[bytes]:
            source: Source = placed.source
            sent = 0
            try:
                for chunk in self.blobs.get(source.blob_key, source.blob_offset + first, source.blob_offset + last,
                                            READ_CHUNK):
                    sent += len(chunk)
                    yield chunk
            except BlobNotFound:
                raise self._interrupted(export, part, placed, "was deleted from the library") from None
            if sent != last - first:
                raise self._interrupted(export, part, placed, "is shorter than when the export was made")

        def entries_from(offset: int) -> Iterator[Placed]:
            return self._placed(export.id, part.number, offset, None, generated)

        stream = _coalesce(part_bytes(zip_format, info, entries_from, read, start, end))
        return self._noting_download(stream, export.id, part.number) if end == part.size else stream

    def _noting_download(self, stream: Iterator[bytes], export_id: uuid.UUID, number: int) -> Iterator[bytes]:
        """The stream; once its last byte (the part's last) is out, the part is noted as downloaded."""
        yield from stream
        with self.db.write() as session:
            session.execute(update(ExportPart).where(ExportPart.export_id == export_id, ExportPart.number == number)
                            .values(downloaded_at=utcnow()))

    @staticmethod
    def _interrupted(export: Export, part: ExportPart, placed: Placed, what: str) -> PartInterrupted:
        """Said in the server's log: the client only sees the download stop short of its Content-Length."""
        reason = (f"export {export.id} part {part.number}: {placed.entry.name} {what} while the part was being "
                  "sent; the download was cut short (asking again answers 410 once the original is gone)")
        log.warning("%s", reason)
        return PartInterrupted(reason)

    def _placed(self, export_id: uuid.UUID, number: int, offset: int, end: int | None,
                generated: str) -> Iterator[Placed]:
        """The part's entries from the one holding byte `offset`, a batch per short read transaction."""
        with self.db.read() as session:
            offset = repository.first_offset_at_or_before(session, export_id, number, offset)
        while True:
            with self.db.read() as session:
                batch = repository.entries_from(session, export_id, number, offset, end, ENTRY_BATCH)
            for row in batch:
                yield Placed(ZipEntry(row.path, row.size, row.crc32, row.mtime), row.offset,
                             Source(row.blob_key or generated, row.blob_offset))
            if len(batch) < ENTRY_BATCH:
                return
            offset = batch[-1].offset + 1

    def _check_sources(self, export: Export, part: ExportPart, start: int, end: int) -> None:
        generated = generated_key(export)
        if not self.blobs.exists(generated):
            raise Gone(f"export {export.id} lost its generated files; make a new export")
        if start >= part.cd_offset:
            return
        for placed in self._placed(export.id, part.number, start, min(end, part.cd_offset), generated):
            if placed.source.blob_key != generated and not self.blobs.exists(placed.source.blob_key):
                raise Gone(f"{placed.entry.name} was deleted from the library after export {export.id} was made, "
                           "so this part can no longer be produced; make a new export", path=placed.entry.name)

    def manifest(self, principal: Principal, export_id: uuid.UUID) -> tuple[int, Iterator[bytes]]:
        """The export's manifest.json: (size, bytes), the same bytes as in its last part."""
        with self.db.read() as session:
            export = self._ready(session, principal, export_id)
            entry = repository.entry_of_kind(session, export.id, MANIFEST)
        try:
            return entry.size, self.blobs.get(generated_key(export), entry.blob_offset, entry.blob_offset + entry.size)
        except BlobNotFound:
            raise Gone(f"export {export.id} lost its generated files; make a new export") from None

    # -- account deletion ---------------------------------------------------------------------------------

    def purge_user(self, owner_id: int, record: Record) -> None:
        """Every export of the user: its generated files' blob, then its rows (parts and entries with it)."""
        with self.db.read() as session:
            exports = list(session.scalars(select(Export).where(Export.owner_id == owner_id)))
        for export in exports:
            try:
                size = self.blobs.size(generated_key(export))
            except BlobNotFound:
                size = None
            with self.db.write() as session:
                rows = 1 + sum(session.scalar(select(func.count()).select_from(table).where(
                    table.export_id == export.id)) or 0 for table in (ExportPart, ExportEntry))
                session.execute(delete(Export).where(Export.id == export.id))
                record(Purged(items=1, rows=rows, blobs=int(size is not None), bytes=size or 0), session)
            if size is not None:  # after the rows: a crash leaves a blob under the user's prefix, which the deletion sweeps
                self.blobs.delete(generated_key(export))

    def rows_left(self, session: Session, owner_id: int) -> int:
        return session.scalar(select(func.count()).select_from(Export).where(Export.owner_id == owner_id)) or 0

    # -- the SHA-256 of originals ------------------------------------------------------------------------

    def digests(self, principal: Principal, after: uuid.UUID | None, limit: int) -> list[tuple[uuid.UUID, str]]:
        """(item id, SHA-256) of the caller's originals whose digest an export computed, by id."""
        if not 1 <= limit <= MAX_DIGEST_PAGE:
            raise BadRequest(f"limit must be between 1 and {MAX_DIGEST_PAGE}")
        with self.db.read() as session:
            pages = [section.digest_page(session, principal.user_id, after, limit) for section in self.sections]
        return sorted(row for page in pages for row in page)[:limit]

    # -- the job: preparing an export --------------------------------------------------------------------

    def prepare(self, subject: str) -> None:
        try:
            export_id = export_of(subject)
        except ValueError as error:
            raise PermanentJobError(str(error)) from None
        with self.db.read() as session:
            export = session.get(Export, export_id)
        if export is None or export.state != PREPARING:
            return  # deleted, or done by an earlier run
        self._wait_for_sections(export)
        try:
            self._hash_originals(export)
            self._freeze(export)
        except Exception as error:
            # Any failure is final for this export, and said as such: the person asks for a new one.
            message = str(error) if isinstance(error, DamagedOriginal) else f"{type(error).__name__}: {error}"
            log.exception("export %s failed", export.id)
            with self.db.write() as session:
                session.execute(update(Export).where(Export.id == export.id, Export.state == PREPARING)
                                .values(state=FAILED, error=message[:2000]))
            raise PermanentJobError(message) from error

    def _wait_for_sections(self, export: Export) -> None:
        """A section may need background work done first (the media pipeline's capture dates): the job waits,
        costing no attempt, until then or until WAIT_LIMIT has passed (then what is left keeps its defaults)."""
        waited = utcnow() - export.created_at
        if waited > WAIT_LIMIT:
            return
        with self.db.read() as session:
            waiting = [reason for section in self.sections if (reason := section.waiting(session, export.owner_id))]
        if waiting:
            poll = min(max(waited / 4, WAIT_POLL_FIRST), WAIT_POLL_MOST)
            raise DeferJob(f"waiting for {'; '.join(waiting)}", poll)

    def _sha256(self, blob_key: str, size: int, crc32: int) -> str:
        digest, crc, length = hashlib.sha256(), 0, 0
        for chunk in self.blobs.get(blob_key, chunk_size=HASH_CHUNK):
            digest.update(chunk)
            crc = zlib.crc32(chunk, crc)
            length += len(chunk)
        if (length, crc) != (size, crc32):
            raise DamagedOriginal(f"the stored original {blob_key} no longer matches what was uploaded ({length} bytes,"
                                  f" CRC-32 {crc:08x}; recorded {size} bytes, {crc32:08x}): restore it from a backup")
        return digest.hexdigest()

    def _store_digests(self, section: Section, rows: list[tuple[uuid.UUID, str]]) -> None:
        with self.db.write() as session:
            section.record_sha256(session, rows)

    def _hash_originals(self, export: Export) -> None:
        with self.db.read() as session:
            todo = [(section, original) for section in self.sections
                    for original in section.unhashed(session, export.owner_id)]
        self._progress(export.id, hash_total_bytes=sum(original.size for _, original in todo), hash_done_bytes=0)
        done, batch, batch_bytes = 0, [], 0
        for section, original in todo:
            try:
                batch.append((section, original.asset_id, self._sha256(original.blob_key, original.size, original.crc32)))
            except BlobNotFound:
                continue  # deleted meanwhile: it will not be in the snapshot either
            done += original.size
            batch_bytes += original.size
            if batch_bytes >= DIGEST_BATCH_BYTES or len(batch) >= ENTRY_BATCH:
                self._store_batch(batch)
                self._progress(export.id, hash_done_bytes=done)
                batch, batch_bytes = [], 0
        self._store_batch(batch)
        self._progress(export.id, hash_done_bytes=done)

    def _store_batch(self, batch: list[tuple[Section, uuid.UUID, str]]) -> None:
        for section in {id(section): section for section, _, _ in batch}.values():
            self._store_digests(section, [(item, sha256) for owner, item, sha256 in batch if owner is section])

    def _late_sha256(self, section: Section) -> Callable[[uuid.UUID, str, int, int], str]:
        """For an original uploaded between the hashing pass and the snapshot."""
        def sha256_of(item_id: uuid.UUID, blob_key: str, size: int, crc32: int) -> str:
            sha256 = self._sha256(blob_key, size, crc32)
            self._store_digests(section, [(item_id, sha256)])
            return sha256

        return sha256_of

    def _progress(self, export_id: uuid.UUID, **values: int) -> None:
        with self.db.write() as session:
            session.execute(update(Export).where(Export.id == export_id).values(**values))

    def _freeze(self, export: Export) -> None:
        with self.db.write() as session:
            repository.delete_layout(session, export.id)  # a run cut short left some rows
        planner = PartPlanner(ZipFormat(export.zip64_from), export.part_size)
        mtime = unix_seconds(export.created_at)
        with self.blobs.writer() as writer:
            layout = Layout(self.db, export.id, planner, writer)
            with self.db.read() as session:  # one read transaction: one consistent view of the library
                for section in self.sections:
                    context = ExportContext(export.owner_id, export.base_url, self._late_sha256(section))
                    for file in section.files(session, context):
                        layout.add(file)
            layout.flush()
            title = f"phonecloud export of {export.created_at:%Y-%m-%d %H:%M} UTC"
            lines = [f"{layout.files} files of {len(layout.assets)} photos and videos, made {iso(export.created_at)}.",
                     "Unzip every part into the same folder: this page then links to every file. Each photo or "
                     "video has a .json file beside it (Google Takeout's format) with its dates, place, "
                     "favourite and album folders; manifest.json lists every file with its SHA-256."]
            layout.add_stream(INDEX_PATH, INDEX, mtime, index_page(title, lines, lambda: self._listing(export.id)))
            layout.flush()
            files = (manifest_format.ManifestFile(row.path, row.part, row.size, row.sha256)
                     for row in self._entries(export.id))
            manifest = layout.add_stream(manifest_format.PATH, MANIFEST, mtime,
                                         manifest_format.manifest_lines(str(export.id), iso(export.created_at), files))
            layout.flush()
            parts = planner.finish()
            writer.commit(generated_key(export))
        with self.db.write() as session:
            session.add_all(ExportPart(export_id=export.id, number=part.number, size=part.size, entries=part.entries,
                                       cd_offset=part.cd_offset, cd_size=part.cd_size) for part in parts)
            session.execute(update(Export).where(Export.id == export.id).values(
                state=READY, ready_at=utcnow(), asset_count=len(layout.assets), file_count=layout.files,
                total_bytes=sum(part.size for part in parts), manifest_sha256=manifest["sha256"]))
        log.info("export %s ready: %d files in %d parts", export.id, layout.files, len(parts))

    def _entries(self, export_id: uuid.UUID) -> Iterator[ExportEntry]:
        with self.db.read() as session:
            yield from session.scalars(repository.entries_in_order(export_id).execution_options(yield_per=ENTRY_BATCH))

    def _listing(self, export_id: uuid.UUID) -> Iterator[tuple[str, int, str]]:
        return ((row.path, row.size, row.kind) for row in self._entries(export_id))

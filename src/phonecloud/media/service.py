"""Media service: the `media.process` job (metadata, then the thumbnail), the `media.preview` job (the
preview, at a lower priority) and reading the derivatives back, a preview not made yet being made on its
first request and kept.

The thumbnail is all the grid needs, and a fraction of a full decode: making it alone first lets a library
be browsed soon after its upload. Previews are for the viewer, one photo at a time: their job runs when no
other job waits, and a photo opened before its job ran has its preview made there and then.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import ContextManager

from sqlalchemy import and_, select, update

from phonecloud.core.blobstore import BlobNotFound, BlobStore
from phonecloud.core.db import Database, dialect_insert, utcnow
from phonecloud.core.errors import Conflict, Gone, NotFound
from phonecloud.gallery.blobs import derived_key
from phonecloud.gallery.models import Asset
from phonecloud.gallery.search import index as search_index
from phonecloud.jobs.queue import LATER, JobQueue
from phonecloud.jobs.worker import PermanentJobError
from phonecloud.media.derivatives import PREVIEW, THUMBNAIL, Rendered, RenderError
from phonecloud.media.jobs import PREVIEW_JOB, job_subject
from phonecloud.media.metadata import Metadata
from phonecloud.media.models import DERIVATIVES, FAILED, READY, AssetMedia
from phonecloud.media.sandbox import RenderSandbox
from phonecloud.media.sniff import media_type_of

log = logging.getLogger("phonecloud.media")

# A still and a video of the same name within this many seconds are one iPhone Live Photo.
LIVE_PHOTO_MAX_SECONDS = 5.0
# Render processes for previews made on request, shared by the request threads: a viewer asks for one photo
# at a time, and one slow (or hostile) file then holds up only its own process.
REQUEST_RENDERERS = 2


def sort_time(meta: Metadata, fallback: dt.datetime) -> dt.datetime:
    """The instant the timeline sorts by: the capture time in UTC when its zone is known; a wall-clock
    time without a zone is placed as if it were UTC, which keeps one camera's photos in order."""
    if meta.taken_at is None:
        return fallback
    offset = dt.timedelta(minutes=meta.taken_at_offset_minutes or 0)
    return (meta.taken_at - offset).replace(tzinfo=dt.UTC)


def fallback_metadata(asset: Asset, problem: str) -> Metadata:
    """What is known without parsing the file: its modification time (as naive UTC, like extract())."""
    empty = {field.name: None for field in dataclasses.fields(Metadata)}
    return Metadata(**{**empty, "taken_at": asset.file_modified_at.astimezone(dt.UTC).replace(tzinfo=None),
                       "taken_at_offset_minutes": 0, "date_source": "file_mtime", "motion_photo": False,
                       "problems": (f"metadata not read: {problem}",)})


@functools.cache
def _media_upsert(dialect: str, names: tuple[str, ...]):
    """The media row's upsert of these columns, built once: building it took SQLAlchemy 4 ms of CPU per
    media job, more than the database takes to run it."""
    statement = dialect_insert(dialect, AssetMedia.__table__)
    return statement.on_conflict_do_update(index_elements=["asset_id"], set_={
        name: statement.excluded[name] for name in names if name != "asset_id"})


class MediaService:
    def __init__(self, db: Database, blobs: BlobStore, sandbox_factory: Callable[[], RenderSandbox],
                 request_renderers: int = REQUEST_RENDERERS):
        self.db = db
        self.blobs = blobs
        self._sandbox_factory = sandbox_factory
        self._sandboxes: list[RenderSandbox] = []
        self._local = threading.local()
        self._idle: queue.SimpleQueue = queue.SimpleQueue()  # the request threads' render processes
        for _ in range(request_renderers):
            self._idle.put(None)  # a sandbox made when first needed
        self._guard = threading.Lock()
        self._making: dict[uuid.UUID, list] = {}  # asset id -> [its preview's lock, threads holding or awaiting it]

    def _sandbox(self) -> RenderSandbox:
        sandbox = getattr(self._local, "sandbox", None)
        if sandbox is None:  # one long-lived render process per worker thread
            sandbox = self._local.sandbox = self._new_sandbox()
        return sandbox

    def _new_sandbox(self) -> RenderSandbox:
        sandbox = self._sandbox_factory()
        self._sandboxes.append(sandbox)
        return sandbox

    @contextmanager
    def _request_sandbox(self) -> Iterator[RenderSandbox]:
        sandbox = self._idle.get()
        try:
            sandbox = sandbox or self._new_sandbox()
            yield sandbox
        finally:
            self._idle.put(sandbox)  # its slot comes back whatever happened

    def close(self) -> None:
        for sandbox in self._sandboxes:
            sandbox.close()

    def process(self, subject: str) -> None:
        """The media job: metadata and the thumbnail, then the preview's job queued. Idempotent (same keys,
        upserted row), so a retry or a second run is harmless; a second run makes the preview again too."""
        asset = self._asset(subject)
        if asset is None:
            return  # deleted since: nothing left to do
        media_type = media_type_of(asset.mime_type)
        with self.blobs.local_file(asset.blob_key) as path:
            try:
                meta, rendered, error = self._sandbox().process(path, media_type, asset.original_filename,
                                                                asset.file_modified_at)
            except RenderError as failure:  # the child crashed or hung on this file: keep what is certain
                meta, rendered, error = fallback_metadata(asset, str(failure)), None, str(failure)
        key = self._store(asset, THUMBNAIL, rendered) if rendered else None
        self._record(asset, meta, key, error, rendered.damage if rendered else None)

    def make_preview(self, subject: str) -> None:
        """The preview job: the preview of an asset whose thumbnail is made, unless a view made it first."""
        asset = self._asset(subject)
        if asset is not None:
            self._preview(asset, lambda: nullcontext(self._sandbox()))

    def _asset(self, subject: str) -> Asset | None:
        try:
            asset_id = uuid.UUID(subject.removeprefix("asset:"))
        except ValueError:
            raise PermanentJobError(f"not an asset subject: {subject!r}") from None
        with self.db.read() as session:
            return session.get(Asset, asset_id)

    def _store(self, asset: Asset, name: str, rendered: Rendered) -> str:
        key = derived_key(asset.owner_id, asset.id, DERIVATIVES[name][0])
        self.blobs.put(key, [rendered.image])
        return key

    def _record(self, asset: Asset, meta: Metadata, thumbnail_key: str | None, error: str | None,
                damage: str | None) -> None:
        fields = {name: value for name, value in dataclasses.asdict(meta).items() if name != "problems"}
        fields.update(
            state=READY if thumbnail_key else FAILED, error=error, damage=damage,
            problems="\n".join(meta.problems) or None, thumbnail_key=thumbnail_key, preview_key=None,
            preview_error=None, updated_at=utcnow(),
        )
        with self.db.write() as session:
            pair = self._live_photo_pair(session, asset, meta.duration_seconds)
            if pair is not None:  # else whatever pairing the other half recorded stays
                fields["live_photo_pair_id"] = pair
            # An upsert: a second worker on the same asset (a lapsed lease, a re-run) updates, never collides.
            row = {"asset_id": asset.id, **fields}
            session.execute(_media_upsert(self.db.dialect, tuple(row)), row)
            session.execute(update(Asset).where(Asset.id == asset.id)
                            .values(sort_at=sort_time(meta, asset.file_modified_at)))
            search_index.refresh(session, asset.id)  # its place (reverse-geocoded), camera and name, for search
            if thumbnail_key:  # in the same transaction: a thumbnail is never recorded without its preview to come
                JobQueue.requeue_in(session, PREVIEW_JOB, job_subject(asset.id), owner_id=asset.owner_id,
                                    priority=LATER)

    def _preview(self, asset: Asset, renderer: Callable[[], ContextManager[RenderSandbox]]) -> AssetMedia | None:
        """The asset's media row with its preview made, or the reason it cannot be (made now, by a sandbox from
        renderer, if neither is recorded yet); as it is while there is no thumbnail. One render per asset at a
        time in this process: another request or the job waits for it, and then finds the preview made. Other
        processes may render the same preview meanwhile: the same bytes under the same key, recorded once."""
        with self._one_at_a_time(asset.id):
            with self.db.read() as session:
                media = session.get(AssetMedia, asset.id)
            if media is None or media.state != READY or media.preview_key or media.preview_error:
                return media
            try:
                with self.blobs.local_file(asset.blob_key) as path, renderer() as sandbox:
                    rendered = sandbox.render(path, media_type_of(asset.mime_type), PREVIEW)
            except RenderError as failure:
                return self._record_preview(asset.id, None, str(failure))
            return self._record_preview(asset.id, self._store(asset, PREVIEW, rendered), None)

    def _record_preview(self, asset_id: uuid.UUID, key: str | None, error: str | None) -> AssetMedia | None:
        condition = and_(AssetMedia.asset_id == asset_id, AssetMedia.state == READY)
        if key is None:
            condition = and_(condition, AssetMedia.preview_key.is_(None))  # a success elsewhere stands
        with self.db.write() as session:
            session.execute(update(AssetMedia).where(condition).values(preview_key=key, preview_error=error,
                                                                       updated_at=utcnow()))
            return session.get(AssetMedia, asset_id)

    @contextmanager
    def _one_at_a_time(self, asset_id: uuid.UUID) -> Iterator[None]:
        with self._guard:
            entry = self._making.setdefault(asset_id, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._guard:
                entry[1] -= 1
                if not entry[1]:
                    del self._making[asset_id]

    @staticmethod
    def _live_photo_pair(session, asset: Asset, duration_seconds: float | None) -> uuid.UUID | None:
        """The other half of a Live Photo (a still and a short video of the same name), if there is one; its
        media row, when it has one, is pointed back at this asset."""
        stem, dot, _ = asset.original_filename.rpartition(".")
        if not dot or not stem:
            return None
        other_kind = "video" if asset.kind == "photo" else "photo"
        pattern = stem.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ".%"
        candidates = session.execute(
            select(Asset.id, AssetMedia.duration_seconds, AssetMedia.asset_id)
            .outerjoin(AssetMedia, AssetMedia.asset_id == Asset.id)
            .where(and_(Asset.owner_id == asset.owner_id, Asset.kind == other_kind,
                        Asset.original_filename.like(pattern, escape="\\")))
        ).all()
        for other_id, other_duration, other_media in candidates:
            duration = duration_seconds if asset.kind == "video" else other_duration
            if duration is not None and duration > LIVE_PHOTO_MAX_SECONDS:
                continue
            if other_media is not None:
                session.execute(update(AssetMedia).where(AssetMedia.asset_id == other_id)
                                .values(live_photo_pair_id=asset.id))
            return other_id
        return None

    def derivative(self, asset: Asset, media: AssetMedia | None, name: str) -> tuple[str, str]:
        """(blob key, MIME type) of a derivative, a preview not made yet being made now (and kept); a clear
        error when there is none: Conflict while the media job has not read the asset, NotFound when it
        cannot be made, Gone when the original it would be made from is missing."""
        if name == PREVIEW and media is not None and media.state == READY and not (
                media.preview_key or media.preview_error):
            try:
                media = self._preview(asset, self._request_sandbox)
            except BlobNotFound:
                log.error("original of asset %s (%s) is missing from storage", asset.id, asset.blob_key)
                raise Gone(f"the original of asset {asset.id} is missing from the server's storage; "
                           "tell the server's administrator") from None
        state = media.state if media is not None else None
        key = getattr(media, f"{name}_key") if state == READY else None
        reason = (media.error or "it could not be rendered") if state == FAILED else (
            media.preview_error if state == READY else None)
        if key is None and reason is None:  # not read yet, or its media job run again meanwhile
            raise Conflict(f"the {name} of asset {asset.id} is still being made; try again shortly",
                           state="pending")
        if key is None:
            raise NotFound(f"asset {asset.id} has no {name}: {reason}", state="failed", reason=reason)
        return key, DERIVATIVES[name][1]

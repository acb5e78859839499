"""Media service: the `media.process` job — metadata, then thumbnail and preview — and reading them back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import uuid
from collections.abc import Callable

from sqlalchemy import and_, select, update

from phonecloud.core.blobstore import BlobStore
from phonecloud.core.db import Database, upsert, utcnow
from phonecloud.core.errors import Conflict, NotFound
from phonecloud.gallery.blobs import derived_key
from phonecloud.gallery.models import Asset
from phonecloud.gallery.search import index as search_index
from phonecloud.jobs.worker import PermanentJobError
from phonecloud.media.derivatives import Rendered, RenderError
from phonecloud.media.metadata import Metadata
from phonecloud.media.models import DERIVATIVES, FAILED, READY, AssetMedia
from phonecloud.media.sandbox import RenderSandbox
from phonecloud.media.sniff import media_type_of

# A still and a video of the same name within this many seconds are one iPhone Live Photo.
LIVE_PHOTO_MAX_SECONDS = 5.0


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


class MediaService:
    def __init__(self, db: Database, blobs: BlobStore, sandbox_factory: Callable[[], RenderSandbox]):
        self.db = db
        self.blobs = blobs
        self._sandbox_factory = sandbox_factory
        self._sandboxes: list[RenderSandbox] = []
        self._local = threading.local()

    def _sandbox(self) -> RenderSandbox:
        sandbox = getattr(self._local, "sandbox", None)
        if sandbox is None:  # one long-lived render process per worker thread
            sandbox = self._local.sandbox = self._sandbox_factory()
            self._sandboxes.append(sandbox)
        return sandbox

    def close(self) -> None:
        for sandbox in self._sandboxes:
            sandbox.close()

    def process(self, subject: str) -> None:
        """Run for one asset; idempotent (same keys, upserted row), so a retry or a second run is harmless."""
        try:
            asset_id = uuid.UUID(subject.removeprefix("asset:"))
        except ValueError:
            raise PermanentJobError(f"not an asset subject: {subject!r}") from None
        with self.db.read() as session:
            asset = session.get(Asset, asset_id)
        if asset is None:
            return  # deleted since: nothing left to do
        media_type = media_type_of(asset.mime_type)
        with self.blobs.local_file(asset.blob_key) as path:
            try:
                meta, rendered, error = self._sandbox().process(path, media_type, asset.original_filename,
                                                                asset.file_modified_at)
            except RenderError as failure:  # the child crashed or hung on this file: keep what is certain
                meta, rendered, error = fallback_metadata(asset, str(failure)), None, str(failure)
        keys = self._store(asset, rendered) if rendered else {}
        self._record(asset, meta, keys, error, rendered.damage if rendered else None)

    def _store(self, asset: Asset, rendered: Rendered) -> dict[str, str]:
        keys = {}
        for name, (file_name, _) in DERIVATIVES.items():
            keys[name] = derived_key(asset.owner_id, asset.id, file_name)
            self.blobs.put(keys[name], [getattr(rendered, name)])
        return keys

    def _record(self, asset: Asset, meta: Metadata, keys: dict[str, str], error: str | None,
                damage: str | None) -> None:
        fields = {name: value for name, value in dataclasses.asdict(meta).items() if name != "problems"}
        fields.update(
            state=READY if keys else FAILED, error=error, damage=damage, problems="\n".join(meta.problems) or None,
            thumbnail_key=keys.get("thumbnail"), preview_key=keys.get("preview"), updated_at=utcnow(),
        )
        with self.db.write() as session:
            pair = self._live_photo_pair(session, asset, meta.duration_seconds)
            if pair is not None:  # else whatever pairing the other half recorded stays
                fields["live_photo_pair_id"] = pair
            # An upsert: a second worker on the same asset (a lapsed lease, a re-run) updates, never collides.
            session.execute(upsert(self.db.dialect, AssetMedia.__table__, {"asset_id": asset.id, **fields}))
            session.execute(update(Asset).where(Asset.id == asset.id)
                            .values(sort_at=sort_time(meta, asset.file_modified_at)))
            search_index.refresh(session, asset.id)  # its place (reverse-geocoded), camera and name, for search

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
        """(blob key, MIME type) of a ready derivative; raises a clear error while there is none."""
        if media is None or media.state not in (READY, FAILED):
            raise Conflict(f"the {name} of asset {asset.id} is still being made; try again shortly",
                           state="pending")
        key = getattr(media, f"{name}_key")
        if media.state == FAILED or key is None:
            raise NotFound(f"asset {asset.id} has no {name}: {media.error or 'it could not be rendered'}",
                           state="failed", reason=media.error)
        return key, DERIVATIVES[name][1]

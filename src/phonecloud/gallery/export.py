"""The gallery's part of an export: photos and videos in Takeout's layout, with sidecars and albums; the
SHA-256 of each original, computed once by the first export that needs it; and the wait for the media
pipeline, whose capture dates the layout is made of."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phonecloud.core.db import utcnow
from phonecloud.gallery import repository as gallery
from phonecloud.gallery.models import Album, AlbumAsset, Asset
from phonecloud.jobs.models import QUEUED, RUNNING, Job
from phonecloud.media.jobs import MEDIA_JOB, job_subject
from phonecloud.media.models import AssetMedia
from phonecloud.media.sniff import sniff_extension
from phonecloud.portability import takeout
from phonecloud.portability.models import AssetDigest
from phonecloud.portability.index_page import ORIGINAL, SIDECAR
from phonecloud.portability.sections import ExportContext, ExportFile, Original
from phonecloud.portability.takeout import AlbumInfo, AssetInfo

ALBUM = "album"


def asset_info(asset: Asset, media: AssetMedia | None, sha256: str | None, base_url: str) -> AssetInfo:
    return AssetInfo(
        id=str(asset.id), original_filename=asset.original_filename, kind=asset.kind, mime_type=asset.mime_type,
        extension=sniff_extension(asset.mime_type), size=asset.size_bytes, sha1=asset.sha1, sha256=sha256,
        file_modified_at=asset.file_modified_at, uploaded_at=asset.uploaded_at, taken=asset.sort_at,
        taken_local=media.taken_at if media else None,
        taken_offset_minutes=media.taken_at_offset_minutes if media else None,
        date_source=media.date_source if media else None,
        latitude=media.latitude if media else None, longitude=media.longitude if media else None,
        altitude=media.altitude if media else None, favorite=asset.is_favorite,
        trashed=asset.trashed_at is not None, url=f"{base_url}/api/v1/assets/{asset.id}",
        description=asset.description, archived=asset.is_archived, people=tuple(json.loads(asset.people)),
        place=(asset.place_latitude, asset.place_longitude, asset.place_altitude)
        if asset.place_latitude is not None and asset.place_longitude is not None else None,
    )


def album_info(album: Album) -> AlbumInfo:
    return AlbumInfo(str(album.id), album.title, album.description, album.created_at)


def albums_of(session: Session, owner_id: int) -> tuple[list[AlbumInfo], dict[str, list[str]]]:
    """The owner's albums, and each album's members (asset ids), in the order they were added: the owner's
    own items only (what others added to an album shared with them stays in their own libraries)."""
    albums = [album_info(album) for album in session.scalars(gallery.owner_albums(owner_id))]
    members: dict[str, list[str]] = defaultdict(list)
    own = gallery.owner_album_members(owner_id).join(Asset, Asset.id == AlbumAsset.asset_id).where(
        Asset.owner_id == owner_id)
    for album_id, asset_id in session.execute(own):
        members[str(album_id)].append(str(asset_id))
    return albums, dict(members)


_BATCH = 500


def _owner_digests(owner_id: int):
    return select(AssetDigest.asset_id, AssetDigest.sha256).join(Asset, Asset.id == AssetDigest.asset_id).where(
        Asset.owner_id == owner_id)


class GallerySection:
    name = "gallery"

    def waiting(self, session: Session, owner_id: int) -> str | None:
        """Capture dates come from the media pipeline: an export frozen before it read them would date new
        uploads by their file times, so it waits while their media jobs are queued or running."""
        unread = list(session.scalars(select(Asset.id).outerjoin(AssetMedia, AssetMedia.asset_id == Asset.id)
                                      .where(Asset.owner_id == owner_id, AssetMedia.asset_id.is_(None))))
        waiting = sum(session.scalar(select(func.count()).select_from(Job).where(
            Job.kind == MEDIA_JOB, Job.status.in_([QUEUED, RUNNING]),
            Job.subject.in_([job_subject(asset_id) for asset_id in unread[start:start + _BATCH]]))) or 0
            for start in range(0, len(unread), _BATCH))
        return f"the media pipeline to read {waiting} new photos and videos" if waiting else None

    def unhashed(self, session: Session, owner_id: int) -> list[Original]:
        """The owner's originals whose SHA-256 is not recorded yet."""
        rows = session.execute(select(Asset.id, Asset.blob_key, Asset.size_bytes, Asset.crc32)
                               .outerjoin(AssetDigest, AssetDigest.asset_id == Asset.id)
                               .where(Asset.owner_id == owner_id, AssetDigest.asset_id.is_(None)).order_by(Asset.id))
        return [Original(blob_key, size, crc32, "", asset_id) for asset_id, blob_key, size, crc32 in rows]

    def record_sha256(self, session: Session, rows: Sequence[tuple[uuid.UUID, str]]) -> None:
        """Keep these digests, of the assets still there (one deleted meanwhile needs none)."""
        ids = [asset_id for asset_id, _ in rows]
        present = set(session.scalars(select(Asset.id).where(Asset.id.in_(ids))))
        known = set(session.scalars(select(AssetDigest.asset_id).where(AssetDigest.asset_id.in_(present))))
        session.add_all(AssetDigest(asset_id=asset_id, sha256=sha256, computed_at=utcnow())
                        for asset_id, sha256 in rows if asset_id in present - known)

    def digest_page(self, session: Session, owner_id: int, after: uuid.UUID | None,
                    limit: int) -> list[tuple[uuid.UUID, str]]:
        query = _owner_digests(owner_id)
        if after is not None:
            query = query.where(AssetDigest.asset_id > after)
        return [tuple(row) for row in session.execute(query.order_by(AssetDigest.asset_id).limit(limit))]

    def files(self, session: Session, context: ExportContext) -> Iterator[ExportFile]:
        digests = {str(asset_id): sha256 for asset_id, sha256 in session.execute(_owner_digests(context.owner_id))}
        assets: list[AssetInfo] = []
        sources: dict[str, Original] = {}
        rows = session.execute(gallery.owner_assets_with_media(context.owner_id).execution_options(yield_per=1000))
        for asset, media in rows:
            key = str(asset.id)
            sha256 = digests.get(key) or context.sha256_of(asset.id, asset.blob_key, asset.size_bytes, asset.crc32)
            assets.append(asset_info(asset, media, sha256, context.base_url))
            sources[key] = Original(asset.blob_key, asset.size_bytes, asset.crc32, sha256, asset.id)
        plan = takeout.plan(assets, *albums_of(session, context.owner_id))
        for folder in plan.folders:
            base = f"{takeout.ROOT}/{folder.name}"
            if folder.album:
                yield ExportFile(f"{base}/{takeout.ALBUM_METADATA}", ALBUM,
                                 takeout.unix_seconds(folder.album.created_at),
                                 content=takeout.album_metadata(folder.album))
            for name, asset in folder.files:
                mtime = takeout.unix_seconds(asset.taken)
                yield ExportFile(f"{base}/{name}", ORIGINAL, mtime, original=sources[asset.id])
                yield ExportFile(f"{base}/{name}{takeout.SIDECAR_SUFFIX}", SIDECAR, mtime,
                                 content=takeout.sidecar(asset, plan.album_folders_of.get(asset.id, [])))

"""The gallery's part of an export: photos and videos in Takeout's layout, with sidecars and albums."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy.orm import Session

from phonecloud.gallery import repository as gallery
from phonecloud.gallery.models import Album, Asset
from phonecloud.media.models import AssetMedia
from phonecloud.media.sniff import sniff_extension
from phonecloud.portability import repository, takeout
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
    )


def album_info(album: Album) -> AlbumInfo:
    return AlbumInfo(str(album.id), album.title, album.description, album.created_at)


class GallerySection:
    name = "gallery"

    def files(self, session: Session, context: ExportContext) -> Iterator[ExportFile]:
        digests = {str(asset_id): sha256 for asset_id, sha256 in session.execute(
            repository.owner_digests(context.owner_id))}
        assets: list[AssetInfo] = []
        sources: dict[str, Original] = {}
        rows = session.execute(gallery.owner_assets_with_media(context.owner_id).execution_options(yield_per=1000))
        for asset, media in rows:
            key = str(asset.id)
            sha256 = digests.get(key) or context.sha256_of(asset.id, asset.blob_key, asset.size_bytes, asset.crc32)
            assets.append(asset_info(asset, media, sha256, context.base_url))
            sources[key] = Original(asset.blob_key, asset.size_bytes, asset.crc32, sha256, asset.id)
        albums = [album_info(album) for album in session.scalars(gallery.owner_albums(context.owner_id))]
        members: dict[str, list[str]] = defaultdict(list)
        for album_id, asset_id in session.execute(gallery.owner_album_members(context.owner_id)):
            members[str(album_id)].append(str(asset_id))
        plan = takeout.plan(assets, albums, members)
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

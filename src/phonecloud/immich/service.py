"""Immich's view of a phonecloud gallery: its checks, albums, statistics and user, in Immich's JSON shapes,
over the gallery's own services (every call scoped to the caller, as the gallery's are). Plain Python."""

from __future__ import annotations

import base64
import binascii
import uuid
from itertools import islice

from phonecloud.accounts.service import Principal
from phonecloud.core.errors import BadRequest
from phonecloud.core.names import MEDIA_EXTENSIONS
from phonecloud.gallery import repository
from phonecloud.gallery.albums import MAX_ALBUM_CHANGE
from phonecloud.gallery.context import Gallery
from phonecloud.gallery.models import Album, Asset

VIDEO_EXTENSIONS = frozenset({"mp4", "m4v", "mov", "qt", "3gp", "3g2", "mkv", "webm", "avi", "mts", "m2ts"})
# Immich names its users by UUID; a phonecloud account's is derived from its number, the same every time.
_USERS = uuid.UUID("6f1d3c52-8e0f-4a51-9a53-3f1f6a2b7c10")


def media_types() -> dict[str, list[str]]:
    """The file name extensions that Immich's clients offer: what the gallery takes."""
    return {"image": sorted(f".{ext}" for ext in MEDIA_EXTENSIONS - VIDEO_EXTENSIONS),
            "video": sorted(f".{ext}" for ext in VIDEO_EXTENSIONS), "sidecar": [".xmp"]}


def sha1_hex(checksum: str, where: str) -> str:
    """A SHA-1 as Immich's clients send it (40 hexadecimal digits, or base64 of the 20 bytes), in hex."""
    text = checksum.strip()
    if len(text) == 40:
        try:
            return bytes.fromhex(text).hex()
        except ValueError:
            pass
    try:
        digest = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 20:
        raise BadRequest(f"{where}: a checksum is a SHA-1 in hex (40 digits) or base64 (28 characters), not "
                         f"{text[:60]!r}", field=where)
    return digest.hex()


def user_of(principal: Principal) -> dict:
    return {"id": str(uuid.uuid5(_USERS, str(principal.user_id))), "email": principal.email,
            "name": principal.email.split("@", 1)[0], "isAdmin": principal.is_admin, "avatarColor": "primary",
            "profileImagePath": "", "shouldChangePassword": False, "storageLabel": None}


def album_of(album: Album, count: int, principal: Principal) -> dict:
    return {"id": str(album.id), "albumName": album.title, "description": album.description, "assetCount": count,
            "createdAt": album.created_at.isoformat(), "updatedAt": album.updated_at.isoformat(),
            "ownerId": user_of(principal)["id"], "owner": user_of(principal), "shared": False, "albumUsers": [],
            "hasSharedLink": False, "isActivityEnabled": False, "albumThumbnailAssetId": None, "assets": []}


def checksum_of(sha1: str) -> str:
    """A SHA-1 as Immich sends it back: base64 of its 20 bytes."""
    return base64.b64encode(bytes.fromhex(sha1)).decode()


def asset_of(asset: Asset, principal: Principal) -> dict:
    """An asset as Immich describes one (the fields its clients read)."""
    place = (asset.place_latitude, asset.place_longitude) if asset.place_latitude is not None else (None, None)
    return {"id": str(asset.id), "ownerId": user_of(principal)["id"], "deviceId": "", "deviceAssetId": "",
            "type": "VIDEO" if asset.kind == "video" else "IMAGE", "originalFileName": asset.original_filename,
            "originalMimeType": asset.mime_type, "checksum": checksum_of(asset.sha1),
            "fileCreatedAt": asset.sort_at.isoformat(), "fileModifiedAt": asset.file_modified_at.isoformat(),
            "localDateTime": asset.sort_at.isoformat(), "updatedAt": asset.uploaded_at.isoformat(),
            "isFavorite": asset.is_favorite, "isArchived": asset.is_archived, "isTrashed": asset.trashed_at is not None,
            "visibility": "archive" if asset.is_archived else "timeline", "isOffline": False, "hasMetadata": True,
            "exifInfo": {"description": asset.description, "fileSizeInByte": asset.size_bytes,
                         "latitude": place[0], "longitude": place[1]}, "people": [], "tags": []}


class ImmichView:
    def __init__(self, gallery: Gallery):
        self.gallery = gallery

    def check(self, principal: Principal, assets: list[tuple[str, str]]) -> list[dict]:
        """For each (client id, checksum): accept (new to the caller), or reject as a duplicate of an asset."""
        items = [(client_id, sha1_hex(checksum, f"assets[{n}].checksum"))
                 for n, (client_id, checksum) in enumerate(assets)]
        results = []
        for found in self.gallery.intake.precheck(principal, items):
            if found["exists"]:
                results.append({"id": found["id"], "action": "reject", "reason": "duplicate",
                                "assetId": str(found["asset_id"]), "isTrashed": found["trashed"]})
            else:
                results.append({"id": found["id"], "action": "accept"})
        return results

    def asset(self, principal: Principal, asset_id: uuid.UUID) -> dict:
        return asset_of(self.gallery.library.get_asset(principal, asset_id), principal)

    def update_asset(self, principal: Principal, asset_id: uuid.UUID, description: str | None,
                     favorite: bool | None, archived: bool | None, position: tuple[float, float] | None) -> dict:
        """Immich's asset update: what is given of the description, favourite, archive and position."""
        library = self.gallery.library
        if favorite is not None:
            library.set_favorite(principal, asset_id, favorite)
        place = (*position, None) if position else None
        return asset_of(library.describe(principal, asset_id, description, archived, None, place), principal)

    def trash(self, principal: Principal, asset_ids: list[uuid.UUID]) -> None:
        """Immich's delete without force: to the trash (checked for the caller first: all or none)."""
        for asset_id in asset_ids:
            self.gallery.library.get_asset(principal, asset_id)
        for asset_id in asset_ids:
            self.gallery.library.set_trashed(principal, asset_id, True)

    def statistics(self, principal: Principal) -> dict[str, int]:
        with self.gallery.library.db.read() as session:
            counts = repository.counts_by_kind(session, principal.user_id)
        images, videos = counts.get("photo", 0), counts.get("video", 0)
        return {"images": images, "videos": videos, "total": images + videos}

    def albums(self, principal: Principal) -> list[dict]:
        return [album_of(album, count, principal) for album, count in self.gallery.albums.list_albums(principal)]

    def create_album(self, principal: Principal, name: str, description: str, asset_ids: list[uuid.UUID]) -> dict:
        album = self.gallery.albums.create_album(principal, name, description)
        if asset_ids:
            self.add_to_album(principal, album.id, asset_ids)
        return album_of(*self.gallery.albums.get_album(principal, album.id), principal)

    def add_to_album(self, principal: Principal, album_id: uuid.UUID, asset_ids: list[uuid.UUID]) -> list[dict]:
        """Immich's answer per asset: success, or the error (duplicate: in the album already; not_found)."""
        results, ids = [], iter(asset_ids)
        while batch := list(islice(ids, MAX_ALBUM_CHANGE)):
            for change in self.gallery.albums.change_album_assets(principal, album_id, batch, add=True):
                done = change["result"] == "added"
                results.append({"id": str(change["asset_id"]), "success": done,
                                **({} if done else {"error": "duplicate" if change["result"] == "already"
                                                             else "not_found"})})
        return results

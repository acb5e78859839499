"""Albums: a user's named selections of their photos and videos, in capture order."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from phonecloud.accounts.service import Principal
from phonecloud.core.dates import bounded
from phonecloud.core.db import Database, utcnow
from phonecloud.core.errors import BadRequest, Forbidden, NotFound
from phonecloud.gallery import repository
from phonecloud.gallery.models import Album, AlbumAsset
from phonecloud.gallery.sharing import repository as shared
from phonecloud.gallery.sharing.models import VIEWER

MAX_ALBUM_CHANGE = 10_000
MAX_TITLE_CHARS = 500


def owned_album(session, principal: Principal, album_id: uuid.UUID, lock: bool = False) -> Album:
    album = repository.owned_album(session, principal.user_id, album_id, lock)
    if album is None:
        raise NotFound(f"no album {album_id}")
    return album


def readable_album(session, principal: Principal, album_id: uuid.UUID, lock: bool = False) -> tuple[Album, str]:
    """(album, the caller's role: owner, viewer or contributor) of an album the caller owns or that is shared
    with them (gallery/sharing); NotFound for any other."""
    found = shared.album_role(session, principal.user_id, album_id, lock)
    if found is None:
        raise NotFound(f"no album {album_id}")
    return found


class AlbumService:
    def __init__(self, db: Database):
        self.db = db

    @staticmethod
    def _clean_title(title: str) -> str:
        title = title.strip()
        if not title or len(title) > MAX_TITLE_CHARS or "\x00" in title:
            raise BadRequest(f"album title must be 1 to {MAX_TITLE_CHARS} characters, without NUL")
        return title

    def create_album(self, principal: Principal, title: str, description: str = "",
                     created_at: dt.datetime | None = None) -> Album:
        if created_at is not None:
            created_at = bounded(created_at, "created_at")
            if created_at > utcnow():
                raise BadRequest("created_at is in the future: an album can only have been made already")
        album = Album(owner_id=principal.user_id, title=self._clean_title(title), description=description,
                      created_at=created_at or utcnow())
        with self.db.write() as session:
            session.add(album)
        return album

    def list_albums(self, principal: Principal) -> list[tuple[Album, int]]:
        with self.db.read() as session:
            albums = list(session.scalars(
                select(Album).where(Album.owner_id == principal.user_id).order_by(Album.created_at, Album.id)
            ))
            counts = repository.album_counts(session, [album.id for album in albums]) if albums else {}
        return [(album, counts.get(album.id, 0)) for album in albums]

    def get_album(self, principal: Principal, album_id: uuid.UUID) -> tuple[Album, int]:
        """One of the caller's albums, or one shared with them, with its count."""
        with self.db.read() as session:
            album, _ = readable_album(session, principal, album_id)
            return album, repository.album_counts(session, [album.id]).get(album.id, 0)

    def role(self, principal: Principal, album_id: uuid.UUID) -> str:
        """The caller's role in an album: owner, viewer or contributor (NotFound: none of theirs)."""
        with self.db.read() as session:
            return readable_album(session, principal, album_id)[1]

    def albums_to_add_to(self, principal: Principal) -> list[tuple[Album, int]]:
        """The caller's albums, then those shared with them as a contributor: where they may add items."""
        with self.db.read() as session:
            shared_albums = [album for album, role, _ in shared.shared_with(session, principal.user_id)
                             if role != VIEWER]
        return self.list_albums(principal) + [(album, 0) for album in shared_albums]

    def update_album(self, principal: Principal, album_id: uuid.UUID, title: str | None,
                     description: str | None) -> Album:
        with self.db.write() as session:
            album = owned_album(session, principal, album_id)
            if title is not None:
                album.title = self._clean_title(title)
            if description is not None:
                album.description = description
            album.updated_at = utcnow()
        return album

    def delete_album(self, principal: Principal, album_id: uuid.UUID) -> None:
        """Removes the album only; its photos stay in the library."""
        with self.db.write() as session:
            session.delete(owned_album(session, principal, album_id))

    def change_album_assets(self, principal: Principal, album_id: uuid.UUID, asset_ids: list[uuid.UUID],
                            add: bool) -> list[dict]:
        """Add or remove assets; answers per asset: added/removed, already/not_member, or not_found. The owner
        adds their own items and removes any; a contributor (gallery/sharing) adds and removes their own only;
        a viewer neither (Forbidden)."""
        if len(asset_ids) > MAX_ALBUM_CHANGE:
            raise BadRequest(f"at most {MAX_ALBUM_CHANGE} assets per request")
        asset_ids = list(dict.fromkeys(asset_ids))
        with self.db.write() as session:
            # Changes to one album take turns, so that two at once (two API processes on PostgreSQL) both see
            # the other's members: adding the same asset twice answers "already", never a duplicate-key error.
            album, role = readable_album(session, principal, album_id, lock=True)
            if role == VIEWER:
                raise Forbidden("this album is shared with you to view: only its owner and contributors change it")
            owned = repository.owned_asset_ids(session, principal.user_id, asset_ids)
            members = repository.album_member_ids(session, album.id, asset_ids)
            allowed = owned | members if not add and role == shared.OWNER else owned  # the owner takes out anybody's
            results = []
            for asset_id in asset_ids:
                if asset_id not in allowed:
                    outcome = "not_found"
                elif add:
                    outcome = "already" if asset_id in members else "added"
                    if outcome == "added":
                        session.add(AlbumAsset(album_id=album.id, asset_id=asset_id))
                else:
                    outcome = "removed" if asset_id in members else "not_member"
                    if outcome == "removed":
                        session.execute(AlbumAsset.__table__.delete().where(
                            AlbumAsset.album_id == album.id, AlbumAsset.asset_id == asset_id))
                results.append({"asset_id": asset_id, "result": outcome})
            album.updated_at = utcnow()
        return results

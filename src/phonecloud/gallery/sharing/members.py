"""Albums shared with other users of the same server: a viewer sees the album and opens its items; a
contributor may also add their own photos and videos to it and take those out again. Neither may rename or
delete the album, nor change or remove the owner's items (the album's owner may remove anything from it).

Only the owner names members (by email) and removes them; a member may leave. A member who leaves or is
removed takes their own items out of the album with them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select

from phonecloud.accounts.models import User
from phonecloud.accounts.service import Principal, normalise_email
from phonecloud.core.db import Database, utcnow
from phonecloud.core.errors import BadRequest, NotFound
from phonecloud.gallery import repository as gallery
from phonecloud.gallery.albums import owned_album
from phonecloud.gallery.models import Album
from phonecloud.gallery.sharing import repository
from phonecloud.gallery.sharing.models import ROLES, AlbumMember

MAX_MEMBERS = 100


@dataclass(frozen=True)
class Member:
    email: str
    name: str
    role: str
    added_at: object


@dataclass(frozen=True)
class SharedAlbum:
    """An album another user shares with the caller."""

    album: Album
    count: int
    role: str
    owner_name: str  # the owner's name, else their email (they chose to share with this user)


def _member(member: AlbumMember, user: User) -> Member:
    return Member(user.email, user.display_name, member.role, member.added_at)


class AlbumMembers:
    def __init__(self, db: Database):
        self.db = db

    def members(self, principal: Principal, album_id: uuid.UUID) -> list[Member]:
        """The album's members (the owner's to see)."""
        with self.db.read() as session:
            owned_album(session, principal, album_id)
            return [_member(*row) for row in repository.members(session, album_id)]

    def share(self, principal: Principal, album_id: uuid.UUID, email: str, role: str) -> tuple[Member, bool]:
        """Share the album with the user of this email as viewer or contributor (a member's role changes):
        (the member, whether they are new)."""
        with self.db.write() as session:
            owned_album(session, principal, album_id, lock=True)  # first: another's album is a 404, whatever is asked
            if role not in ROLES:
                raise BadRequest(f"role must be one of {', '.join(ROLES)}")
            email = normalise_email(email)
            user = session.scalar(select(User).where(User.email == email))
            if user is None or user.disabled:
                raise BadRequest(f"there is no user with email {email} on this server")
            if user.id == principal.user_id:
                raise BadRequest("this is your own album: share it with someone else")
            member = session.get(AlbumMember, (album_id, user.id))
            created = member is None
            if created:
                if len(repository.members(session, album_id)) >= MAX_MEMBERS:
                    raise BadRequest(f"an album is shared with at most {MAX_MEMBERS} people")
                member = AlbumMember(album_id=album_id, user_id=user.id, role=role, added_at=utcnow())
                session.add(member)
            member.role = role
            return _member(member, user), created

    def unshare(self, principal: Principal, album_id: uuid.UUID, email: str) -> None:
        """The owner stops sharing the album with this member; their items leave it."""
        with self.db.write() as session:
            owned_album(session, principal, album_id, lock=True)
            email = normalise_email(email)
            user_id = session.scalar(select(AlbumMember.user_id).join(User, User.id == AlbumMember.user_id).where(
                AlbumMember.album_id == album_id, User.email == email))
            if user_id is None:
                raise BadRequest(f"the album is not shared with {email}")
            self._forget(session, album_id, user_id)

    def leave(self, principal: Principal, album_id: uuid.UUID) -> None:
        """A member leaves an album shared with them; their items leave it."""
        with self.db.write() as session:
            found = repository.album_role(session, principal.user_id, album_id, lock=True)
            if found is None or found[1] == repository.OWNER:
                raise NotFound(f"no album {album_id} shared with you")
            self._forget(session, album_id, principal.user_id)

    @staticmethod
    def _forget(session, album_id: uuid.UUID, user_id: int) -> None:
        repository.forget_contributions(session, album_id, user_id)
        session.execute(delete(AlbumMember).where(AlbumMember.album_id == album_id, AlbumMember.user_id == user_id))
        session.execute(Album.__table__.update().where(Album.id == album_id).values(updated_at=utcnow()))

    def owner_name(self, album: Album) -> str:
        """Who shares an album: their name, else their email (what its members see of them)."""
        with self.db.read() as session:
            owner = session.get(User, album.owner_id)
        return owner.display_name or owner.email

    def shared_by(self, principal: Principal) -> list[tuple[Album, int]]:
        """The caller's albums that are shared with other users, with how many."""
        with self.db.read() as session:
            albums = list(session.scalars(select(Album).where(Album.owner_id == principal.user_id)
                                          .order_by(Album.created_at, Album.id)))
            counts = repository.member_counts(session, [album.id for album in albums])
        return [(album, counts[album.id]) for album in albums if counts.get(album.id)]

    def shared_with(self, principal: Principal) -> list[SharedAlbum]:
        with self.db.read() as session:
            rows = repository.shared_with(session, principal.user_id)
            counts = gallery.album_counts(session, [album.id for album, _, _ in rows]) if rows else {}
        return [SharedAlbum(album, counts.get(album.id, 0), role, owner.display_name or owner.email)
                for album, role, owner in rows]

"""Queries of sharing: what a link shows, and what an album's owner and members may read of it.

What a link or an album shows is always filtered here, never trusted from a request: an asset outside the
trash, and of the link's owner (a link) or of the album's owner or a member (an album shared with users)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, or_, select, tuple_
from sqlalchemy.orm import Session

from phonecloud.accounts.models import User
from phonecloud.gallery.models import Album, AlbumAsset, Asset
from phonecloud.gallery.sharing.models import AlbumMember, Share, ShareAsset

OWNER = "owner"


# -- albums shared with users -----------------------------------------------------------------------------


def album_role(session: Session, user_id: int, album_id: uuid.UUID, lock: bool = False) -> tuple[Album, str] | None:
    """The album and the user's role in it: owner, viewer or contributor; None when it is none of theirs.
    lock: the album's row is held until the transaction ends (changes of one album take turns)."""
    query = select(Album).where(Album.id == album_id)
    album = session.scalar(query.with_for_update() if lock else query)
    if album is None:
        return None
    if album.owner_id == user_id:
        return album, OWNER
    role = session.scalar(select(AlbumMember.role).where(AlbumMember.album_id == album_id,
                                                         AlbumMember.user_id == user_id))
    return (album, role) if role is not None else None


def _shown_in_album(album_id) -> ColumnElement[bool]:
    """An asset the album shows: outside the trash, and its owner's or a member's (a member's contributions)."""
    owner = select(Album.owner_id).where(Album.id == album_id).scalar_subquery()
    return and_(Asset.trashed_at.is_(None),
                or_(Asset.owner_id == owner,
                    exists().where(AlbumMember.album_id == album_id, AlbumMember.user_id == Asset.owner_id)))


def _album_listing(album_id: uuid.UUID) -> tuple[Select, ColumnElement]:
    """What the album shows to its owner and members, with its order key (read from the album's own index)."""
    query = (select(Asset).join(AlbumAsset, AlbumAsset.asset_id == Asset.id)
             .where(AlbumAsset.album_id == album_id, _shown_in_album(album_id)))
    return query, tuple_(AlbumAsset.sort_at, AlbumAsset.asset_id)


def album_page(album_id: uuid.UUID, after: tuple[dt.datetime, uuid.UUID] | None, limit: int) -> Select:
    """Newest first, keyset-paginated as the timeline is."""
    query, key = _album_listing(album_id)
    if after is not None:
        query = query.where(key < tuple_(*after))
    return query.order_by(*(column.desc() for column in key.clauses)).limit(limit)


def album_newer(album_id: uuid.UUID, before: tuple[dt.datetime, uuid.UUID], limit: int) -> Select:
    query, key = _album_listing(album_id)
    return query.where(key > tuple_(*before)).order_by(*(column.asc() for column in key.clauses)).limit(limit)


def album_shared_asset(session: Session, user_id: int, asset_id: uuid.UUID) -> Asset | None:
    """The asset, when an album that the user owns or is a member of shows it (outside the trash, its owner
    the album's owner or a member): what a member may read of another user's assets, and nothing else."""
    readable_album = or_(
        exists().where(Album.id == AlbumAsset.album_id, Album.owner_id == user_id),
        exists().where(AlbumMember.album_id == AlbumAsset.album_id, AlbumMember.user_id == user_id))
    query = (select(Asset).join(AlbumAsset, AlbumAsset.asset_id == Asset.id)
             .where(Asset.id == asset_id, readable_album, _shown_in_album(AlbumAsset.album_id)).limit(1))
    return session.scalar(query)


def members(session: Session, album_id: uuid.UUID) -> list[tuple[AlbumMember, User]]:
    return list(session.execute(select(AlbumMember, User).join(User, User.id == AlbumMember.user_id)
                                .where(AlbumMember.album_id == album_id).order_by(AlbumMember.added_at, User.id)).all())


def member_counts(session: Session, album_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not album_ids:
        return {}
    return dict(session.execute(select(AlbumMember.album_id, func.count()).where(
        AlbumMember.album_id.in_(album_ids)).group_by(AlbumMember.album_id)).all())


def shared_with(session: Session, user_id: int) -> list[tuple[Album, str, User]]:
    """The albums shared with the user: (album, their role, its owner), oldest share first."""
    return list(session.execute(
        select(Album, AlbumMember.role, User).join(AlbumMember, AlbumMember.album_id == Album.id)
        .join(User, User.id == Album.owner_id).where(AlbumMember.user_id == user_id)
        .order_by(AlbumMember.added_at, Album.id)).all())


def forget_contributions(session: Session, album_id: uuid.UUID, user_id: int) -> int:
    """Take a (former) member's own items out of the album: they were theirs to show while a member."""
    theirs = select(Asset.id).where(Asset.owner_id == user_id)
    return session.execute(delete(AlbumAsset).where(AlbumAsset.album_id == album_id, AlbumAsset.asset_id.in_(theirs))
                           .execution_options(synchronize_session=False)).rowcount


# -- links ------------------------------------------------------------------------------------------------


def share_by_digest(session: Session, digest: str) -> tuple[Share, User] | None:
    row = session.execute(select(Share, User).join(User, User.id == Share.owner_id)
                          .where(Share.token_hash == digest)).first()
    return tuple(row) if row is not None else None


def _share_listing(share: Share) -> tuple[Select, ColumnElement]:
    """What a link shows, with its order key: its album's (live) or its selection's assets, of the link's
    owner only and outside the trash."""
    if share.album_id is not None:
        query = (select(Asset).join(AlbumAsset, AlbumAsset.asset_id == Asset.id)
                 .where(AlbumAsset.album_id == share.album_id))
        key = tuple_(AlbumAsset.sort_at, AlbumAsset.asset_id)
    else:
        query = select(Asset).join(ShareAsset, ShareAsset.asset_id == Asset.id).where(ShareAsset.share_id == share.id)
        key = tuple_(Asset.sort_at, Asset.id)
    return query.where(Asset.owner_id == share.owner_id, Asset.trashed_at.is_(None)), key


def share_page(share: Share, after: tuple[dt.datetime, uuid.UUID] | None, limit: int) -> Select:
    query, key = _share_listing(share)
    if after is not None:
        query = query.where(key < tuple_(*after))
    return query.order_by(*(column.desc() for column in key.clauses)).limit(limit)


def share_newer(share: Share, before: tuple[dt.datetime, uuid.UUID], limit: int) -> Select:
    query, key = _share_listing(share)
    return query.where(key > tuple_(*before)).order_by(*(column.asc() for column in key.clauses)).limit(limit)


def share_asset(session: Session, share: Share, asset_id: uuid.UUID) -> Asset | None:
    return session.scalar(_share_listing(share)[0].where(Asset.id == asset_id))


def share_count(session: Session, share: Share) -> int:
    return session.scalar(select(func.count()).select_from(_share_listing(share)[0].subquery())) or 0


def share_assets_oldest_first(share: Share) -> Select:
    """Every asset a link shows, oldest first (a download's order), with what an archive entry needs."""
    query, key = _share_listing(share)
    return query.order_by(*(column.asc() for column in key.clauses))


def owner_shares(session: Session, owner_id: int) -> list[Share]:
    return list(session.scalars(select(Share).where(Share.owner_id == owner_id)
                                .order_by(Share.created_at.desc(), Share.id)))


def rows_of_user(session: Session, user_id: int) -> int:
    """The user's links (with their assets), the members of their albums, and their own memberships."""
    shares = select(Share.id).where(Share.owner_id == user_id)
    counts = [select(func.count()).select_from(Share).where(Share.owner_id == user_id),
              select(func.count()).select_from(ShareAsset).where(ShareAsset.share_id.in_(shares)),
              select(func.count()).select_from(AlbumMember).where(or_(
                  AlbumMember.user_id == user_id,
                  AlbumMember.album_id.in_(select(Album.id).where(Album.owner_id == user_id))))]
    return sum(session.scalar(count) or 0 for count in counts)


def delete_of_user(session: Session, user_id: int) -> int:
    """Delete what rows_of_user counts; the number of rows."""
    shares = select(Share.id).where(Share.owner_id == user_id)
    rows = session.execute(delete(ShareAsset).where(ShareAsset.share_id.in_(shares))
                           .execution_options(synchronize_session=False)).rowcount
    rows += session.execute(delete(Share).where(Share.owner_id == user_id)
                            .execution_options(synchronize_session=False)).rowcount
    for album_id, member in session.execute(select(AlbumMember.album_id, AlbumMember.user_id).where(
            AlbumMember.user_id == user_id)).all():
        rows += forget_contributions(session, album_id, member)  # their items leave the albums of others
    rows += session.execute(delete(AlbumMember).where(or_(
        AlbumMember.user_id == user_id, AlbumMember.album_id.in_(select(Album.id).where(Album.owner_id == user_id))))
        .execution_options(synchronize_session=False)).rowcount
    return rows

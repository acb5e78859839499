"""The tables of sharing: links (an album, live, or a fixed selection of assets) and album members."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from phonecloud.core.db import Base, UTCDateTime, utcnow

VIEWER, CONTRIBUTOR = "viewer", "contributor"
ROLES = (VIEWER, CONTRIBUTOR)


class Share(Base):
    """A link: anyone holding its token may view what it shares, until it expires or is revoked (deleted).
    An album link is live (what is added later appears); a selection link shows the assets it was made with."""

    __tablename__ = "shares"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    album_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("albums.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(Text, default="")  # a selection's title (an album link shows the album's)
    # Only a SHA-256 of the token is kept, as for API keys: the link is shown once, when it is made.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(8))  # its first characters, for people to tell links apart
    password_hash: Mapped[str | None] = mapped_column(String(255))  # Argon2id, as account passwords
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_shares_owner", "owner_id", "created_at"),)


class ShareAsset(Base):
    """One asset of a selection link."""

    __tablename__ = "share_assets"

    share_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shares.id", ondelete="CASCADE"), primary_key=True)
    asset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True,
                                                index=True)


class AlbumMember(Base):
    """Another user of the server an album is shared with: a viewer sees it, a contributor may also add their
    own photos and videos to it (and take those out again). Neither may change or delete the owner's."""

    __tablename__ = "album_members"

    album_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("albums.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))  # viewer | contributor
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

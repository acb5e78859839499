"""The JSON shapes of sharing: links, album members, and albums shared with the caller."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from phonecloud.core.http import Moment
from phonecloud.gallery.albums import MAX_ALBUM_CHANGE
from phonecloud.gallery.sharing.members import Member, SharedAlbum
from phonecloud.gallery.sharing.service import MAX_PASSWORD_CHARS, MAX_TITLE_CHARS, LinkInfo


class ShareIn(BaseModel):
    """Exactly one of album_id and asset_ids."""

    max_body_bytes: ClassVar[int] = 1 << 20  # 10,000 UUIDs of 40 bytes each, pretty-printed or not
    album_id: uuid.UUID | None = Field(default=None, description="A link to this album of the caller's: live, "
                                       "what is added to it later shows too")
    asset_ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=MAX_ALBUM_CHANGE, fail_fast=True,
                                              description="A link to these items of the caller's, as they are")
    title: str = Field(default="", max_length=MAX_TITLE_CHARS, description="A selection's title (an album link "
                       "shows the album's)")
    password: str | None = Field(default=None, min_length=1, max_length=MAX_PASSWORD_CHARS,
                                 description="Asked of whoever opens the link")
    expires_at: Moment | None = Field(default=None, description="When the link stops working (later than now)")


class ShareOut(BaseModel):
    id: uuid.UUID
    album_id: uuid.UUID | None
    title: str = Field(description="The album's title, or the selection's")
    items: int = Field(description="What the link shows now: its items of the caller's, outside the trash")
    has_password: bool
    expires_at: dt.datetime | None
    expired: bool
    created_at: dt.datetime
    token_prefix: str = Field(description="The first characters of the link's token, to tell links apart (the "
                                          "whole link is only given when it is made)")

    @classmethod
    def of(cls, info: LinkInfo) -> ShareOut:
        share = info.share
        return cls(id=share.id, album_id=share.album_id, title=info.title, items=info.items,
                   has_password=share.password_hash is not None, expires_at=share.expires_at, expired=info.expired,
                   created_at=share.created_at, token_prefix=share.token_prefix)


class ShareCreated(ShareOut):
    url: str = Field(description="The link, given this once: only a digest of its token is kept")


class MemberIn(BaseModel):
    email: str = Field(min_length=3, max_length=320, description="A user of this server")
    role: Literal["viewer", "contributor"] = Field(description="viewer: sees the album; contributor: may also "
                                                   "add their own items to it")


class MemberRef(BaseModel):
    email: str = Field(min_length=3, max_length=320)


class MemberOut(BaseModel):
    email: str
    name: str
    role: str
    added_at: dt.datetime

    @classmethod
    def of(cls, member: Member) -> MemberOut:
        return cls(email=member.email, name=member.name, role=member.role, added_at=member.added_at)


class SharedAlbumOut(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    asset_count: int
    role: str = Field(description="viewer or contributor")
    owner: str = Field(description="Who shares it: their name, else their email")
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, shared: SharedAlbum) -> SharedAlbumOut:
        album = shared.album
        return cls(id=album.id, title=album.title, description=album.description, asset_count=shared.count,
                   role=shared.role, owner=shared.owner_name, created_at=album.created_at,
                   updated_at=album.updated_at)

"""What search finds an asset by: one row per asset (table asset_search), kept by the media pipeline when it
records what it read of the file (media/service.py) and when an asset's place is set (gallery/service.py).

Places and cameras are kept twice: as shown ("Île-de-France") and as a key, the words of the name folded
(lower case, no accents, punctuation as blanks: "ile de france"), which the place and camera filters
compare with what was typed, folded the same way, through an index per column that starts with the owner.
The free-text words (file name, place, camera) are indexed by each engine's full-text index: an FTS5 table
on SQLite (asset_search_words, by this table's integer id: an assets rowid is not stable across a VACUUM),
a GIN-indexed tsvector column on PostgreSQL (migration 0016)."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from phonecloud.core.db import BIG_ROW_ID, Base
from phonecloud.gallery.models import Asset


class AssetSearch(Base):
    __tablename__ = "asset_search"

    id: Mapped[int] = mapped_column(BIG_ROW_ID, primary_key=True, autoincrement=True)
    asset_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("assets.id", ondelete="CASCADE"), unique=True)
    owner_id: Mapped[int] = mapped_column(Integer)
    city: Mapped[str | None] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(200))
    city_key: Mapped[str | None] = mapped_column(String(200))
    region_key: Mapped[str | None] = mapped_column(String(200))
    country_key: Mapped[str | None] = mapped_column(String(200))
    camera: Mapped[str | None] = mapped_column(String(400))
    camera_key: Mapped[str | None] = mapped_column(String(400))
    file_words: Mapped[str] = mapped_column(Text)  # the file name's words, folded
    words: Mapped[str] = mapped_column(Text)  # the place's and the camera's words, folded

    __table_args__ = (
        # The name as shown last: the suggestions are read from the index alone (names_in_use).
        Index("ix_asset_search_city", "owner_id", "city_key", "city"),
        Index("ix_asset_search_region", "owner_id", "region_key", "region"),
        Index("ix_asset_search_country", "owner_id", "country_key", "country"),
        Index("ix_asset_search_camera", "owner_id", "camera_key", "camera"),
    )


# Two indexes of the assets table for search's filters on its own columns, newest first as the timeline
# (owner_id, sort_at, id) is read: favourites (partial: only they are in it) and one kind (videos, mostly).
Index("ix_assets_favorites", Asset.owner_id, Asset.sort_at, Asset.id,
      sqlite_where=text("is_favorite = 1"), postgresql_where=text("is_favorite"))
Index("ix_assets_kind", Asset.owner_id, Asset.kind, Asset.sort_at, Asset.id)

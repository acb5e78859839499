from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from phonecloud.core.db import Base, UTCDateTime, utcnow


class RegionGroup(Base):
    __tablename__ = "region_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RegionGroupCountry(Base):
    """A country in a group (a country may be in several groups)."""

    __tablename__ = "region_group_countries"

    group_id: Mapped[int] = mapped_column(ForeignKey("region_groups.id", ondelete="CASCADE"), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True, index=True)


class RegionGroupDisabledKind(Base):
    """A kind of data the users of a group's countries may not add (what they hold stays theirs)."""

    __tablename__ = "region_group_disabled_kinds"

    group_id: Mapped[int] = mapped_column(ForeignKey("region_groups.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    disabled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

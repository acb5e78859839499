"""The timeline's month counts (the web app's scrubber, GET /api/v1/timeline/months) on both databases: one
count per month of the library's sort time in UTC, newest first, the trash and other people's items left out,
a month at the edge of two (23:59 on its last day, UTC) counted in its own."""

from __future__ import annotations

import collections
import datetime as dt

from sqlalchemy import select

from gallery.test_memories import member
from phonecloud.gallery.models import Asset
from web.library_rows import NEWEST, add_rows


def test_each_month_counts_the_items_outside_the_trash_newest_first(services):
    library = services.kind("gallery").service.library
    owner, other = member(services, "owner"), member(services, "other")
    spacing = dt.timedelta(days=3, hours=5)
    add_rows(services, owner.email, 200, spacing=spacing)  # from 30 Jun 2024 back over about 21 months
    add_rows(services, other.email, 50, spacing=dt.timedelta(days=40))
    with services.db.read() as session:
        rows = session.execute(select(Asset.id, Asset.sort_at).where(Asset.owner_id == owner.user_id)
                               .order_by(Asset.sort_at.desc())).all()
    trashed = [asset_id for asset_id, _ in rows[::7]]
    library.move_to_trash(owner, trashed)
    expected = collections.Counter(f"{moment:%Y-%m}" for asset_id, moment in rows if asset_id not in trashed)

    months = library.month_counts(owner)
    assert months == sorted(expected.items(), reverse=True)
    assert months[0] == ("2024-06", expected["2024-06"]) and NEWEST.month == 6
    assert sum(count for _, count in months) == 200 - len(trashed)


def test_a_moment_late_on_a_months_last_day_counts_in_that_month(services):
    library = services.kind("gallery").service.library
    owner = member(services, "edge")
    add_rows(services, owner.email, 1)
    with services.db.write() as session:
        asset = session.scalar(select(Asset).where(Asset.owner_id == owner.user_id))
        asset.sort_at = dt.datetime(2023, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC)
    assert library.month_counts(owner) == [("2023-12", 1)]
    library.move_to_trash(owner, [asset.id])
    assert library.month_counts(owner) == []

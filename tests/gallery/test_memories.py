"""On this day (gallery/memories.py, GET /api/v1/memories) on both databases: each earlier year's items of the
calendar day by the camera's local clock (not the UTC day), newest year first, the trash, other people's items
and the current year left out; 29 February only in leap years; bad dates refused with a 4xx."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from sqlalchemy import insert, select

from conftest import upload
from phonecloud.accounts.models import User
from phonecloud.accounts.service import Principal
from phonecloud.gallery.memories import Glimpse, days_statement, glimpses, on_this_day
from phonecloud.gallery.models import Asset
from phonecloud.media.models import AssetMedia


def member(services, name: str) -> Principal:
    user = services.accounts.create_user(f"{name}@example.org", "correct horse battery")
    return Principal(user_id=user.id, email=user.email, is_admin=False)


def add(services, owner: Principal, name: str, utc: dt.datetime, local: dt.datetime | None = None,
        trashed: bool = False) -> uuid.UUID:
    """A stand-in row (no bytes) taken at `utc`; `local`: the camera's wall clock, as the media pipeline records it."""
    asset_id = uuid.uuid4()
    with services.db.write() as session:
        owner_id = session.scalar(select(User.id).where(User.email == owner.email))
        session.execute(insert(Asset), [dict(
            id=asset_id, owner_id=owner_id, kind="photo", mime_type="image/jpeg", original_filename=name,
            size_bytes=1000, sha1=hashlib.sha1(f"{owner.email}:{name}".encode()).hexdigest(), crc32=0,
            blob_key=f"stand-in/{name}", file_modified_at=utc, uploaded_at=utc, sort_at=utc, is_favorite=False,
            trashed_at=utc if trashed else None)])
        if local is not None:
            session.execute(insert(AssetMedia), [dict(asset_id=asset_id, state="ready", taken_at=local,
                                                      date_source="exif", updated_at=utc)])
    return asset_id


def names(memory) -> list[str]:
    return [asset.original_filename for asset in memory.items]


def test_each_earlier_year_of_the_day_by_the_local_clock(services):
    owner, other = member(services, "owner"), member(services, "other")
    utc = lambda *parts: dt.datetime(*parts, tzinfo=dt.UTC)  # noqa: E731
    add(services, owner, "2023-noon.jpg", utc(2023, 12, 7, 12))
    # 00:30 on the 7th in UTC+05:00 is 19:30 on the 6th in UTC: it is the 7th's
    add(services, owner, "2022-early-east.jpg", utc(2022, 12, 6, 19, 30), local=dt.datetime(2022, 12, 7, 0, 30))
    # 23:30 on the 6th in UTC-05:00 is 04:30 on the 7th in UTC: it is not
    add(services, owner, "2022-late-west.jpg", utc(2022, 12, 7, 4, 30), local=dt.datetime(2022, 12, 6, 23, 30))
    add(services, owner, "2022-evening.jpg", utc(2022, 12, 7, 18))
    add(services, owner, "2019-trashed.jpg", utc(2019, 12, 7, 9), trashed=True)
    add(services, owner, "2018.jpg", utc(2018, 12, 7, 9))
    add(services, owner, "2024-this-year.jpg", utc(2024, 12, 7, 9))
    add(services, owner, "2021-next-day.jpg", utc(2021, 12, 8, 9))
    add(services, other, "2020-someone-else.jpg", utc(2020, 12, 7, 9))

    found = on_this_day(services.db, owner, dt.date(2024, 12, 7))
    assert [(memory.year, memory.years_ago, memory.count) for memory in found] == [(2023, 1, 1), (2022, 2, 2),
                                                                                  (2018, 6, 1)]
    assert names(found[1]) == ["2022-early-east.jpg", "2022-evening.jpg"]  # oldest first
    assert found[1].media.keys() == {found[1].items[0].id}  # the media row where the pipeline made one
    assert on_this_day(services.db, other, dt.date(2024, 12, 7))[0].years_ago == 4
    assert on_this_day(services.db, member(services, "empty"), dt.date(2024, 12, 7)) == []


def test_a_day_with_more_than_asked_says_how_many_and_29_february_waits_for_a_leap_year(services):
    owner = member(services, "many")
    for minute in range(5):
        add(services, owner, f"2020-{minute}.jpg", dt.datetime(2020, 2, 29, 10, minute, tzinfo=dt.UTC))
    [leap] = on_this_day(services.db, owner, dt.date(2024, 2, 29), per_year=2)
    assert (leap.year, leap.count, names(leap)) == (2020, 5, ["2020-0.jpg", "2020-1.jpg"])
    assert on_this_day(services.db, owner, dt.date(2023, 2, 28)) == []


def test_the_timelines_cards_count_each_years_day_and_take_as_cover_an_item_with_a_thumbnail(services):
    owner = member(services, "cards")
    at = lambda year, hour: dt.datetime(year, 12, 7, hour, tzinfo=dt.UTC)  # noqa: E731
    add(services, owner, "2022-not-read-yet.jpg", at(2022, 8))  # no media row: no thumbnail yet
    shown = add(services, owner, "2022-read.jpg", at(2022, 9), local=dt.datetime(2022, 12, 7, 10))
    add(services, owner, "2020-not-read-yet.jpg", at(2020, 8))
    cards = glimpses(services.db, owner, dt.date(2024, 12, 7))
    assert cards == [Glimpse(dt.date(2022, 12, 7), 2, 2, shown), Glimpse(dt.date(2020, 12, 7), 4, 1, None)]
    assert [(memory.year, memory.count) for memory in on_this_day(services.db, owner, dt.date(2024, 12, 7))] == [
        (card.day.year, card.count) for card in cards]
    assert glimpses(services.db, member(services, "nobody"), dt.date(2024, 12, 7)) == []


def test_the_api_answers_the_owner_only_and_refuses_bad_dates(server, accounts):
    owner, stranger = accounts.create(name="memories"), accounts.create(name="stranger")
    mine = upload(owner, b"\xff\xd8\xff\xe0" + uuid.uuid4().bytes * 300, filename="IMG_then.jpg",
                  modified_at="2021-06-15T10:00:00Z").json()["id"]
    answer = owner.http.get("/memories", params={"date": "2024-06-15"}).json()
    assert answer["date"] == "2024-06-15"
    [year] = answer["years"]
    assert (year["year"], year["years_ago"], year["count"]) == (2021, 3, 1)
    assert [item["id"] for item in year["items"]] == [mine]
    assert stranger.http.get("/memories", params={"date": "2024-06-15"}).json()["years"] == []
    for bad in ("2024-02-30", "yesterday", "0000-01-01"):
        refused = owner.http.get("/memories", params={"date": bad})
        assert refused.status_code in (400, 422) and "date" in refused.text, bad
    assert owner.http.get("/memories", params={"per_year": 0}).status_code == 422
    assert stranger.http.get("/memories").status_code == 200


def test_all_the_years_are_read_in_one_statement_of_index_ranges(services):
    """Each year's day is a range of the timeline index (owner, sort_at), all in one statement: no scan of the
    owner's library, however large, and no round trip per year (planned on 16 years of photos, analysed)."""
    owner = member(services, "plan")
    owner_id = services.accounts.user_by_email(owner.email).id
    first = dt.datetime(2010, 1, 1, tzinfo=dt.UTC)
    with services.db.write() as session:
        session.execute(insert(Asset), [dict(
            id=uuid.uuid4(), owner_id=owner_id, kind="photo", mime_type="image/jpeg", original_filename=f"{n}.jpg",
            size_bytes=1000, sha1=hashlib.sha1(b"%d" % n).hexdigest(), crc32=0, blob_key=f"stand-in/{n}",
            file_modified_at=first, uploaded_at=first, sort_at=first + dt.timedelta(hours=7 * n), is_favorite=False)
            for n in range(20000)])
    statement = days_statement(owner_id, [dt.date(year, 12, 7) for year in range(2010, 2026)])
    with services.db.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        written = str(statement.compile(connection, compile_kwargs={"literal_binds": True})).replace("%", "%%")
        if services.db.dialect == "sqlite":
            plan = [row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + written)]
            ranges = [step for step in plan if "ix_assets_timeline (owner_id=? AND sort_at>? AND sort_at<?)" in step]
            assert "MULTI-INDEX OR" in plan and len(ranges) == 16, plan
        else:
            plan = [row[0] for row in connection.exec_driver_sql("EXPLAIN " + written)]
            ranges = [step for step in plan if "Bitmap Index Scan on ix_assets_timeline" in step]
            assert any("BitmapOr" in step for step in plan) and len(ranges) == 16, plan
        assert not any("SCAN assets" in step or "Seq Scan on assets" in step for step in plan), plan

"""Dates at the edges of what the system represents: one parser bounds every date that enters (core.dates),
and the clients survive whatever a disk or a server gives them."""

from __future__ import annotations

import datetime as dt
import os
import uuid

import httpx
import pytest

from cli_runner import client_env  # noqa: F401  (a fixture)
from client.test_pull import mirrored, pull
from client.test_sync_client import sync, write
from conftest import upload
from media_fixtures import jpeg
from route_table import settled


def test_the_parser_bounds_and_names_what_it_refuses():
    from phonecloud.core import dates

    assert dates.parse_moment("2022-10-14T12:34:56+02:00") == dt.datetime(2022, 10, 14, 10, 34, 56, tzinfo=dt.UTC)
    assert dates.parse_moment("2022-10-14T12:34:56") == dt.datetime(2022, 10, 14, 12, 34, 56, tzinfo=dt.UTC)
    for text in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2201-01-01T00:00:00Z",
                 "1899-12-31T23:59:59Z"):
        with pytest.raises(dates.DateOutOfRange, match=r"modified_at .* is outside years 1900 to 2200"):
            dates.parse_moment(text, "modified_at")
    with pytest.raises(dates.DateOutOfRange, match="not an ISO 8601"):
        dates.parse_moment("yesterday")
    with pytest.raises(dates.DateOutOfRange, match="outside"):
        dates.parse_day("9999-12-31")
    with pytest.raises(dates.DateOutOfRange):
        dates.from_unix_seconds(10**20)
    assert dates.clamped(dt.datetime(2300, 1, 1, tzinfo=dt.UTC)) == dates.LATEST
    assert dates.clamped(dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14)))) == dates.EARLIEST
    assert dates.nanoseconds(dt.datetime(9999, 12, 31, tzinfo=dt.UTC)) < 2**63
    assert dates.from_nanoseconds(2**63 - 1) == dates.LATEST.replace(microsecond=dates.LATEST.microsecond)


def test_a_date_inside_the_range_is_taken_everywhere(user):
    assert upload(user, jpeg(9800), modified_at="2200-12-31T23:59:59Z").status_code == 201
    assert upload(user, jpeg(9801), modified_at="1900-01-01T00:00:00Z").status_code == 201
    album = user.http.post("/albums", json={"title": "old", "created_at": "1900-01-01T00:00:00Z"})
    assert album.status_code == 201, album.text


def test_the_web_apps_jump_to_a_date_at_the_edges(server, user):
    from phonecloud.web.session import SESSION_COOKIE

    token = user.http.post("/auth/login", json={"email": user.email, "password": user.password}).json()["token"]
    with httpx.Client(base_url=server.url, cookies={SESSION_COOKIE: token}) as browser:
        refused = browser.get("/", params={"date": "9999-12-31"})
        assert refused.status_code == 400 and "outside years 1900 to 2200" in refused.text
        assert browser.get("/", params={"date": "2200-12-31"}).status_code == 200
        assert browser.get("/", params={"date": "1900-01-01"}).status_code == 200
    assert httpx.get(f"{server.url}/api/v1/health").status_code == 200


def test_pull_survives_a_server_that_holds_a_date_past_2262(server, user, accounts, client_env, tmp_path):
    from sqlalchemy import update

    from phonecloud.gallery.models import Asset

    asset_id = upload(user, jpeg(9802), filename="IMG_far.jpg").json()["id"]
    settled(user, asset_id)  # the media pipeline has set its capture time: nothing rewrites it after this
    far = dt.datetime(2300, 1, 1, tzinfo=dt.UTC)  # as a server before the date parser could have stored it
    with accounts.services.db.write() as session:
        session.execute(update(Asset).where(Asset.id == uuid.UUID(asset_id)).values(sort_at=far, file_modified_at=far))
    folder = tmp_path / "mirror"
    for _ in range(2):  # the second run reads the state the first one wrote
        run = pull(client_env, server.url, user, folder)
        assert run.summary["failed"] == 0
    [path] = [path for name, path in mirrored(folder).items() if name.endswith("IMG_far.jpg")]
    assert dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).year == 2200  # the nearest time it can keep


def test_sync_sends_a_file_dated_past_the_range_as_the_nearest_date(server, user, client_env, tmp_path):
    photo = write(tmp_path / "phone" / "IMG_future.jpg", jpeg(9803))
    far = int(dt.datetime(2300, 1, 1, tzinfo=dt.UTC).timestamp())
    os.utime(photo, (far, far))
    run = sync(client_env, server.url, user, str(tmp_path / "phone"))
    assert run.returncode == 0 and run.summary["uploaded"] == 1, run.stderr
    [asset] = user.http.get("/assets").json()["items"]
    assert asset["file_modified_at"].startswith("2200-12-31T23:59:59")

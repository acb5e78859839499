"""Listing (newest first, cursor pages), one asset's record, original downloads with Range, trash."""

import datetime as dt

import pytest

from conftest import upload
from media_fixtures import jpeg

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)


def upload_at(user, seed: int, moment: dt.datetime) -> dict:
    response = upload(user, jpeg(seed), filename=f"IMG_{seed}.jpg", modified_at=moment.isoformat())
    assert response.status_code == 201
    return response.json()["asset"]


@pytest.fixture
def library(user):
    """25 assets an hour apart, plus three sharing one timestamp (ties broken by id)."""
    start = dt.datetime(2022, 10, 14, tzinfo=dt.UTC)
    assets = [upload_at(user, 500 + n, start + dt.timedelta(hours=n)) for n in range(25)]
    assets += [upload_at(user, 600 + n, start + dt.timedelta(days=5)) for n in range(3)]
    return user, assets


def all_pages(user, limit: int, **params) -> list[dict]:
    items, cursor, pages = [], None, 0
    while True:
        page = user.http.get("/assets", params={"limit": limit, **({"cursor": cursor} if cursor else {}), **params})
        assert page.status_code == 200
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        pages += 1
        assert pages < 100
        if cursor is None:
            return items


def test_list_is_newest_first_and_cursor_pages_cover_everything_once(library):
    user, assets = library
    listed = all_pages(user, limit=4)
    assert len(listed) == len(assets) == len({item["id"] for item in listed})
    keys = [(item["sort_at"], item["id"]) for item in listed]
    assert keys == sorted(keys, reverse=True)
    assert listed[-1]["id"] == assets[0]["id"]


def test_page_size_is_bounded(user):
    assert user.http.get("/assets", params={"limit": 0}).status_code == 422
    assert user.http.get("/assets", params={"limit": 100_000}).status_code == 422


def test_a_forged_cursor_gets_400(user):
    for cursor in ("garbage!!", "Zm9vYmFy", "MjAyMi0xMC0xNHxub3QtYS11dWlk"):
        response = user.http.get("/assets", params={"cursor": cursor})
        assert response.status_code == 400
        assert "cursor" in response.json()["message"]


def test_get_one_asset(user):
    asset = upload_at(user, 700, dt.datetime(2021, 1, 1, tzinfo=dt.UTC))
    response = user.http.get(f"/assets/{asset['id']}")
    assert response.status_code == 200
    record = response.json()
    assert {k: v for k, v in record.items() if k not in ("media", "sort_at")} == {
        k: v for k, v in asset.items() if k not in ("media", "sort_at")}
    assert record["media"]["state"] in ("pending", "ready", "failed")


def test_unknown_or_malformed_asset_ids(user):
    assert user.http.get("/assets/00000000-0000-0000-0000-000000000000").status_code == 404
    assert user.http.get("/assets/not-a-uuid").status_code == 422


class TestRanges:
    @pytest.fixture
    def stored(self, user):
        body = jpeg(800) + bytes(range(256)) * 400
        asset = upload(user, body).json()["asset"]
        return user, asset, body

    def get(self, user, asset, **headers):
        return user.http.get(f"/assets/{asset['id']}/original", headers=headers)

    def test_whole_file(self, stored):
        user, asset, body = stored
        response = self.get(user, asset)
        assert response.status_code == 200
        assert response.content == body
        assert response.headers["accept-ranges"] == "bytes"
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["etag"] == f'"{asset["sha1"]}"'

    @pytest.mark.parametrize("header, start, end", [
        ("bytes=0-0", 0, 1), ("bytes=10-99", 10, 100), ("bytes=1000-", 1000, None), ("bytes=-500", -500, None),
        ("bytes=5-999999999", 5, None),
    ])
    def test_single_range(self, stored, header, start, end):
        user, asset, body = stored
        response = self.get(user, asset, Range=header)
        assert response.status_code == 206
        expected = body[start:end]
        assert response.content == expected
        first = len(body) + start if start < 0 else start
        assert response.headers["content-range"] == f"bytes {first}-{first + len(expected) - 1}/{len(body)}"

    @pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=50-10", "bytes=-0", "chunks=0-5", "bytes=x-y"])
    def test_unsatisfiable_range_gets_416(self, stored, header):
        user, asset, body = stored
        response = self.get(user, asset, Range=header)
        assert response.status_code == 416
        assert response.headers["content-range"] == f"bytes */{len(body)}"
        assert response.json()["error"] == "range_not_satisfiable"

    def test_if_range_with_another_etag_sends_the_whole_file(self, stored):
        user, asset, body = stored
        response = self.get(user, asset, Range="bytes=0-9", **{"If-Range": '"something-else"'})
        assert response.status_code == 200 and response.content == body
        matching = self.get(user, asset, Range="bytes=0-9", **{"If-Range": f'"{asset["sha1"]}"'})
        assert matching.status_code == 206 and matching.content == body[:10]

    def test_several_ranges_are_answered_with_the_whole_file(self, stored):
        user, asset, body = stored
        response = self.get(user, asset, Range="bytes=0-1,5-6")
        assert response.status_code == 200 and response.content == body


def test_trash_hides_from_the_library_and_restore_brings_back(user):
    kept = upload_at(user, 900, dt.datetime(2020, 5, 1, tzinfo=dt.UTC))
    binned = upload_at(user, 901, dt.datetime(2020, 5, 2, tzinfo=dt.UTC))
    trashed = user.http.post(f"/assets/{binned['id']}/trash")
    assert trashed.status_code == 200 and trashed.json()["trashed"] is True
    assert [a["id"] for a in all_pages(user, 10)] == [kept["id"]]
    assert [a["id"] for a in all_pages(user, 10, trashed=True)] == [binned["id"]]
    assert user.http.get(f"/assets/{binned['id']}/original").status_code == 200  # still downloadable
    assert user.http.post(f"/assets/{binned['id']}/trash").status_code == 200  # idempotent
    restored = user.http.post(f"/assets/{binned['id']}/restore")
    assert restored.status_code == 200 and restored.json()["trashed"] is False
    assert {a["id"] for a in all_pages(user, 10)} == {kept["id"], binned["id"]}


def test_trashed_bytes_still_count_and_a_reupload_reports_the_trashed_asset(user):
    body = jpeg(902)
    asset = upload(user, body).json()["asset"]
    user.http.post(f"/assets/{asset['id']}/trash")
    assert user.http.get("/me").json()["used_bytes"] == len(body)
    again = upload(user, body)
    assert again.status_code == 200 and again.json()["id"] == asset["id"]
    assert again.json()["asset"]["trashed"] is True
    check = user.http.post("/assets/check", json={"items": [{"id": "a", "sha1": asset["sha1"]}]}).json()
    assert check["results"][0]["trashed"] is True


def test_bulk_check_reports_which_hashes_are_stored(user):
    stored = [upload(user, jpeg(950 + n)).json()["asset"] for n in range(3)]
    items = [{"id": f"stored-{n}", "sha1": asset["sha1"]} for n, asset in enumerate(stored)]
    items += [{"id": f"new-{n}", "sha1": f"{n:040x}"} for n in range(4997)]
    response = user.http.post("/assets/check", json={"items": items})
    assert response.status_code == 200
    results = {r["id"]: r for r in response.json()["results"]}
    assert len(results) == 5000
    for n, asset in enumerate(stored):
        assert results[f"stored-{n}"]["exists"] and results[f"stored-{n}"]["asset_id"] == asset["id"]
    assert not any(results[f"new-{n}"]["exists"] for n in range(4997))


def test_bulk_check_refuses_bad_hashes_and_too_many_items(user):
    bad = user.http.post("/assets/check", json={"items": [{"id": "x", "sha1": "not-hex"}]})
    assert bad.status_code == 422 and "sha1" in bad.json()["message"]
    many = user.http.post("/assets/check", json={"items": [{"id": str(n), "sha1": "0" * 40} for n in range(10_001)]})
    assert many.status_code == 422
    assert user.http.post("/assets/check", content=b"{not json", headers={"Content-Type": "application/json"}
                          ).status_code == 422


def test_a_description_archived_flag_people_and_a_place_are_set_each_alone_and_checked(user, other_user):
    asset = upload_at(user, 700, dt.datetime(2022, 10, 14, tzinfo=dt.UTC))
    assert (asset["description"], asset["is_archived"], asset["people"]) == ("", False, [])
    url = f"/assets/{asset['id']}"
    set_all = user.http.patch(url, json={"description": "Am Strand", "is_archived": True,
                                         "people": ["Ana", "Ana", "Bo"]})
    assert set_all.status_code == 200, set_all.text
    assert (set_all.json()["description"], set_all.json()["is_archived"], set_all.json()["people"]) == (
        "Am Strand", True, ["Ana", "Bo"])  # a name once
    only_flag = user.http.patch(url, json={"is_archived": False}).json()
    assert (only_flag["description"], only_flag["is_archived"], only_flag["people"]) == (
        "Am Strand", False, ["Ana", "Bo"])

    for body, problem in (({"description": "x" * 10_001}, "description"), ({"people": [""]}, "people"),
                          ({"description": "a\x00b"}, "NUL"), ({"is_archived": "perhaps"}, "is_archived")):
        refused = user.http.patch(url, json=body)
        assert 400 <= refused.status_code < 500 and problem in refused.text, (body, refused.text)
    placed = user.http.patch(url, json={"place": {"latitude": -33.8568, "longitude": 151.2153}}).json()
    assert placed["place"] == {"latitude": -33.8568, "longitude": 151.2153, "altitude": None}
    assert placed["media"]["latitude"] is None  # the file's own GPS stays the file's
    off_the_map = user.http.patch(url, json={"place": {"latitude": 91, "longitude": 0}})
    assert off_the_map.status_code in (400, 422) and "latitude" in off_the_map.text
    assert other_user.http.patch(url, json={"description": "mine now"}).status_code == 404
    assert user.http.get(url).json()["description"] == "Am Strand"

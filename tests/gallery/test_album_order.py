"""An album lists its items in the timeline's order, read from the album's own index: the copy of each
item's sort time that it keeps (migration 0007's triggers) is set when an item is added and follows the
media pipeline when the capture time replaces the file's modification time."""

from __future__ import annotations


from conftest import upload
from media.test_media_pipeline import exif_jpeg, idle_server, run_worker  # noqa: F401 (idle_server: a fixture)


def listed(user, path: str, limit: int = 100) -> list[str]:
    """Every item of a listing, following its cursor pages of `limit`."""
    ids, cursor = [], None
    while True:
        page = user.http.get(path, params={"limit": limit, **({"cursor": cursor} if cursor else {})}).json()
        ids += [item["id"] for item in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            return ids


def test_an_album_follows_the_capture_times_the_pipeline_finds(idle_server):  # noqa: F811
    server, accounts = idle_server
    user = accounts.create()
    # Modified in one order, taken in the opposite one: the pipeline turns the album's order around.
    taken = ["2019:05:01 10:00:00", "2018:05:01 10:00:00", "2017:05:01 10:00:00", "2016:05:01 10:00:00"]
    ids = [upload(user, exif_jpeg(300 + n, moment), filename=f"IMG_{n}.jpg",
                  modified_at=f"2022-01-0{n + 1}T08:00:00Z").json()["id"] for n, moment in enumerate(taken)]
    upload(user, exif_jpeg(399, "2018:12:24 18:00:00"), filename="IMG_other.jpg")  # in the library, not the album
    album = user.http.post("/albums", json={"title": "Order"}).json()
    user.http.put(f"/albums/{album['id']}/assets", json={"asset_ids": ids})
    assert listed(user, f"/albums/{album['id']}/assets", limit=3) == ids[::-1]  # newest modification first

    assert run_worker(server, "--until-idle").returncode == 0
    assert listed(user, f"/albums/{album['id']}/assets", limit=3) == ids  # newest capture first
    timeline = listed(user, "/assets")
    assert [asset for asset in timeline if asset in ids] == ids

    late = upload(user, exif_jpeg(398, "2017:12:24 18:00:00"), filename="IMG_late.jpg").json()["id"]
    assert run_worker(server, "--until-idle").returncode == 0
    user.http.put(f"/albums/{album['id']}/assets", json={"asset_ids": [late]})  # added after the pipeline ran
    assert listed(user, f"/albums/{album['id']}/assets", limit=2) == ids[:2] + [late] + ids[2:]

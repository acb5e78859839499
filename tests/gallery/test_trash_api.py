"""The whole trash at once: POST /trash/empty deletes for good what is in the caller's trash (or the items
named that are), releasing the quota exactly as deleting each one does; POST /trash/restore brings it back.
Nothing outside the caller's trash is ever touched, whatever ids are sent, and a large trash goes in batches."""

from __future__ import annotations

import uuid

import pytest

from conftest import upload
from media_fixtures import jpeg

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)


def photos(user, seeds: range, trash: bool = False) -> list[dict]:
    """A photo per seed, each of a day of its own (in the grid, oldest first), moved to the trash if asked."""
    made = []
    for number, seed in enumerate(seeds):
        response = upload(user, jpeg(seed), filename=f"IMG_{seed}.jpg",
                          modified_at=f"2023-05-{10 + number:02d}T12:00:00Z")
        assert response.status_code == 201, response.text
        made.append(response.json()["asset"])
        if trash:
            assert user.http.post(f"/assets/{made[-1]['id']}/trash").status_code == 200
    return made


def ids(user, trashed: bool) -> set[str]:
    items = user.http.get("/assets", params={"trashed": trashed, "limit": 1000}).json()["items"]
    return {item["id"] for item in items}


def _used(user) -> tuple[int, int]:
    me = user.http.get("/me").json()
    return me["used_bytes"], me["asset_count"]


def test_emptying_deletes_the_whole_trash_for_good_and_releases_its_bytes(user, other_user):
    kept = photos(user, range(8101, 8103), trash=False)
    binned = photos(user, range(8103, 8107), trash=True)
    others = photos(other_user, range(8107, 8109), trash=True)
    others_before = _used(other_user)
    used, count = _used(user)

    answer = user.http.post("/trash/empty")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"deleted": len(binned)}
    assert ids(user, trashed=True) == set()
    assert ids(user, trashed=False) == {asset["id"] for asset in kept}
    for asset in binned:
        assert user.http.get(f"/assets/{asset['id']}").status_code == 404
        assert user.http.get(f"/assets/{asset['id']}/original").status_code == 404
    assert _used(user) == (used - sum(asset["size_bytes"] for asset in binned), count - len(binned))
    for asset in kept:  # the library's originals are untouched
        assert len(user.http.get(f"/assets/{asset['id']}/original").content) == asset["size_bytes"]
    # The other user's trash is theirs alone.
    assert ids(other_user, trashed=True) == {asset["id"] for asset in others}
    assert _used(other_user) == others_before

    again = user.http.post("/trash/empty", json={})
    assert again.status_code == 200 and again.json() == {"deleted": 0}


def test_emptying_releases_the_quota_exactly_as_deleting_each_item(accounts):
    one_by_one, at_once = accounts.create(name="each"), accounts.create(name="all")
    for user in (one_by_one, at_once):
        photos(user, range(8111, 8114), trash=True)
    for asset_id in ids(one_by_one, trashed=True):
        assert one_by_one.http.delete(f"/assets/{asset_id}").status_code == 204
    assert at_once.http.post("/trash/empty").json() == {"deleted": 3}
    assert _used(one_by_one) == _used(at_once) == (0, 0)


def test_named_items_only_and_never_one_outside_the_callers_trash(user, other_user):
    library = photos(user, range(8121, 8123), trash=False)
    binned = photos(user, range(8123, 8127), trash=True)
    foreign = photos(other_user, range(8127, 8128), trash=True)[0]
    named = [binned[0]["id"], binned[1]["id"], library[0]["id"], foreign["id"], str(uuid.UUID(int=77))]

    answer = user.http.post("/trash/empty", json={"asset_ids": named})
    assert answer.status_code == 200 and answer.json() == {"deleted": 2}
    assert ids(user, trashed=True) == {binned[2]["id"], binned[3]["id"]}
    assert ids(user, trashed=False) == {asset["id"] for asset in library}
    assert ids(other_user, trashed=True) == {foreign["id"]}

    restored = user.http.post("/trash/restore", json={"asset_ids": [binned[2]["id"], library[1]["id"], foreign["id"]]})
    assert restored.status_code == 200 and restored.json() == {"restored": 1}
    assert ids(user, trashed=True) == {binned[3]["id"]}
    assert ids(other_user, trashed=True) == {foreign["id"]}
    assert other_user.http.get(f"/assets/{foreign['id']}").json()["trashed"] is True


def test_restoring_brings_back_the_whole_trash(user, other_user):
    binned = photos(user, range(8131, 8134), trash=True)
    foreign = photos(other_user, range(8134, 8135), trash=True)[0]
    used = _used(user)
    answer = user.http.post("/trash/restore")
    assert answer.status_code == 200 and answer.json() == {"restored": 3}
    assert ids(user, trashed=False) >= {asset["id"] for asset in binned}
    assert ids(user, trashed=True) == set()
    assert _used(user) == used  # restored items were counted all along
    assert ids(other_user, trashed=True) == {foreign["id"]}
    assert user.http.post("/trash/restore").json() == {"restored": 0}


def test_a_large_trash_goes_in_batches(user, monkeypatch):
    from phonecloud.gallery import service

    monkeypatch.setattr(service, "_PURGE_BATCH", 3)
    batches: list[int] = []
    forget = service.GalleryService._forget

    def counted(self, session, assets):
        batches.append(len(assets))
        return forget(self, session, assets)

    monkeypatch.setattr(service.GalleryService, "_forget", counted)
    binned = photos(user, range(8141, 8148), trash=True)
    kept = photos(user, range(8148, 8149), trash=False)
    assert user.http.post("/trash/restore").json() == {"restored": 7}
    for asset in binned:
        user.http.post(f"/assets/{asset['id']}/trash")
    assert user.http.post("/trash/empty").json() == {"deleted": 7}
    assert max(batches) == 3 and sum(batches) == 7
    assert ids(user, trashed=False) == {kept[0]["id"]}
    assert _used(user) == (kept[0]["size_bytes"], 1)

    named = photos(user, range(8149, 8154), trash=True)
    batches.clear()
    answer = user.http.post("/trash/empty", json={"asset_ids": [asset["id"] for asset in named]})
    assert answer.json() == {"deleted": 5} and max(batches) <= 3


@pytest.mark.parametrize("body", [
    {"asset_ids": []},  # an empty list is not "everything"
    {"asset_ids": ["not-a-uuid"]},
    {"asset_ids": [str(uuid.uuid4()) for _ in range(10_001)]},
    [],
])
def test_a_malformed_selection_is_refused_and_changes_nothing(user, body):
    binned = photos(user, range(8161, 8162), trash=True)
    for path in ("/trash/empty", "/trash/restore"):
        answer = user.http.post(path, json=body)
        assert answer.status_code == 422, (path, answer.text)
    assert ids(user, trashed=True) == {binned[0]["id"]}


def test_the_trash_routes_need_a_caller(server, user):
    photos(user, range(8171, 8172), trash=True)
    with server.client(None) as anonymous:
        for path in ("/trash/empty", "/trash/restore"):
            assert anonymous.post(path).status_code == 401
    assert len(ids(user, trashed=True)) == 1


def test_the_routes_are_described_with_their_answers(server):
    with server.client(None) as anonymous:
        schema = anonymous.get("/openapi.json").json()
    for path, field in (("/api/v1/trash/empty", "deleted"), ("/api/v1/trash/restore", "restored")):
        operation = schema["paths"][path]["post"]
        assert operation["requestBody"].get("required") is not True
        answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert field in schema["components"]["schemas"][answer]["properties"]

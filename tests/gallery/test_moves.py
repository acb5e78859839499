"""A library moved to another service by a job on the server ("Move my library to…"): to another phonecloud
(a server process) with everything the client's `phonecloud migrate` carries, each item verified and recorded;
paused while it runs and resumed without sending anything twice; a second move finds everything there; bad
targets are refused naming the field; credentials are never shown and are gone once the move is over; one
user cannot see, pause, resume or delete another's move; account deletion takes moves with it."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from client.test_migrate import DESCRIPTION, PLACE, check_remote_layout, described_library, library_of, webdav
from conftest import upload
from inprocess import pause_embedded_workers
from media_fixtures import jpeg
from messages.backup_files import MESSAGES, sbr_messages_xml
from messages.server_helpers import imported
from contacts.vcard_samples import plain_30
from media.test_media_pipeline import wait_ready
from scaleout import ACCESS_KEY, BUCKET, SECRET_KEY, S3Server
from tcp_proxy import CountingProxy

from phonecloud.client.migrate import engine
from phonecloud.gallery.moving.models import LibraryMove
from phonecloud.gallery.moving.record import MoveRecord

pytestmark = pytest.mark.in_process  # the source is the app in this process; the target a server process


@pytest.fixture
def target_user(accounts_process):
    return accounts_process.create(name="target")


def start(user, target_server, target_user, **fields) -> dict:
    answer = user.http.post("/moves", json={"target": "phonecloud", "url": target_server.url,
                                            "key": target_user.key, **fields})
    assert answer.status_code == 201, answer.text
    return answer.json()


def delete_account_and_wait(server, leaving, move_id: str) -> None:
    """The account deleted by its owner, until its move is gone with it."""
    deleted = leaving.http.request("DELETE", "/me", json={"password": leaving.password})
    assert deleted.status_code in (200, 202, 204), deleted.text
    deadline = time.monotonic() + 60
    while True:
        with server.services.db.read() as session:
            if session.get(LibraryMove, uuid.UUID(move_id)) is None:
                return
        assert time.monotonic() < deadline
        time.sleep(0.1)


def settled(user, move_id: str, states=("done", "failed", "paused"), timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while (found := user.http.get(f"/moves/{move_id}").json())["state"] not in states:
        assert time.monotonic() < deadline, found
        time.sleep(0.05)
    return found


def test_a_move_to_another_phonecloud_carries_everything_verified_and_a_second_move_finds_it_there(
        user, server_process, target_user):
    made = described_library(user, 3300)
    move = start(user, server_process, target_user)
    assert move["state"] == "queued" and move["label"] == f"phonecloud at {server_process.url}"
    assert "key" not in json.dumps(move) and target_user.key not in json.dumps(move)
    done = settled(user, move["id"])
    assert done["state"] == "done", done
    report = done["report"]
    assert {key: report[key] for key in ("sent", "verified", "already_there", "failed", "items", "albums")} == {
        "sent": 4, "verified": 4, "already_there": 0, "failed": 0, "items": 4, "albums": 1}
    assert report["bytes"] == sum(len(body) for body in made["bodies"].values())
    assert report["verified_by"] == {"sha1": 4}
    assert done["files_done"] == done["files_total"] == 4 and done["bytes_done"] == done["bytes_total"]
    for asset in library_of(target_user).values():
        wait_ready(target_user, asset["id"])  # its capture time read by the target's pipeline
    source, moved = library_of(user), library_of(target_user)
    assert moved.keys() == source.keys()
    for sha1, asset in source.items():
        for key in ("original_filename", "size_bytes", "sort_at", "is_favorite", "trashed", "description",
                    "people", "place", "is_archived"):
            assert moved[sha1][key] == asset[key], (key, asset["original_filename"])
    assert any(asset["description"] == DESCRIPTION and asset["place"] == PLACE for asset in moved.values())
    albums = target_user.http.get("/albums").json()
    assert [album["title"] for album in albums] == ["Summer: Brittany/2019"]

    again = settled(user, start(user, server_process, target_user)["id"])
    assert again["state"] == "done"
    assert {key: again["report"][key] for key in ("sent", "already_there", "failed")} == {
        "sent": 0, "already_there": 4, "failed": 0}
    assert len(target_user.http.get("/albums").json()) == 1  # found again, not made twice


def test_the_credentials_are_kept_only_while_the_move_may_run(user, server, server_process, target_user):
    paused = pause_embedded_workers()
    try:
        move = start(user, server_process, target_user)
        with server.services.db.read() as session:
            assert target_user.key in session.get(LibraryMove, uuid.UUID(move["id"])).credentials
        assert user.http.post(f"/moves/{move['id']}/pause").json()["state"] == "paused"
        conflict = user.http.post("/moves", json={"target": "phonecloud", "url": server_process.url,
                                                  "key": target_user.key})
        assert conflict.status_code == 409 and "paused" in conflict.json()["message"]
        assert user.http.post(f"/moves/{move['id']}/resume").json()["state"] == "queued"
    finally:
        for pool in paused:
            pool.start()
    assert settled(user, move["id"])["state"] == "done"
    with server.services.db.read() as session:
        assert session.get(LibraryMove, uuid.UUID(move["id"])).credentials is None


def test_a_running_move_pauses_after_the_items_in_flight_and_resumes_without_sending_twice(
        user, server_process, target_user, monkeypatch):
    described_library(user, 3400)
    monkeypatch.setattr(engine, "SLICE_ITEMS", 1)  # asked between every two items
    arrived = MoveRecord.arrived

    def pause_after_the_first(record, *args):  # the user presses Pause as the first item arrives
        arrived(record, *args)
        if not paused_once:
            paused_once.append(user.http.post(f"/moves/{record.move_id}/pause").json())

    paused_once: list[dict] = []
    monkeypatch.setattr(MoveRecord, "arrived", pause_after_the_first)
    move = start(user, server_process, target_user)
    stopped = settled(user, move["id"])
    assert paused_once[0]["state"] == "running" and paused_once[0]["pause_requested"]
    assert stopped["state"] == "paused" and not stopped["pause_requested"], stopped
    assert stopped["report"]["paused"] and stopped["report"]["verified"] == 1
    assert len(library_of(target_user)) == 1

    monkeypatch.setattr(MoveRecord, "arrived", arrived)
    resumed = user.http.post(f"/moves/{move['id']}/resume")
    assert resumed.status_code == 200 and resumed.json()["state"] == "queued"
    done = settled(user, move["id"], states=("done", "failed"))
    assert done["state"] == "done", done
    assert {key: done["report"][key] for key in ("sent", "verified", "already_there", "failed")} == {
        "sent": 3, "verified": 3, "already_there": 1, "failed": 0}
    assert len(library_of(target_user)) == 4


def test_a_refused_key_fails_the_move_saying_so_and_its_credentials_go(user, server, server_process):
    described_library(user, 3450)
    wrong = "pck_" + "x" * 43
    done = settled(user, start(user, server_process, type("Wrong", (), {"key": wrong}))["id"])
    assert done["state"] == "failed" and done["error"].startswith(f"phonecloud at {server_process.url}: "), done
    assert wrong not in json.dumps(done)
    with server.services.db.read() as session:
        assert session.get(LibraryMove, uuid.UUID(done["id"])).credentials is None


def test_deleting_the_account_stops_a_running_move(accounts, server, server_process, target_user):
    leaving = accounts.create(name="leaving-running")
    described_library(leaving, 3460)
    proxy = CountingProxy(int(server_process.url.rsplit(":", 1)[1]), hold_at=1)
    try:
        move = start(leaving, server_process, target_user, url=proxy.url)
        assert proxy.holding.wait(60)  # running, its first request stalled
        delete_account_and_wait(server, leaving, move["id"])
        proxy.release()
        time.sleep(2)  # time for the job to go on, if it wrongly did
    finally:
        proxy.close()
    assert library_of(target_user) == {}  # nothing of a deleted account went out after it was deleted


@pytest.mark.parametrize("fields, field", [
    ({"target": "dropbox", "url": "https://example.org"}, "target"),
    ({"target": "phonecloud", "url": "ftp://example.org", "key": "k"}, "url"),
    ({"target": "phonecloud", "url": "https://user:secret@example.org", "key": "k"}, "url"),
    ({"target": "immich", "url": "https://example.org"}, "key"),
    ({"target": "webdav", "url": "https://example.org/dav"}, "path"),
    ({"target": "s3", "url": "https://s3.example.org", "path": "bucket", "access_key": "a"}, "secret_key"),
    ({"target": "phonecloud", "url": "https://example.org", "key": "k\x00"}, "key"),
    ({"target": "phonecloud", "url": "http://example.org:99999", "key": "k"}, "url"),
    ({"target": "phonecloud", "url": "http://[::1", "key": "k"}, "url"),
    ({"target": "phonecloud", "url": "http://exa\tmple.org", "key": "k"}, "url"),
    ({"target": "phonecloud", "url": "http://faß.example/", "key": "k"}, "url"),
    ({"target": "webdav", "url": "https://example.org/dav", "path": "p", "password": "a\nb"}, "password"),
    ({"target": "s3", "url": "https://s3.example.org", "path": "/", "access_key": "a", "secret_key": "b"}, "path"),
])
def test_a_target_that_is_not_right_is_refused_naming_its_field_and_nothing_is_queued(user, fields, field):
    answer = user.http.post("/moves", json=fields)
    assert answer.status_code in (400, 422), answer.text
    assert field in json.dumps(answer.json())
    assert user.http.get("/moves").json() == []


def test_a_server_sends_moves_to_public_addresses_only_unless_its_operator_allows_its_own_networks(tmp_path):
    from conftest import serving

    with serving(tmp_path / "data", in_process=True) as (server, accounts):
        user = accounts.create()
        for url in ("http://127.0.0.1:8000", "http://10.1.2.3", "http://[::1]:80", "http://localhost:9",
                    "http://[::ffff:127.0.0.1]", "http://[64:ff9b::a00:1]", "http://[2002:a00:1::1]"):
            answer = user.http.post("/moves", json={"target": "phonecloud", "url": url, "key": "k"})
            assert answer.status_code == 400 and "private network" in answer.json()["message"], (url, answer.text)
        unknown = user.http.post("/moves", json={"target": "immich", "url": "http://no-such-host.invalid", "key": "k"})
        assert unknown.status_code == 400 and "not a name this server can find" in unknown.json()["message"]


def test_one_user_cannot_see_pause_resume_or_delete_another_users_move(user, other_user, server_process,
                                                                       target_user):
    paused = pause_embedded_workers()
    try:
        move = start(user, server_process, target_user)
        for method, path in (("GET", f"/moves/{move['id']}"), ("POST", f"/moves/{move['id']}/pause"),
                             ("POST", f"/moves/{move['id']}/resume"), ("DELETE", f"/moves/{move['id']}")):
            answer = other_user.http.request(method, path)
            assert answer.status_code == 404, (method, path, answer.text)
        assert other_user.http.get("/moves").json() == []
        assert user.http.post(f"/moves/{move['id']}/pause").json()["state"] == "paused"
        assert user.http.delete(f"/moves/{move['id']}").status_code == 204
        assert user.http.get("/moves").json() == []
    finally:
        for pool in paused:
            pool.start()


def test_deleting_an_account_takes_its_moves_and_their_credentials(accounts, server, server_process, target_user):
    leaving = accounts.create(name="leaving")
    paused = pause_embedded_workers()
    try:
        move = start(leaving, server_process, target_user)
        leaving.http.post(f"/moves/{move['id']}/pause")
    finally:
        for pool in paused:
            pool.start()
    delete_account_and_wait(server, leaving, move["id"])


def test_a_move_to_a_webdav_server_lays_out_the_library_by_album_and_year_with_dates(user, tmp_path):
    made = described_library(user, 3500)
    (tmp_path / "dav").mkdir()
    with webdav(tmp_path / "dav") as remote:
        url = remote.split("url='")[1].split("'")[0]
        answer = user.http.post("/moves", json={"target": "webdav", "url": url, "vendor": "rclone", "path": "photos"})
        assert answer.status_code == 201, answer.text
        assert answer.json()["label"] == f"WebDAV at {url}/photos"
        done = settled(user, answer.json()["id"])
        assert done["state"] == "done", done
        assert done["report"]["verified_by"] == {"size+date": 4}
        check_remote_layout(remote, made, user)


def test_a_move_to_an_s3_bucket_is_checked_by_md5(user):
    made = described_library(user, 3600)
    s3 = S3Server().start()
    try:
        answer = user.http.post("/moves", json={"target": "s3", "url": s3.endpoint, "access_key": ACCESS_KEY,
                                                "secret_key": SECRET_KEY, "path": f"{BUCKET}/moved"})
        assert answer.status_code == 201, answer.text
        done = settled(user, answer.json()["id"])
        assert done["state"] == "done", done
        assert done["report"]["verified_by"] == {"md5": 4}
        remote = (f":s3,provider=Rclone,endpoint='{s3.endpoint}',access_key_id={ACCESS_KEY},"
                  f"secret_access_key={SECRET_KEY}:{BUCKET}/moved")
        check_remote_layout(remote, made, user)
    finally:
        s3.stop()


def test_messages_calls_and_contacts_go_to_another_phonecloud_too_and_only_once(user, server_process,
                                                                               target_user):
    assert upload(user, jpeg(3700), filename="IMG_7.jpg").status_code == 201
    imported(user, sbr_messages_xml(MESSAGES[:3]))
    answer = user.http.post("/contacts/imports", content=plain_30(), headers={"Content-Type": "text/vcard"})
    assert answer.status_code in (200, 201), answer.text
    done = settled(user, start(user, server_process, target_user)["id"])
    assert done["state"] == "done" and done["report"]["failures"] == [], done
    kinds, usage = done["report"]["kinds"], user.http.get("/me").json()["usage"]
    cards = usage["contacts"]["items"]
    assert kinds["contacts"] == {"imported": cards, "already_there": 0} and cards > 0
    assert kinds["messages"]["imported"] + kinds["calls"]["imported"] == usage["messages"]["items"] == 3
    moved = target_user.http.get("/me").json()["usage"]
    assert moved | {"gallery": None} == usage | {"gallery": None}

    again = settled(user, start(user, server_process, target_user)["id"])
    assert again["report"]["kinds"]["contacts"] == {"imported": 0, "already_there": cards}
    assert again["report"]["kinds"]["messages"]["imported"] == 0
    assert target_user.http.get("/me").json()["usage"] | {"gallery": None} == usage | {"gallery": None}


def test_two_moves_started_at_once_make_one(user, server_process, target_user):
    from concurrent.futures import ThreadPoolExecutor

    paused = pause_embedded_workers()
    try:
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: user.http.post("/moves", json={
                "target": "phonecloud", "url": server_process.url, "key": target_user.key}), range(4)))
        assert sorted(answer.status_code for answer in answers) == [201, 409, 409, 409]
        [move] = user.http.get("/moves").json()
        assert user.http.post(f"/moves/{move['id']}/pause").json()["state"] == "paused"
    finally:
        for pool in paused:
            pool.start()


def test_a_move_whose_job_was_given_up_can_be_forgotten(user, server, server_process, target_user):
    from phonecloud.jobs.models import Job

    paused = pause_embedded_workers()
    try:
        move = start(user, server_process, target_user)
        with server.services.db.write() as session:  # as a job given up by its last worker leaves it
            session.query(Job).filter(Job.subject == f"move:{move['id']}").update({"status": "failed"})
            session.get(LibraryMove, uuid.UUID(move["id"])).state = "running"
        assert user.http.delete(f"/moves/{move['id']}").status_code == 204
        assert user.http.get("/moves").json() == []
    finally:
        for pool in paused:
            pool.start()

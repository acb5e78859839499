"""Google Takeout imported on the server: zip parts uploaded (plain or over tus, destination `takeout`), one
import of all of them read in place by a job, with the same matching as the client's; the report names what was
imported, matched and skipped; parts are charged until the import is done; hostile parts are refused or fail the
import with their reason, and nothing else changes; one user cannot use or see another's parts and imports; the
administrator imports a Takeout lying on the server's disk."""

from __future__ import annotations

import base64
import io
import time
import zipfile

import httpx
import pytest

from cli_runner import phonecloud
from media.test_media_pipeline import wait_ready
from media_fixtures import jpeg, mp4
from takeout_fixtures import SKIPS, build_takeout, by_sha1, check_library, sidecar

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)

TUS = {"Tus-Resumable": "1.0.0"}


def upload_part(user, data: bytes, filename: str = "takeout-001.zip"):
    return user.http.post("/takeout/parts", params={"filename": filename}, content=data,
                          headers={"Content-Type": "application/octet-stream"})


def upload_part_resumably(user, data: bytes, filename: str, piece: int = 64 << 10) -> str:
    metadata = ",".join(f"{key} {base64.b64encode(value.encode()).decode()}"
                        for key, value in (("filename", filename), ("destination", "takeout")))
    created = user.http.post("/uploads/", headers={**TUS, "Upload-Length": str(len(data)), "Upload-Metadata": metadata})
    assert created.status_code == 201, created.text
    for offset in range(0, len(data), piece):
        sent = user.http.patch(created.headers["location"], content=data[offset:offset + piece], headers={
            **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
        assert sent.status_code == 204, sent.text
    return sent.headers["phonecloud-asset-id"]


def finished(user, import_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while not (found := user.http.get(f"/takeout/imports/{import_id}").json())["finished"]:
        assert time.monotonic() < deadline, found
        time.sleep(0.05)
    return found


def imported(user, part_ids: list[str]) -> dict:
    started = user.http.post("/takeout/imports", json={"parts": part_ids})
    assert started.status_code == 201, started.text
    assert started.json()["state"] == "queued" and not started.json()["finished"]
    return finished(user, started.json()["id"])


def used_bytes(user) -> int:
    return user.http.get("/me").json()["used_bytes"]


def test_an_uploaded_two_part_takeout_imports_once_with_dates_albums_flags_and_a_report(accounts, tmp_path):
    takeout = build_takeout(tmp_path)
    user = accounts.create(name="takeout-job")
    first, second = (part.read_bytes() for part in takeout["parts"])
    part_ids = [upload_part(user, first, takeout["parts"][0].name).json()["id"],
                upload_part_resumably(user, second, takeout["parts"][1].name)]
    parts = user.http.get("/takeout/parts").json()
    assert sorted(part["id"] for part in parts) == sorted(part_ids)
    assert used_bytes(user) == len(first) + len(second)  # waiting parts are charged

    done = imported(user, part_ids)
    assert done["state"] == "done" and done["error"] is None, done
    bodies = takeout["bodies"]
    report = done["report"]
    assert (report["uploaded"], report["failed"], report["skipped"]) == (len(bodies), 0, 2), report
    assert (report["matched"], report["albums"], report["described"]) == (len(bodies) - 2, 1, 4), report
    reasons = {f"{failure['path']}: {failure['reason']}" for failure in report["failures"]}
    assert all(any(skip in reason for reason in reasons) for skip in SKIPS), reasons
    assert done["progress"]["files_done"] == done["progress"]["files_total"] == len(bodies)
    assert done["progress"]["bytes_done"] == done["progress"]["bytes_total"] > 0
    kept = check_library(user, takeout)
    assert user.http.get("/takeout/parts").json() == []  # read: their bytes went, and their charge
    assert used_bytes(user) == sum(item["size_bytes"] for item in kept.values())

    again = imported(user, [upload_part(user, first).json()["id"], upload_part(user, second).json()["id"]])
    assert (again["report"]["uploaded"], again["report"]["duplicates"]) == (0, len(bodies)), again["report"]
    assert by_sha1(user).keys() == kept.keys()
    assert [album["title"] for album in user.http.get("/albums").json()] == ["Summer holiday 2019"]
    listed = user.http.get("/takeout/imports").json()
    assert [found["id"] for found in listed] == [again["id"], done["id"]]  # newest first


def test_what_is_not_a_zip_is_refused_before_it_is_stored(accounts):
    user = accounts.create(name="takeout-not-zip")
    refused = upload_part(user, jpeg(9100), "photo.jpg")
    assert refused.status_code == 415 and "not a zip archive" in refused.json()["message"], refused.text
    assert user.http.get("/takeout/parts").json() == [] and used_bytes(user) == 0


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _overlapping_zip() -> bytes:
    """Two central directory entries that point at the same local entry: a zip bomb's trick."""
    data = bytearray(_zip({"Takeout/Google Photos/Photos from 2019/a.jpg": jpeg(9101),
                           "Takeout/Google Photos/Photos from 2019/b.jpg": jpeg(9102)}))
    directory = data.index(b"PK\x01\x02")
    second = data.index(b"PK\x01\x02", directory + 4)
    data[second + 42:second + 46] = data[directory + 42:directory + 46]  # b's local header offset := a's
    return bytes(data)


def test_hostile_parts_fail_the_import_or_are_skipped_with_their_reason_and_nothing_else_changes(accounts, tmp_path):
    user = accounts.create(name="takeout-hostile")
    upload_part(user, _zip({"Takeout/Google Photos/Photos from 2019/safe.jpg": jpeg(9103)}))
    before = by_sha1(user)

    bomb = upload_part(user, _overlapping_zip(), "bomb.zip").json()["id"]
    failed = imported(user, [bomb])
    assert failed["state"] == "failed" and "overlap" in failed["error"] and failed["parts_kept"], failed
    assert by_sha1(user) == before
    retried = user.http.post(f"/takeout/imports/{failed['id']}/retry")
    assert retried.status_code == 200 and finished(user, failed["id"])["state"] == "failed"
    charged = used_bytes(user)
    assert user.http.delete(f"/takeout/imports/{failed['id']}").status_code == 204
    assert used_bytes(user) < charged  # the kept part's charge went with it

    slip = upload_part(user, _zip({"../../outside.jpg": jpeg(9104), "Takeout/Google Photos/x.jpg.json": b"[]",
                                   "Takeout/Google Photos/Photos from 2019/ok.jpg": jpeg(9105),
                                   "Takeout/Google Photos/Photos from 2019/empty.jpg": b""}), "slip.zip")
    done = imported(user, [slip.json()["id"]])
    assert done["state"] == "done" and done["report"]["uploaded"] == 1, done
    assert any("../../outside.jpg" in failure["path"] and "skipped" in failure["reason"]
               for failure in done["report"]["failures"]), done["report"]
    assert any(failure["path"].endswith("empty.jpg") and "empty file" in failure["reason"]
               for failure in done["report"]["failures"]), done["report"]
    assert not (tmp_path.parent / "outside.jpg").exists()


def test_one_users_parts_and_imports_are_not_anothers(accounts):
    owner, intruder = accounts.create(name="takeout-owner"), accounts.create(name="takeout-intruder")
    part = upload_part(owner, _zip({"Takeout/Google Photos/Photos from 2019/secret.jpg": jpeg(9106)})).json()["id"]
    taken = intruder.http.post("/takeout/imports", json={"parts": [part]})
    assert taken.status_code == 404 and part in taken.json()["message"], taken.text
    assert intruder.http.get("/takeout/parts").json() == []
    assert intruder.http.delete(f"/takeout/parts/{part}").status_code == 404
    done = imported(owner, [part])
    assert intruder.http.get(f"/takeout/imports/{done['id']}").status_code == 404
    assert intruder.http.get("/takeout/imports").json() == []
    assert intruder.http.get("/assets").json()["items"] == []
    twice = owner.http.post("/takeout/imports", json={"parts": [part]})
    assert twice.status_code == 409 and done["id"] in twice.json()["message"]  # a part is read by one import


def test_a_free_part_is_deleted_with_its_charge_and_one_taken_is_not(accounts):
    user = accounts.create(name="takeout-delete")
    part = upload_part(user, _zip({"Takeout/Google Photos/Photos from 2019/d.jpg": jpeg(9107)})).json()["id"]
    assert used_bytes(user) > 0
    assert user.http.delete(f"/takeout/parts/{part}").status_code == 204
    assert used_bytes(user) == 0 and user.http.get("/takeout/parts").json() == []
    empty = user.http.post("/takeout/imports", json={"parts": []})
    assert empty.status_code in (400, 422) and "parts" in empty.text


def test_the_administrator_imports_a_takeout_from_the_servers_disk(server, accounts, tmp_path):
    user = accounts.create(name="takeout-admin")
    built = build_takeout(tmp_path)
    parts = built["parts"]
    run = phonecloud(server.env, "admin", "import-takeout", user.email, *map(str, parts), "--json")
    assert run.returncode == 0, run.stderr
    done = run.summary
    assert done["state"] == "done" and done["report"]["uploaded"] == len(built["bodies"])
    assert all(part.exists() for part in parts)  # read in place, never moved or deleted
    assert [found["id"] for found in user.http.get("/takeout/imports").json()] == [done["id"]]
    assert used_bytes(user) == sum(item["size_bytes"] for item in by_sha1(user).values())

    relative = phonecloud(server.env, "admin", "import-takeout", user.email, "takeout.zip")
    assert relative.returncode == 1 and "absolute path" in relative.stderr, relative.stderr


def test_deleting_the_account_removes_its_parts_and_imports_with_a_clean_receipt(server, accounts):
    user = accounts.create(name="takeout-leaving")
    free = upload_part(user, _zip({"Takeout/Google Photos/Photos from 2019/f.jpg": jpeg(9108)})).json()
    failed = imported(user, [upload_part(user, _overlapping_zip(), "bomb.zip").json()["id"]])
    assert failed["parts_kept"]
    started = user.http.request("DELETE", "/me", json={"password": user.password})
    assert started.status_code == 202, started.text
    deadline, anyone = time.monotonic() + 120, server.client(base="")
    while (receipt := anyone.get(httpx.URL(started.json()["receipt_url"]).path).json())["state"] != "done":
        assert time.monotonic() < deadline, receipt
        time.sleep(0.1)
    anyone.close()
    assert receipt["final_scan"]["clean"], receipt
    assert receipt["removed"]["gallery"]["blobs"] == 2  # the free part and the failed import's
    assert receipt["removed"]["gallery"]["bytes"] >= free["size_bytes"]


def test_a_live_photos_video_takes_its_stills_sidecar_keeps_its_name_and_is_paired(accounts):
    user = accounts.create(name="takeout-live")
    year = "Takeout/Google Photos/Photos from 2021"
    part = upload_part(user, _zip({
        f"{year}/IMG_0900.JPG": jpeg(9109), f"{year}/IMG_0900.MOV": mp4(frames=20),
        f"{year}/IMG_0900.JPG.supplemental-metadata.json": sidecar("IMG_0900.JPG", "2021-05-01T08:00:00+00:00",
                                                                   favorited=True)})).json()["id"]
    done = imported(user, [part])
    assert (done["report"]["uploaded"], done["report"]["matched"]) == (2, 2), done["report"]
    kept = {item["original_filename"]: item for item in user.http.get("/assets").json()["items"]}
    assert set(kept) == {"IMG_0900.JPG", "IMG_0900.MOV"}  # the video under its own name, not the still's
    assert {item["file_modified_at"] for item in kept.values()} == {"2021-05-01T08:00:00Z"}
    assert all(item["is_favorite"] for item in kept.values())
    still, clip = wait_ready(user, kept["IMG_0900.JPG"]["id"]), wait_ready(user, kept["IMG_0900.MOV"]["id"])
    assert (still["live_photo_pair_id"], clip["live_photo_pair_id"]) == (kept["IMG_0900.MOV"]["id"],
                                                                        kept["IMG_0900.JPG"]["id"])

"""Messages in what concerns a whole account, in process: the full export ("Download all") gains a Messages
folder with both apps' files and a page to read them, which import again as nothing new; deleting the
account removes every row and blob of messages (the receipt counts them); the recovery, scrub and storage
hooks see the kind's blobs."""

from __future__ import annotations

import io
import uuid

import pytest

from messages.backup_files import CALLS, LARGE_PHOTO, SMALL_PHOTO, sbr_calls_xml, sbr_messages_xml
from messages.server_helpers import imported
from route_table import full_export
from phonecloud.accounts.deletion import receipt_json
from phonecloud.messages import blobs as message_blobs
from phonecloud.messages.formats import sms_backup_restore, sms_ie
from phonecloud.messages.kind import NAME

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)

SBR = sbr_messages_xml()


def _user_id(accounts, user) -> int:
    return accounts.services.accounts.user_by_email(user.email).id


def test_download_all_has_a_messages_folder_with_both_apps_files(user):
    imported(user, SBR)
    imported(user, sbr_calls_xml(), "calls.xml")
    files = full_export(user)
    messages = {path: data for path, data in files.items() if path.startswith("Takeout/Messages/")}
    folders = sorted({path.rsplit("/", 1)[0] for path in messages})
    assert folders == ["Takeout/Messages", "Takeout/Messages/SMS Backup & Restore", "Takeout/Messages/SMS Import Export"]
    by_name = {path.rsplit("/", 1)[1].split("-")[0]: data for path, data in messages.items()}
    sbr_file = next(data for path, data in messages.items() if path.endswith(".xml") and "/sms-" in path)
    assert list(sms_backup_restore.read_messages(io.BytesIO(sbr_file))) == list(
        sms_backup_restore.read_messages(io.BytesIO(SBR)))
    archive = next(data for path, data in messages.items() if path.endswith(".zip"))
    assert len(list(sms_ie.read_messages(io.BytesIO(archive)))) == 7
    calls_json = next(data for path, data in messages.items() if path.endswith(".json"))
    assert len(list(sms_ie.read_calls(io.BytesIO(calls_json)))) == len(CALLS)
    page = by_name["messages.html"].decode()
    assert "Anna Schmidt" in page and "Grüße vom Strand" in page and "IMG_20231114.jpg" in page
    assert imported(user, sbr_file)["duplicates"] == 7  # the exported file imports as nothing new
    assert any(path.startswith("Takeout/Messages/") for path in files["Takeout/manifest.json"].decode().split('"'))


def test_an_export_of_a_user_without_messages_has_no_messages_folder(user):
    assert not any(path.startswith("Takeout/Messages") for path in full_export(user))


def test_deleting_the_account_removes_every_message_row_and_blob(server, accounts):
    leaving = accounts.create(name="leaving")
    imported(leaving, SBR)
    imported(leaving, sbr_calls_xml(), "calls.xml")
    cut = SBR[:len(SBR) // 2]
    failed = imported(leaving, cut, "sms-cut.xml")
    assert failed["state"] == "failed" and failed["file_kept"]
    full_export(leaving)  # its Messages files are blobs of the kind
    user_id = _user_id(accounts, leaving)
    services = accounts.services
    prefix = f"users/{user_id}/messages/"
    assert len(list(services.blobs.iterate(prefix))) == 2 + 1 + 5  # photos, the kept file, the export's files

    started = leaving.http.request("DELETE", "/me", json={"password": leaving.password})
    assert started.status_code == 202, started.text
    deletion = services.deletions.run_here(services.deletions.receipt(uuid.UUID(started.json()["id"])))
    receipt = receipt_json(deletion)
    removed = receipt["removed"][NAME]
    assert removed["items"] == 7 + len(CALLS)
    assert removed["blobs"] == 8
    assert removed["bytes"] >= len(SMALL_PHOTO) + len(LARGE_PHOTO) + len(cut)
    assert receipt["final_scan"] == {"blobs_under_prefix": 0, "rows_left": {}, "clean": True}
    assert list(services.blobs.iterate(f"users/{user_id}/")) == []
    with services.db.read() as session:
        assert services.kind(NAME).rows_left(session, user_id) == 0


def test_recovery_scrub_storage_moves_and_the_quota_know_the_kinds_blobs(user, accounts):
    imported(user, SBR)
    failed = imported(user, SBR[:len(SBR) // 2], "sms-cut.xml")
    services = accounts.services
    kind = services.kind(NAME)
    user_id = _user_id(accounts, user)
    keys = list(services.blobs.iterate(f"users/{user_id}/messages/"))
    stray = f"users/{user_id}/messages/attachments/ab/{'ab' * 20}.0000"
    services.blobs.put(stray, [b"left by a crash"])
    with services.db.read() as session:
        assert [orphan.key for orphan in kind.orphans(session, keys + [stray])] == [stray]
        referenced = {key for key in kind.referenced_keys(session) if key.startswith(f"users/{user_id}/")}
        items, size = kind.scrub_totals(session)
        page = kind.scrub_page(session, None, False)
    assert referenced == set(keys)
    attachment_keys = [key for key in keys if "/attachments/" in key]
    assert all(kind.content_sha1(key) == key.rsplit("/", 1)[1].split(".")[0] for key in attachment_keys)
    assert kind.content_sha1(f"users/{user_id}/messages/imports/{failed['id']}") is None
    assert items >= 3 and size >= len(SMALL_PHOTO) + len(LARGE_PHOTO) + failed["size"]
    assert {check.name for item in page for check in item.blobs} <= {"attachment", "backup file"}
    services.blobs.delete(stray)
    assert message_blobs.import_key(user_id, failed["id"]) in keys
    # What the kind reports as charged is what the quota ledger charged: the repair finds nothing to set right.
    assert [repair for repair in services.quota.repair() if repair.user_id == user_id] == []
    assert user.http.get("/me").json()["used_bytes"] == len(SMALL_PHOTO) + len(LARGE_PHOTO) + failed["size"]

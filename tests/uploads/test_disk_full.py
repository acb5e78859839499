"""A full disk on the server is the server's problem, not the client's: an upload whose bytes cannot be
committed (ENOSPC, EDQUOT) is answered 507 with a JSON message, for every destination and both ways in.
A plain upload keeps nothing of it, lists and charges nothing, and goes through when sent again once there
is room. A resumable (tus) upload keeps its bytes staged and reserved: once there is room, HEAD finishes it
without sending a byte again."""

from __future__ import annotations

import base64
import errno

import pytest
from conftest import upload
from media_fixtures import jpeg
from messages.backup_files import sbr_messages_xml
from messages.server_helpers import TUS, finished, upload_backup

from phonecloud.uploads.staged import StagedUpload

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)


@pytest.fixture
def disk_full(monkeypatch):
    def no_space(self, key):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(StagedUpload, "commit", no_space)
    return monkeypatch


def _is_insufficient_storage(answer) -> None:
    assert answer.status_code == 507, answer.text
    assert answer.json()["error"] == "insufficient_storage"
    assert "storage is full" in answer.json()["message"]


def _nothing_kept(user) -> None:
    assert user.http.get("/assets").json()["items"] == []
    assert user.http.get("/messages/imports").json()["items"] == []
    assert user.http.get("/me").json()["used_bytes"] == 0


@pytest.mark.parametrize(("send", "body"), [(upload, jpeg()), (upload_backup, sbr_messages_xml())],
                         ids=["photo", "messages-backup"])
def test_a_plain_upload_on_a_full_disk_is_a_507_keeps_nothing_and_goes_through_later(accounts, disk_full, send, body):
    user = accounts.create()
    _is_insufficient_storage(send(user, body))
    _nothing_kept(user)
    disk_full.undo()
    answer = send(user, body)
    assert answer.status_code == 201, answer.text


def test_a_resumable_upload_on_a_full_disk_is_a_507_and_finishes_once_there_is_room(accounts, disk_full):
    user = accounts.create()
    backup = sbr_messages_xml()
    metadata = f"filename {base64.b64encode(b'sms.xml').decode()},destination {base64.b64encode(b'messages').decode()}"
    created = user.http.post("/uploads/", headers={**TUS, "Upload-Length": str(len(backup)), "Upload-Metadata": metadata})
    location = created.headers["location"]
    _is_insufficient_storage(user.http.patch(location, content=backup, headers={
        **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}))
    assert user.http.get("/messages/imports").json()["items"] == []
    assert user.http.get("/me").json()["used_bytes"] == len(backup)  # staged and reserved, not lost
    disk_full.undo()
    head = user.http.head(location, headers=TUS)
    assert head.status_code == 200 and head.headers["upload-offset"] == str(len(backup))
    assert finished(user, head.headers["phonecloud-asset-id"])["state"] == "done"

"""Putting backup files into a test server and reading what it made of them, as a client would: the plain
upload and tus (destination `messages`), then the import's progress until it is finished."""

from __future__ import annotations

import base64
import io
import time
import zipfile

from conftest import User

TUS = {"Tus-Resumable": "1.0.0"}
EXPORTS = {"sms-backup-restore": ("messages.xml", "calls.xml"), "sms-ie": ("messages.zip", "calls.json")}


def upload_backup(user: User, data: bytes, filename: str = "sms.xml"):
    """A plain upload (POST /messages/imports): the answer."""
    return user.http.post("/messages/imports", params={"filename": filename}, content=data,
                          headers={"Content-Type": "application/octet-stream"})


def upload_backup_resumably(user: User, data: bytes, filename: str = "sms.xml", piece: int = 1 << 20) -> str:
    """A tus upload into the messages destination, in pieces; the import's id (Phonecloud-Asset-Id)."""
    metadata = ",".join(f"{key} {base64.b64encode(value.encode()).decode()}"
                        for key, value in (("filename", filename), ("destination", "messages")))
    created = user.http.post("/uploads/", headers={**TUS, "Upload-Length": str(len(data)), "Upload-Metadata": metadata})
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    for offset in range(0, len(data), piece):
        sent = user.http.patch(location, content=data[offset:offset + piece], headers={
            **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
        assert sent.status_code == 204, sent.text
    return sent.headers["phonecloud-asset-id"]


def finished(user: User, import_id: str, timeout: float = 120) -> dict:
    """The import once it is done or failed."""
    deadline = time.monotonic() + timeout
    while not (found := user.http.get(f"/messages/imports/{import_id}").json())["finished"]:
        assert time.monotonic() < deadline, found
        time.sleep(0.05)
    return found


def imported(user: User, data: bytes, filename: str = "sms.xml") -> dict:
    """Upload a backup file and wait for its import's result."""
    answer = upload_backup(user, data, filename)
    assert answer.status_code == 201, answer.text
    return finished(user, answer.json()["id"])


def every(user: User, path: str, **params) -> list[dict]:
    """Every item of a cursor-paginated listing, page after page."""
    items, cursor = [], None
    while True:
        page = user.http.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            return items


def exported(user: User, app: str) -> tuple[bytes, bytes]:
    """(messages file, calls file) of the user's export in an app's format."""
    files = []
    for name in EXPORTS[app]:
        answer = user.http.get(f"/messages/export/{app}/{name}")
        assert answer.status_code == 200, answer.text
        files.append(answer.content)
    return files[0], files[1]


def zip_names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()

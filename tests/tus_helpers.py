"""Speaking tus to the test server by hand, for the resumable-upload tests."""

from __future__ import annotations

import base64
import hashlib
import os

import httpx

from conftest import User
from media_fixtures import jpeg

TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_TYPE = {"Content-Type": "application/offset+octet-stream"}


def photo(size: int, seed: int = 0) -> bytes:
    """A JPEG padded with random bytes to `size`: any size, still a photo, distinct every call."""
    head = jpeg(seed)
    return head + os.urandom(size - len(head))


def metadata(**values: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


def create(user: User, length: int, body: bytes | None = None, **headers: str) -> httpx.Response:
    sent = {**TUS, "Upload-Length": str(length), **headers}
    if body is not None:
        sent.update(OFFSET_TYPE)
    return user.http.post("/uploads/", headers=sent, content=body)


def created_url(user: User, length: int, **meta: str) -> str:
    response = create(user, length, **({"Upload-Metadata": metadata(**meta)} if meta else {}))
    assert response.status_code == 201, response.text
    return response.headers["location"]


def patch(user: User, url: str, offset: int, body, **headers: str) -> httpx.Response:
    return user.http.patch(url, headers={**TUS, **OFFSET_TYPE, "Upload-Offset": str(offset), **headers},
                           content=body)


def head(user: User, url: str) -> httpx.Response:
    return user.http.head(url, headers=TUS)


def sha1_checksum(data: bytes) -> str:
    return "sha1 " + base64.b64encode(hashlib.sha1(data).digest()).decode()


def used_bytes(user: User) -> int:
    return user.http.get("/me").json()["used_bytes"]


def staged_uploads(server) -> list[str]:
    folder = server.blob_root / ".resumable"
    return sorted(os.listdir(folder)) if folder.is_dir() else []

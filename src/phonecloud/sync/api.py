"""The client's view of the server's HTTP API, with retries of transient failures."""

from __future__ import annotations

import base64
import datetime as dt
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from phonecloud import __version__
from phonecloud.core.dates import from_nanoseconds, storable_nanoseconds
from phonecloud.sync.config import Connection
from phonecloud.sync.scan import readable

READ_CHUNK = 1 << 20
_TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


class ServerError(Exception):
    """The server refused a request; message is its own explanation."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code


class FileChanged(Exception):
    """The file changed on disk after it was hashed."""


@dataclass(frozen=True)
class Uploaded:
    asset_id: str
    duplicate: bool


@dataclass(frozen=True)
class TusProgress:
    offset: int
    asset_id: str | None  # set once the upload became an asset
    duplicate: bool


_TUS = {"Tus-Resumable": "1.0.0"}


def _progress(response: httpx.Response) -> TusProgress:
    return TusProgress(int(response.headers["upload-offset"]), response.headers.get("phonecloud-asset-id"),
                       response.headers.get("phonecloud-duplicate") == "true")


def _error_of(response: httpx.Response) -> ServerError:
    try:
        body = response.json()
        code, message = body.get("error", "error"), body.get("message", response.text)
    except ValueError:
        code, message = "error", f"HTTP {response.status_code}: {response.text[:200]}"
    if response.status_code == 401:
        message = (f"{response.url.scheme}://{response.url.netloc.decode()} refused the API key ({message}); "
                   "check it, or make a new one with `phonecloud admin create-key`")
    return ServerError(response.status_code, code, message)


class Api:
    def __init__(self, connection: Connection, transfers: int = 4, retries: int = 5, backoff: float = 0.5):
        self.retries = retries
        self.backoff = backoff
        self._http = httpx.Client(
            base_url=f"{connection.server}/api/v1",
            headers={"Authorization": f"Bearer {connection.key}", "User-Agent": f"phonecloud-sync/{__version__}"},
            timeout=httpx.Timeout(60.0, connect=15.0),
            limits=httpx.Limits(max_connections=transfers + 2, max_keepalive_connections=transfers + 2),
        )

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, url: str, make_content: Callable[[], object] | None = None, **kwargs):
        """Send, retrying network errors and transient answers with exponential backoff and jitter."""
        for attempt in range(self.retries + 1):
            try:
                if make_content is not None:
                    kwargs["content"] = make_content()
                response = self._http.request(method, url, **kwargs)
            except httpx.TransportError as error:
                if attempt == self.retries or isinstance(error, httpx.UnsupportedProtocol):  # a bad URL stays bad
                    raise ServerError(0, "network", f"network error: {error}") from error
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in _TRANSIENT_STATUS or attempt == self.retries:
                    raise _error_of(response)
            time.sleep(self.backoff * 2**attempt * (0.5 + random.random()))
        raise AssertionError("unreachable")

    def me(self) -> dict:
        return self._request("GET", "/me").json()

    def check(self, items: list[tuple[str, str]]) -> dict[str, str | None]:
        """client id → existing asset id (or None when the server does not have those bytes)."""
        # Positions go over the wire, not the client's ids: those are paths, which may be long or not UTF-8.
        body = {"items": [{"id": str(number), "sha1": sha1} for number, (_, sha1) in enumerate(items)]}
        results = self._request("POST", "/assets/check", json=body).json()["results"]
        return {items[int(result["id"])][0]: result["asset_id"] for result in results}

    def upload(self, path: Path, size: int, mtime_ns: int, sha1: str) -> Uploaded:
        modified = from_nanoseconds(mtime_ns)  # an mtime the server cannot take is sent as the nearest it can
        return self.upload_chunks(lambda: _file_chunks(path, size, mtime_ns), readable(path.name), modified, size, sha1)

    def upload_chunks(self, make_chunks: Callable[[], Iterator[bytes]], filename: str, modified: dt.datetime,
                      size: int, sha1: str) -> Uploaded:
        """Upload bytes from any source; make_chunks() is called again for each retry."""
        params = {"filename": filename, "modified_at": modified.isoformat(), "size": size, "sha1": sha1}
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        response = self._request("POST", "/assets", make_content=make_chunks,
                                 params=params, headers=headers, timeout=httpx.Timeout(300.0, connect=15.0))
        body = response.json()
        return Uploaded(body["id"], body["duplicate"])

    # -- resumable uploads (tus 1.0): the caller keeps the URL and resumes from the server's offset --------

    def tus_create(self, path: Path, size: int, mtime_ns: int, sha1: str) -> str:
        """A new resumable upload of the file on the server; its URL."""
        modified = from_nanoseconds(mtime_ns).isoformat()
        metadata = ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in
                            (("filename", readable(path.name)), ("modified_at", modified), ("sha1", sha1)))
        response = self._request("POST", "/uploads/", headers={
            **_TUS, "Upload-Length": str(size), "Upload-Metadata": metadata, "Content-Length": "0"})
        return response.headers["location"]

    def tus_status(self, url: str) -> TusProgress | None:
        """Where the upload stands on the server; None when it is gone (expired or terminated)."""
        try:
            return _progress(self._request("HEAD", url, headers=_TUS))
        except ServerError as error:
            if error.status in (404, 410):
                return None
            raise

    def tus_send(self, url: str, path: Path, size: int, mtime_ns: int, offset: int) -> TusProgress:
        """Send the rest of the file from `offset` in one streaming PATCH (the server makes it durable as it
        arrives, so an interruption costs only what was in flight); no retry here: the caller asks HEAD."""
        headers = {**_TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream",
                   "Content-Length": str(size - offset)}
        try:
            # tus's advice: 30-second-ish timeouts, a stalled connection is abandoned and resumed.
            response = self._http.request("PATCH", url, headers=headers, timeout=httpx.Timeout(60.0, connect=15.0),
                                          content=_file_chunks(path, size, mtime_ns, offset))
        except httpx.TransportError as error:
            raise ServerError(0, "network", f"network error: {error}") from error
        if response.status_code != 204:
            raise _error_of(response)
        return _progress(response)

    def albums(self) -> dict[str, str]:
        return {album["title"]: album["id"] for album in self._request("GET", "/albums").json()}

    def create_album(self, title: str, description: str = "") -> str:
        return self._request("POST", "/albums", json={"title": title, "description": description}).json()["id"]

    def add_to_album(self, album_id: str, asset_ids: list[str]) -> None:
        self._request("PUT", f"/albums/{album_id}/assets", json={"asset_ids": asset_ids})


def _file_chunks(path: Path, size: int, mtime_ns: int, start: int = 0) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        status = os.fstat(handle.fileno())
        if status.st_size != size or storable_nanoseconds(status.st_mtime_ns) != mtime_ns:
            raise FileChanged(f"{path} changed since it was read")
        handle.seek(start)
        while chunk := handle.read(READ_CHUNK):
            yield chunk

"""The client's one view of the server's HTTP API (httpx), for sync, export, pull and import-export: the
connection's URL and key, the User-Agent, timeouts, and the failure rules of errors.py for every request.
Download bodies go through bulk.py (stdlib http.client, with the same credentials and rules)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from phonecloud import __version__
from phonecloud.client.bulk import BulkGetter
from phonecloud.client.config import Connection
from phonecloud.client.errors import NO_STATUS, NetworkError, Retry, ServerError, network_error, refusal, shown
from phonecloud.client.sync.scan import file_chunks
from phonecloud.core.names import readable
from phonecloud.core.dates import from_nanoseconds

PAGE = 1000  # the largest page the library listings serve
# Tries after the first of a first contact that made no connection (refused, timed out): a server that is
# just starting is waited for a second or two, a wrong address is said at once.
FIRST_CONTACT_RETRIES = 2
_TUS = {"Tus-Resumable": "1.0.0"}


@dataclass(frozen=True)
class Uploaded:
    asset_id: str
    duplicate: bool


@dataclass(frozen=True)
class TusProgress:
    offset: int
    asset_id: str | None  # set once the upload became an asset
    duplicate: bool


def _progress(response: httpx.Response) -> TusProgress:
    return TusProgress(int(response.headers["upload-offset"]), response.headers.get("phonecloud-asset-id"),
                       response.headers.get("phonecloud-duplicate") == "true")


def _refusal(response: httpx.Response) -> ServerError:
    return refusal(response.status_code, response.read(), str(response.url))


class Api:
    def __init__(self, connection: Connection, transfers: int = 4, retries: int = 5, backoff: float = 0.5):
        self.connection, self.server = connection, connection.server
        self.retry = Retry(retries, backoff)
        self._http = httpx.Client(
            base_url=f"{connection.server}/api/v1",
            headers={"Authorization": f"Bearer {connection.key}", "User-Agent": f"phonecloud-sync/{__version__}"},
            timeout=httpx.Timeout(60.0, connect=15.0),
            limits=httpx.Limits(max_connections=transfers + 2, max_keepalive_connections=transfers + 2),
        )
        self._bulk: BulkGetter | None = None  # made at the first download: sync never needs it
        self._bulk_lock = threading.Lock()

    def close(self) -> None:
        try:
            if self._bulk is not None:
                self._bulk.close()
        finally:
            self._http.close()

    def _request(self, method: str, url: str, make_content: Callable[[], object] | None = None,
                 retry: Retry | None = None, **kwargs):
        """Send, trying again after network failures and transient answers (by `retry`, else the client's)."""
        fresh = (lambda: {"content": make_content()}) if make_content is not None else None
        return send_retrying(self._http, method, url, retry or self.retry, fresh, **kwargs)

    def me(self) -> dict:
        """The account; every command's first contact with the server, so its failures say what to fix: a
        server that cannot be reached is tried again only briefly (FIRST_CONTACT_RETRIES), and a URL that
        answers but not as phonecloud's API is named as such."""
        url = f"{self.server}/api/v1/me"
        try:
            response = self._request("GET", "/me", first_contact=True)
        except ServerError as error:
            if error.status == 404:
                raise ServerError(404, "not_phonecloud", _not_the_api(self.server, url, "HTTP 404")) from None
            raise
        try:
            me = response.json()
        except ValueError:
            me = None
        if not isinstance(me, dict) or "email" not in me:
            kind = response.headers.get("content-type", "").partition(";")[0] or "no content type"
            raise ServerError(NO_STATUS, "not_phonecloud", _not_the_api(self.server, url, f"an answer of {kind}"))
        return me

    # -- backing up --------------------------------------------------------------------------------------

    def check(self, items: list[tuple[str, str]]) -> dict[str, str | None]:
        """client id → existing asset id (or None when the server does not have those bytes)."""
        # Positions go over the wire, not the client's ids: those are paths, which may be long or not UTF-8.
        body = {"items": [{"id": str(number), "sha1": sha1} for number, (_, sha1) in enumerate(items)]}
        results = self._request("POST", "/assets/check", json=body).json()["results"]
        return {items[int(result["id"])][0]: result["asset_id"] for result in results}

    def upload(self, path: Path, size: int, mtime_ns: int, sha1: str) -> Uploaded:
        modified = from_nanoseconds(mtime_ns)  # an mtime the server cannot take is sent as the nearest it can
        return self.upload_chunks(lambda: file_chunks(path, size, mtime_ns), readable(path.name), modified, size, sha1)

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

    def tus_start(self, filename: str, modified: dt.datetime, size: int, sha1: str,
                  destination: str | None = None) -> str:
        """A new resumable upload on the server (into `destination`: the server's default, the gallery, when
        None) of bytes that need not be a file on disk (an entry of a zip part, say); its URL."""
        pairs = [("filename", filename), ("modified_at", modified.isoformat()), ("sha1", sha1)]
        if destination is not None:
            pairs.append(("destination", destination))
        metadata = ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in pairs)
        response = self._request("POST", "/uploads/", headers={
            **_TUS, "Upload-Length": str(size), "Upload-Metadata": metadata, "Content-Length": "0"})
        url = urljoin(f"{self.server}/api/v1/uploads/", response.headers.get("location", ""))
        # The upload's bytes and the key go only where the server is: a Location elsewhere is refused.
        if urlsplit(url)[:2] != urlsplit(self.server)[:2]:
            raise ServerError(NO_STATUS, "bad_location", f"{self.server} put the upload at {url[:200]}, another "
                                                         "server: refused")
        return url

    def tus_status(self, url: str, retry: Retry | None = None) -> TusProgress | None:
        """Where the upload stands on the server; None when it is gone (expired or terminated)."""
        try:
            return _progress(self._request("HEAD", url, headers=_TUS, retry=retry))
        except ServerError as error:
            if error.status in (404, 410):
                return None
            raise

    def tus_send_chunks(self, url: str, chunks: Iterator[bytes], size: int, offset: int) -> TusProgress:
        """Send the rest of the upload, `chunks` (its bytes from `offset` to `size`, from any source), in one
        streaming PATCH (the server makes it durable as it arrives, so an interruption costs only what was in
        flight); no retry here: the caller asks HEAD."""
        headers = {**_TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream",
                   "Content-Length": str(size - offset)}
        try:
            # tus's advice: 30-second-ish timeouts, a stalled connection is abandoned and resumed.
            response = self._http.request("PATCH", url, headers=headers, timeout=httpx.Timeout(60.0, connect=15.0),
                                          content=chunks)
        except httpx.TransportError as error:
            raise network_error(_url_of(error, url), error) from error
        if response.status_code != 204:
            raise _refusal(response)
        return _progress(response)

    # -- messages ----------------------------------------------------------------------------------------

    def message_import(self, import_id: str) -> dict:
        """A messages import: its progress, then its result."""
        return self._request("GET", f"/messages/imports/{import_id}").json()

    # -- albums, favourites, trash -----------------------------------------------------------------------

    def albums(self) -> dict[str, str]:
        """title → album id."""
        return {album["title"]: album["id"] for album in self.album_list()}

    def album_list(self) -> list[dict]:
        return self._request("GET", "/albums").json()

    def create_album(self, title: str, description: str = "", created_at: dt.datetime | None = None) -> str:
        """A new album; created_at restores when it was made (an import's)."""
        body = {"title": title, "description": description}
        if created_at is not None:
            body["created_at"] = created_at.isoformat()
        return self._request("POST", "/albums", json=body).json()["id"]

    def add_to_album(self, album_id: str, asset_ids: list[str]) -> None:
        self._request("PUT", f"/albums/{album_id}/assets", json={"asset_ids": asset_ids})

    def album_asset_ids(self, album_id: str) -> list[str]:
        return [item["id"] for item in self._pages(f"/albums/{album_id}/assets")]

    def favorite(self, asset_id: str) -> None:
        self._request("PUT", f"/assets/{asset_id}/favorite")

    def describe(self, asset_id: str, description: str | None, archived: bool | None, people: list[str] | None,
                 place: dict | None) -> None:
        """Set an asset's description, archived flag, people's names and place ({latitude, longitude,
        altitude}) as Google Photos had them (None: leave as it is)."""
        body = {key: value for key, value in (("description", description), ("is_archived", archived),
                                              ("people", people), ("place", place)) if value is not None}
        self._request("PATCH", f"/assets/{asset_id}", json=body)

    def trash(self, asset_id: str) -> None:
        self._request("POST", f"/assets/{asset_id}/trash")

    # -- the library and its exports ---------------------------------------------------------------------

    def _pages(self, path: str, **params) -> Iterator[dict]:
        cursor = None
        while True:
            query = {**params, "limit": PAGE, **({"cursor": cursor} if cursor else {})}
            page = self._request("GET", path, params=query).json()
            yield from page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return

    def assets(self) -> Iterator[dict]:
        """Every asset of the library (not the trash), newest first."""
        return self._pages("/assets")

    def trashed_assets(self) -> Iterator[dict]:
        """Every asset in the trash."""
        return self._pages("/assets", trashed="true")

    def asset(self, asset_id: str) -> dict:
        return self._request("GET", f"/assets/{asset_id}").json()

    def original_chunks(self, asset_id: str, sha1: str, offset: int = 0) -> Iterator[bytes]:
        """An original's bytes from `offset`, streamed as they arrive; only those bytes (If-Range with its
        SHA-1: a server holding other bytes under that id answers with an error rather than them)."""
        headers = {"Range": f"bytes={offset}-", "If-Range": f'"{sha1}"'} if offset else {}
        url = f"/assets/{asset_id}/original"
        try:
            with self._http.stream("GET", url, headers=headers) as response:
                if response.status_code >= 400:
                    raise _refusal(response)
                if response.status_code != (206 if offset else 200):
                    raise ServerError(NO_STATUS, "changed", f"the original of {asset_id} on {self.server} "
                                                            "changed since it was listed")
                yield from response.iter_raw(1 << 20)
        except httpx.TransportError as error:
            raise network_error(_url_of(error, url), error) from error

    def digests(self) -> dict[str, str]:
        """asset id → SHA-256, for the originals an export has hashed."""
        return {item["asset_id"]: item["sha256"] for item in self._pages("/export/digests")}

    def create_export(self) -> dict:
        return self._request("POST", "/export").json()

    def export(self, export_id: str) -> dict | None:
        """The export, or None when the server has no such export (any more)."""
        try:
            return self._request("GET", f"/export/{export_id}").json()
        except ServerError as error:
            if error.status == 404:
                return None
            raise

    def export_verified(self, export_id: str, manifest_sha256: str) -> dict:
        """Tell the server that every part was checked against this manifest."""
        return self._request("POST", f"/export/{export_id}/verified", json={"manifest_sha256": manifest_sha256}).json()

    def manifest(self, export_id: str) -> bytes:
        return self._request("GET", f"/export/{export_id}/manifest").content

    # -- download bodies (bulk.py): read by the caller into its own buffer, failures handled by it ---------

    def download(self, url: str, headers: dict[str, str]):
        """A GET whose body the caller reads (bulk.Answer.readinto); a broken connection raises NetworkError."""
        return self._bulk_getter().request("GET", url, headers)

    def download_originals(self, asset_ids: list[str]):
        """Several originals in one answer, one after another (read like download's)."""
        body = json.dumps({"asset_ids": asset_ids}).encode()
        return self._bulk_getter().request("POST", "/assets/originals", {"Content-Type": "application/json"}, body)

    def _bulk_getter(self) -> BulkGetter:
        with self._bulk_lock:
            if self._bulk is None:
                self._bulk = BulkGetter(str(self._http.base_url), {name: self._http.headers[name] for name in (
                    "authorization", "user-agent")}, timeout=60.0)
            return self._bulk


def send_retrying(http: httpx.Client, method: str, url: str, retry: Retry,
                  fresh: Callable[[], dict] | None = None, stop: Callable[[httpx.Response], None] | None = None,
                  first_contact: bool = False, **kwargs) -> httpx.Response:
    """Send with `http`, trying again after network failures and transient answers (errors.Retry); each try
    gets fresh()'s arguments, those a try uses up (a body being streamed, a token that may have been
    renewed). stop(answer) may raise at once for a refusal no wait can mend. A first contact with a server
    that cannot be reached at all (no connection made) is tried again only FIRST_CONTACT_RETRIES times, and
    not at all when its name cannot be looked up: most likely the URL is wrong, and the person is waiting.
    Later requests keep the whole policy (a server restarting in the middle of a backup is waited for)."""
    failures = 0
    while True:
        try:
            response = http.request(method, url, **kwargs, **(fresh() if fresh else {}))
        except httpx.TransportError as error:
            failure: ServerError = network_error(_url_of(error, url), error)
            cause: Exception | None = error
            if isinstance(error, httpx.UnsupportedProtocol):  # a bad URL stays bad
                raise failure from error
        else:
            if response.status_code < 400:
                return response
            if stop is not None:
                stop(response)
            failure, cause = _refusal(response), None
        failures += 1
        if not failure.transient or not retry.again(failures):
            raise failure from cause
        if first_contact and isinstance(failure, NetworkError) and failure.unconnected and (
                failure.reason == "dns" or failures > FIRST_CONTACT_RETRIES):
            raise failure from cause
        retry.pause(failures)


def _not_the_api(server: str, url: str, answer: str) -> str:
    """What to say when a server's URL answers /api/v1/me with something other than phonecloud's account."""
    base, marker, _ = server.partition("/api")
    if marker and base.count("/") >= 2:  # an API path was given: the base URL is what comes before it
        return (f"{shown(url)} is not phonecloud's API ({answer}): give the server's base URL, {shown(base)}, "
                "not the URL of its API")
    return (f"{shown(url)} is not phonecloud's API ({answer}): check that {shown(server)} is a phonecloud "
            "server's base URL (the address of its web app)")


def _url_of(error: httpx.TransportError, url: str) -> str:
    """The URL a failed request went to (httpx knows it whole; else the path the caller gave)."""
    try:
        return str(error.request.url)
    except RuntimeError:
        return url


"""The client's view of the export, library and import API: the sync client's Api plus what taking
everything out needs. Pure Python (httpx)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

from phonecloud.portability.bulk import BulkGetter
from phonecloud.sync.api import Api, ServerError
from phonecloud.sync.config import Connection

PAGE = 1000  # the largest page the library listings serve


class PortabilityApi(Api):
    def __init__(self, connection: Connection, transfers: int = 4, retries: int = 5, backoff: float = 0.5):
        super().__init__(connection, transfers, retries, backoff)
        self.server = connection.server
        self._bulk = BulkGetter(str(self._http.base_url), {name: self._http.headers[name] for name in (
            "authorization", "user-agent")}, timeout=60.0)

    def close(self) -> None:
        try:
            self._bulk.close()
        finally:
            super().close()

    # -- exports -----------------------------------------------------------------------------------------

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

    def manifest(self, export_id: str) -> bytes:
        return self._request("GET", f"/export/{export_id}/manifest").content

    # -- the library -------------------------------------------------------------------------------------

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

    def create_album(self, title: str, description: str = "", created_at: dt.datetime | None = None) -> str:
        """A new album; created_at restores when it was made (an import's)."""
        body = {"title": title, "description": description}
        if created_at is not None:
            body["created_at"] = created_at.isoformat()
        return self._request("POST", "/albums", json=body).json()["id"]

    def album_list(self) -> list[dict]:
        return self._request("GET", "/albums").json()

    def album_asset_ids(self, album_id: str) -> list[str]:
        return [item["id"] for item in self._pages(f"/albums/{album_id}/assets")]

    def digests(self) -> dict[str, str]:
        """asset id → SHA-256, for the originals an export has hashed."""
        return {item["asset_id"]: item["sha256"] for item in self._pages("/export/digests")}

    def favorite(self, asset_id: str) -> None:
        self._request("PUT", f"/assets/{asset_id}/favorite")

    def trash(self, asset_id: str) -> None:
        self._request("POST", f"/assets/{asset_id}/trash")

    def download(self, url: str, headers: dict[str, str]):
        """A GET whose body the caller reads into its own buffer (bulk.Answer.readinto) and whose failures
        it handles (bulk.TransportFailure)."""
        return self._bulk.request("GET", url, headers)

    def download_originals(self, asset_ids: list[str]):
        """Several originals in one answer, one after another (read like download's)."""
        body = json.dumps({"asset_ids": asset_ids}).encode()
        return self._bulk.request("POST", "/assets/originals", {"Content-Type": "application/json"}, body)

"""Google Photos as the target, through the Library API as it stands since its March 2025 changes: an app
may only add to a library (`photoslibrary.appendonly`) and fill the albums it made. For each group of at
most 50 items, the bytes go up in parallel (raw uploads, each answered by an upload token), then one
`mediaItems:batchCreate` makes them, with their file names and descriptions (cut to Google's 1,000
characters); calls that create things for the account are made one after another, never in parallel, as
Google asks. An item is verified by what batchCreate answers: created, under its name, and with its capture
date where Google read the same. Albums are made by the app and filled by it; favourites go into an album of
their own, since the API cannot mark any. What Google cannot take is skipped with the reason: photos over
200 MB, videos over 20 GB, and the trash (the API cannot put anything there).

429s and server errors are waited out with exponential backoff. Once the project's daily quota (10,000
requests) is spent, the run stops and says so; the same command the next day goes on from the record."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from phonecloud import __version__
from phonecloud.client.api import send_retrying
from phonecloud.client.config import client_dir
from phonecloud.client.errors import Retry, ServerError, refusal
from phonecloud.client.migrate.engine import (Arrival, Arrived, Failed, KindFailed, KindMoved, Skipped,
                                              put_metadata)
from phonecloud.client.migrate.google_auth import GoogleSession, OAuthClient
from phonecloud.client.migrate.record import MigrationRecord, Row
from phonecloud.client.migrate.source import Library, Source
from phonecloud.client.progress import TransferReporter
from phonecloud.portability.takeout import AlbumInfo, AssetInfo

API_ENV = "PHONECLOUD_GOOGLE_PHOTOS_API"  # where the Library API is (a stand-in's address in the tests)
API_URL = "https://photoslibrary.googleapis.com"
BATCH = 50  # items per batchCreate and per batchAddMediaItems, Google's limit
DESCRIPTION_LIMIT = 1000
PHOTO_LIMIT, VIDEO_LIMIT = 200 * 10**6, 20 * 10**9
FAVOURITES = "Favourites"
_FAVOURITES_KEY = "favourites"  # the favourites album, in the record's albums
SAME_DAY = dt.timedelta(minutes=1)  # Google's creationTime is the camera's to the second, or the upload's


class DailyQuotaSpent(ServerError):
    def __init__(self, message: str):
        super().__init__(429, "daily_quota", "Google's daily quota of requests for this OAuth client is spent "
                                             f"({message[:200]}): run the same command again tomorrow")


class GooglePhotosDestination:
    def __init__(self, source: Source, client: OAuthClient, transfers: int, reporter: TransferReporter,
                 token_file: Path | None = None):
        """token_file: a sign-in made elsewhere (a move started from the web app), never asked for again;
        None: the client's own, signed in through a browser when needed."""
        self.source, self.transfers, self.reporter = source, transfers, reporter
        key = hashlib.sha256(client.client_id.encode()).hexdigest()[:16]
        self.session = GoogleSession(client, token_file or client_dir() / "google" / f"token-{key}.json",
                                     reporter.say, interactive=token_file is None)
        # Signed in now: the record is kept per sign-in (another one may be to another Google account).
        self.identity = f"google-photos {client.client_id} {self.session.sign_in_id()}"
        self.label = "Google Photos"
        self.retry = Retry()
        self._http = httpx.Client(base_url=os.environ.get(API_ENV, API_URL).rstrip("/"),
                                  timeout=httpx.Timeout(60.0, connect=15.0),
                                  headers={"User-Agent": f"phonecloud-migrate/{__version__}"},
                                  limits=httpx.Limits(max_connections=transfers + 2))
        self._one_at_a_time = threading.Lock()  # what creates things for the account: never in parallel
        self._spent: DailyQuotaSpent | None = None

    def close(self) -> None:
        try:
            self._http.close()
        finally:
            self.session.close()

    def _request(self, method: str, path: str, fresh: Callable[[], dict] | None = None,
                 headers: dict[str, str] | None = None, **kwargs) -> httpx.Response:
        """Send with a current access token, waiting out 429s and server errors (once more after a 401, with
        a renewed token); a spent daily quota stops everything (DailyQuotaSpent)."""
        if self._spent is not None:
            raise self._spent

        def with_token() -> dict:
            token = {"Authorization": f"Bearer {self.session.access_token()}"}
            return {"headers": {**(headers or {}), **token}, **(fresh() if fresh else {})}

        try:
            return send_retrying(self._http, method, path, self.retry, with_token, self._stop, **kwargs)
        except ServerError as error:
            if error.status != 401:
                raise
        self.session.renew()  # revoked or expired early: one more try with another token
        return send_retrying(self._http, method, path, self.retry, with_token, self._stop, **kwargs)

    def _stop(self, answer: httpx.Response) -> None:
        if answer.status_code == 429 and "per day" in answer.text:
            self._spent = DailyQuotaSpent(str(refusal(answer.status_code, answer.read(), str(answer.url))))
            raise self._spent

    # -- what is there, and sending ----------------------------------------------------------------------

    def present(self, assets: list[AssetInfo], library: Library, known: dict[str, Row]) -> dict[str, Arrival]:
        """Nothing can be known of the library (the app may only add to it) but the record."""
        return {}

    @property
    def quota_spent(self) -> bool:
        return self._spent is not None

    def transfer(self, assets: list[AssetInfo], library: Library, record: MigrationRecord, arrived: Arrived,
                 failed: Failed, skipped: Skipped) -> None:
        takes = []
        for asset in assets:
            reason = _untransferable(asset)
            if reason is None:
                takes.append(asset)
            else:
                skipped(asset, reason)
        with ThreadPoolExecutor(self.transfers) as pool:
            for start in range(0, len(takes), BATCH):
                group = takes[start:start + BATCH]
                if self._spent is not None:
                    for asset in group:
                        failed(asset, str(self._spent))
                    continue
                tokens = list(pool.map(self._upload, group))
                self._create(group, tokens, arrived, failed)

    def _upload(self, asset: AssetInfo) -> str | ServerError:
        def counted() -> Iterator[bytes]:
            for chunk in self.source.original_chunks(asset):
                self.reporter.advance(len(chunk))
                yield chunk

        headers = {"Content-Type": "application/octet-stream", "X-Goog-Upload-Content-Type": asset.mime_type,
                   "X-Goog-Upload-Protocol": "raw", "Content-Length": str(asset.size)}
        try:
            answer = self._request("POST", "/v1/uploads", headers=headers, fresh=lambda: {"content": counted()},
                                   timeout=httpx.Timeout(300.0, connect=15.0))
        except ServerError as error:
            return error
        return answer.text.strip()

    def _create(self, group: list[AssetInfo], tokens: list[str | ServerError], arrived: Arrived,
                failed: Failed) -> None:
        items, made = [], []
        for asset, token in zip(group, tokens):
            if isinstance(token, ServerError):
                failed(asset, f"could not be uploaded: {token}")
                continue
            items.append({"description": asset.description[:DESCRIPTION_LIMIT],
                          "simpleMediaItem": {"uploadToken": token, "fileName": asset.original_filename}})
            made.append(asset)
        if not items:
            return
        try:
            with self._one_at_a_time:
                results = self._request("POST", "/v1/mediaItems:batchCreate",
                                        json={"newMediaItems": items}).json().get("newMediaItemResults", [])
        except ServerError as error:
            for asset in made:
                failed(asset, f"sent, but not made into a photo: {error}", sent=True)
            return
        by_token = {result.get("uploadToken"): result for result in results}
        for asset, item in zip(made, items):
            result = by_token.get(item["simpleMediaItem"]["uploadToken"], {})
            media = result.get("mediaItem")
            status = result.get("status") or {}
            if not media or status.get("code"):
                failed(asset, f"sent, but Google did not make it: {status.get('message', 'no answer for it')}",
                       sent=True)
            elif media.get("filename") != asset.original_filename:
                failed(asset, f"sent, but Google made it as {media.get('filename')!r}", sent=True)
            else:
                arrived(asset, Arrival(media["id"], _how_verified(media, asset)))

    # -- albums and favourites ---------------------------------------------------------------------------

    def carry_kinds(self, moved: KindMoved, failed: KindFailed) -> None:
        """Google Photos keeps photos and videos only."""

    def finish(self, library: Library, record: MigrationRecord) -> int:
        favourites = [asset.id for asset in library.assets if asset.favorite and not asset.trashed]
        mark = AlbumInfo(_FAVOURITES_KEY, FAVOURITES, "", dt.datetime.now(dt.UTC))
        with_favourites = Library(library.assets, [*library.albums, *([mark] if favourites else [])],
                                  {**library.members, _FAVOURITES_KEY: favourites})
        try:
            return put_metadata(self, with_favourites, record)
        except DailyQuotaSpent:
            return 0  # the albums are made and filled by the next run

    def describe(self, asset: AssetInfo, target_ref: str) -> None:
        """Given with the item when it was made (its description); the rest the API cannot set."""

    def trash(self, target_refs: list[str]) -> None:
        """Never reached: the trash is not sent."""

    def create_album(self, album: AlbumInfo) -> str:
        with self._one_at_a_time:
            return self._request("POST", "/v1/albums", json={"album": {"title": album.title[:500]}}).json()["id"]

    def fill(self, album_ref: str, members: list[str]) -> bool:
        try:
            for start in range(0, len(members), BATCH):
                with self._one_at_a_time:
                    self._request("POST", f"/v1/albums/{album_ref}:batchAddMediaItems",
                                  json={"mediaItemIds": members[start:start + BATCH]})
        except ServerError as error:
            if error.status == 404:
                return False
            raise
        return True


def _untransferable(asset: AssetInfo) -> str | None:
    if asset.trashed:
        return "in the trash: Google Photos' API cannot put anything into its trash"
    if asset.kind == "video" and asset.size > VIDEO_LIMIT:
        return "a video over 20 GB, which Google Photos does not take"
    if asset.kind != "video" and asset.size > PHOTO_LIMIT:
        return "a photo over 200 MB, which Google Photos does not take"
    return None


def _how_verified(media: dict, asset: AssetInfo) -> str:
    """"name+date" when Google read the capture time the library has, else "name"."""
    try:
        created = dt.datetime.fromisoformat((media.get("mediaMetadata") or {}).get("creationTime", ""))
    except ValueError:
        return "name"
    return "name+date" if abs(created - asset.taken) <= SAME_DAY else "name"

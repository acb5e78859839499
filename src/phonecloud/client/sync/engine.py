"""One sync run: scan, hash what is new, check in bulk, upload what is missing, file into albums."""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

from phonecloud.client.api import Api
from phonecloud.client.errors import ServerError
from phonecloud.client.progress import Reporter
from phonecloud.client.sync import resumable, state as st
from phonecloud.client.sync.scan import FileChanged, FoundFile, identify, walk
from phonecloud.core.names import readable

FIRST_CHECK_BATCH = 16
CHECK_BATCH = 1000
ALBUM_BATCH = 1000
HASH_THREADS = 2
GALLERY = "gallery"  # the kind of data the sync client backs up (the server's default upload destination)
# Why a file is skipped, as --verbose names it.
SKIP_EMPTY = "an empty file (0 bytes)"
SKIP_NOT_MEDIA = "not a photo or video (by its content)"


@dataclass
class Summary:
    uploaded: int = 0
    duplicates: int = 0
    skipped: int = 0
    failed: int = 0
    bytes: int = 0
    unchanged: int = 0
    failures: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Options:
    roots: list[Path]
    transfers: int = 4
    album_from_folder: bool = False
    resumable_above: int = field(default_factory=resumable.threshold)  # bytes; larger files go over tus
    notices_shown: set = field(default_factory=set)  # ids of the operator's notices already shown (--watch)
    verbose: bool = False  # name each file skipped, with the reason


class SyncRun:
    def __init__(self, api: Api, state: st.SyncState, options: Options, reporter: Reporter):
        self.api = api
        self.state = state
        self.options = options
        self.reporter = reporter
        self.summary = Summary()
        self._lock = threading.Lock()
        self._pending_rows: list[tuple] = []
        self._album_paths: dict[str, list[tuple[str, str]]] = defaultdict(list)  # album → (path, asset id)

    def run(self) -> Summary:
        me = self.api.me()  # one round trip proves the server and key before any work, and brings the notices
        for notice in reversed(me.get("notices") or []):  # oldest first: the newest ends nearest the prompt
            if notice.get("id") not in self.options.notices_shown:
                self.options.notices_shown.add(notice.get("id"))
                self.reporter.say(f"notice ({notice.get('level', 'info')}): {notice.get('message', '')}")
                if notice.get("retirement_id") and notice.get("kind"):
                    self.reporter.say(f"  {export_standing(notice.get('export'))}")
        closed = (me.get("intake") or {}).get(GALLERY)
        if closed:  # the plan or the region takes no new photos: say why once, rather than per file
            raise ServerError(403, "intake_closed", closed)
        known = self.state.load()
        fresh: list[FoundFile] = []
        for found in walk(self.options.roots):
            seen = known.get(found.path)
            if found.size == 0:  # nothing to back up, and nothing to remember: it may be written later
                self._skip(found, SKIP_EMPTY)
            elif seen is None or seen.size != found.size or seen.mtime_ns != found.mtime_ns:
                fresh.append(found)
            elif seen.outcome == st.NOT_MEDIA:
                self._skip(found, SKIP_NOT_MEDIA)
            else:
                self.summary.unchanged += 1
                self._want_album(found.path, seen.asset_id, seen.album)
        self.reporter.planned(len(fresh), sum(found.size for found in fresh))
        with ThreadPoolExecutor(HASH_THREADS) as hashers, ThreadPoolExecutor(self.options.transfers) as senders:
            pending: set[Future] = set()
            for batch in _growing_batches(fresh):
                # Hashing may run ahead of uploading by one batch, not by the whole tree: memory stays flat.
                pending = _settle(pending, keep=CHECK_BATCH)
                identified = list(hashers.map(self._identify, batch))
                pending.update(self._check_and_queue(identified, senders))
                self._flush_state()
            _settle(pending, keep=0)
        self._flush_state()
        self._file_into_albums()
        return self.summary

    # -- steps -------------------------------------------------------------------------------------------

    def _identify(self, found: FoundFile) -> tuple[FoundFile, str | None, str | None]:
        """(file, kind, sha1); kind None for a file that is not a photo or video."""
        try:
            media, sha1 = identify(found.path)
        except OSError as error:
            self._fail(found, f"cannot read: {error.strerror or error}")
            return found, "error", None
        return found, media.kind if media else None, sha1

    def _check_and_queue(self, identified, senders: ThreadPoolExecutor) -> list[Future]:
        media = [(found, sha1) for found, kind, sha1 in identified if kind not in (None, "error")]
        for found, kind, _ in identified:
            if kind is None:
                self._record(found, None, st.NOT_MEDIA, None)
                self._skip(found, SKIP_NOT_MEDIA, done=True)
        if not media:
            return []
        existing = self.api.check([(found.path, sha1) for found, sha1 in media])
        queued = []
        for found, sha1 in media:
            asset_id = existing.get(found.path)
            if asset_id:
                self._finish(found, sha1, st.DUPLICATE, asset_id)
            else:
                queued.append(senders.submit(self._upload, found, sha1))
        return queued

    def _upload(self, found: FoundFile, sha1: str) -> None:
        try:
            if found.size >= self.options.resumable_above:
                result = resumable.upload_resumably(self.api, self.state, found, sha1)
            else:
                result = self.api.upload(Path(found.path), found.size, found.mtime_ns, sha1)
        except FileChanged:
            self._fail(found, "changed while being backed up; it will be picked up on the next run")
        except ServerError as error:
            self._fail(found, str(error))
        except OSError as error:
            self._fail(found, f"cannot read: {error.strerror or error}")
        else:
            self._finish(found, sha1, st.DUPLICATE if result.duplicate else st.UPLOADED, result.asset_id)

    def _finish(self, found: FoundFile, sha1: str, outcome: str, asset_id: str) -> None:
        with self._lock:
            if outcome == st.UPLOADED:
                self.summary.uploaded += 1
                self.summary.bytes += found.size
            else:
                self.summary.duplicates += 1
        self._record(found, sha1, outcome, asset_id)
        self._want_album(found.path, asset_id, None)
        self.reporter.done(found.size, f"{outcome}: {found.path}" if not self.reporter.rich else None)

    def _skip(self, found: FoundFile, reason: str, done: bool = False) -> None:
        """A file not backed up, counted as skipped (and named with the reason, with --verbose); done: it was
        among the files planned (read to be identified)."""
        with self._lock:
            self.summary.skipped += 1
        line = f"skipped: {found.path}: {reason}" if self.options.verbose else None
        if done:
            self.reporter.done(found.size, line)
        elif line:
            self.reporter.say(line)

    def _fail(self, found: FoundFile, reason: str) -> None:
        with self._lock:
            self.summary.failed += 1
            self.summary.failures.append({"path": found.path, "reason": reason})
        self.reporter.done(found.size, f"failed: {found.path}: {reason}")

    def _record(self, found: FoundFile, sha1: str | None, outcome: str, asset_id: str | None) -> None:
        with self._lock:
            self._pending_rows.append((found.path, found.size, found.mtime_ns, sha1, outcome, asset_id, None))

    def _flush_state(self) -> None:
        with self._lock:
            rows, self._pending_rows = self._pending_rows, []
        if rows:
            self.state.record(rows)

    # -- albums ------------------------------------------------------------------------------------------

    def _want_album(self, path: str, asset_id: str | None, album_done: str | None) -> None:
        if not self.options.album_from_folder or asset_id is None:
            return
        album = readable(os.path.basename(os.path.dirname(path)))
        if album and album != album_done:
            with self._lock:
                self._album_paths[album].append((path, asset_id))

    def _file_into_albums(self) -> None:
        if not self._album_paths:
            return
        try:
            albums = self.api.albums()
            for title, members in self._album_paths.items():
                album_id = albums.get(title) or self.api.create_album(title)
                for start in range(0, len(members), ALBUM_BATCH):
                    batch = members[start:start + ALBUM_BATCH]
                    self.api.add_to_album(album_id, [asset_id for _, asset_id in batch])
                    self.state.set_album([path for path, _ in batch], title)
        except ServerError as error:
            with self._lock:
                self.summary.failed += 1
                self.summary.failures.append({"path": "(albums)", "reason": f"albums not updated: {error}"})
            self.reporter.say(f"failed: (albums): albums not updated: {error}")


def _settle(pending: set[Future], keep: int) -> set[Future]:
    """Wait until at most `keep` uploads are pending; re-raise what a finished one raised."""
    while len(pending) > keep:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            future.result()
    return pending


def _growing_batches(files: list[FoundFile]) -> Iterable[list[FoundFile]]:
    """Small batches first so that uploads start at once, then large ones so checks stay few."""
    start, size = 0, FIRST_CHECK_BATCH
    while start < len(files):
        yield files[start:start + size]
        start += size
        size = min(size * 2, CHECK_BATCH)


def sync_once(api: Api, state: st.SyncState, roots: Iterable[Path], transfers: int, album_from_folder: bool,
              reporter: Reporter, notices_shown: set | None = None, verbose: bool = False) -> Summary:
    options = Options(list(roots), transfers, album_from_folder,
                      notices_shown=notices_shown if notices_shown is not None else set(), verbose=verbose)
    return SyncRun(api, state, options, reporter).run()


def export_standing(export: dict | None) -> str:
    """What a retirement's notice says of the user's export since its announcement, as a line."""
    if not export:
        return "you have not downloaded an export of everything since this was announced: `phonecloud export --out DIR`"
    snapshot = str(export.get("snapshot_at", ""))[:10]
    if export.get("verified_at"):
        return f"your export of everything as of {snapshot} was downloaded and verified on {export['verified_at'][:10]}"
    return (f"your export of everything as of {snapshot}: {export.get('parts_downloaded')} of {export.get('parts')} "
            "parts downloaded, not verified: `phonecloud export --out DIR` downloads and checks them")


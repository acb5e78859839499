"""`phonecloud pull DIR`: the library mirrored into a local folder, in year folders or album folders, with
Takeout's sidecars, each file's modification time set to its capture time. Pure Python.

Incremental: the mirror remembers (in a file inside it) what it wrote, so a second run fetches only what
changed, and names stay put (a new photo never renames an older one). A file already in the mirror under
another name (an album renamed, a photo in two albums) is hard-linked, not fetched again. Downloads
resume from their .partial file. Each file is checked before it takes its name: against its SHA-256 when
the server has one (an export computed it), else against the SHA-1 every asset has. Files are written as
rsync and rclone write them, without waiting for the disk, and the state remembers the boot that wrote
them: after a restart the next pull checks those files before trusting them (and fetches a damaged one
again). Files a run wrote a minute or more before its end are fsynced then, cheaply, and recorded as
durable, so a restart leaves only a run's last moments in doubt. With --fsync each file is made durable
before it takes its name instead, by a thread of its own that fsyncs downloads in groups while the
transfers go on (checkpoints.py).
Files of earlier pulls that are no longer in the library are kept unless --delete is given.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from phonecloud.client.api import Api
from phonecloud.client.download import CHUNK, fetch, fsync_path, partial_path, receive_into
from phonecloud.client.errors import ServerError
from phonecloud.client.progress import TransferReporter
from phonecloud.client.pull.checkpoints import Arrival, Checkpoints, current_boot
from phonecloud.client.pull.state import Placed, PullState
from phonecloud.core.dates import clamped
from phonecloud.media.sniff import sniff_extension
from phonecloud.portability import takeout
from phonecloud.portability.takeout import AlbumInfo, AssetInfo

LAYOUTS = ("years", "albums")
STATE_BATCH = 200
# Files up to SINGLE_BYTES are fetched several to a request (up to BATCH_FILES, BATCH_BYTES): a request
# per photo costs the server more CPU than the photo's bytes do.
BATCH_FILES = 32
BATCH_BYTES = 64 << 20
SINGLE_BYTES = 16 << 20
# The kernel writes a dirty page back within about 30 s: files recorded this long before the end of a run
# are fsynced then (cheaply) and recorded as durable, so that a restart leaves only a run's last moments to
# check again.
SETTLE_AFTER_SECONDS = 60.0


@dataclass
class PullSummary:
    fetched: int = 0
    fetched_bytes: int = 0
    linked: int = 0  # already in the mirror under another name: linked, not fetched
    unchanged: int = 0
    sidecars: int = 0  # sidecars and album metadata.json written because new or changed
    stale: int = 0  # written by an earlier pull, no longer in the library: kept (or deleted with --delete)
    deleted: int = 0
    verified: int = 0  # written by a pull before the system restarted: checked before being trusted
    repaired: int = 0  # of those, damaged by the restart: fetched again
    failed: int = 0
    failures: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _time(text: str) -> dt.datetime:
    """A time the server sent, moved into the range a mirror can write as an mtime and keep in its state
    (a server may hold anything: one before issue 14 took 2300-01-01, which overflowed both)."""
    return clamped(dt.datetime.fromisoformat(text))


def asset_from_api(item: dict, sha256: str | None, server: str) -> AssetInfo:
    media = item["media"]
    return AssetInfo(
        id=item["id"], original_filename=item["original_filename"], kind=item["kind"], mime_type=item["mime_type"],
        extension=sniff_extension(item["mime_type"]), size=item["size_bytes"], sha1=item["sha1"], sha256=sha256,
        file_modified_at=_time(item["file_modified_at"]), uploaded_at=_time(item["uploaded_at"]),
        taken=_time(item["sort_at"]), taken_local=_time(media["taken_at"]) if media.get("taken_at") else None,
        taken_offset_minutes=media.get("taken_at_offset_minutes"), date_source=media.get("date_source"),
        latitude=media.get("latitude"), longitude=media.get("longitude"), altitude=media.get("altitude"),
        favorite=item["is_favorite"], trashed=item["trashed"], url=f"{server}/api/v1/assets/{item['id']}",
        description=item.get("description", ""), archived=item.get("is_archived", False),
        people=tuple(item.get("people", ())),
        place=(item["place"]["latitude"], item["place"]["longitude"], item["place"]["altitude"])
        if item.get("place") else None,
    )


def album_from_api(item: dict) -> AlbumInfo:
    return AlbumInfo(item["id"], item["title"], item["description"], _time(item["created_at"]))


@dataclass(frozen=True)
class Target:
    path: str  # relative to the mirror
    asset: AssetInfo

    @property
    def mtime_ns(self) -> int:
        return takeout.unix_seconds(self.asset.taken) * 1_000_000_000


def _sha1_of(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class PullRun:
    def __init__(self, api: Api, root: Path, layout: str, transfers: int, delete: bool,
                 reporter: TransferReporter, fsync: bool = False, verbose: bool = False):
        self.api, self.root, self.layout, self.transfers, self.delete = api, root, layout, transfers, delete
        self.reporter, self.verbose = reporter, verbose
        self.summary = PullSummary()
        self.state = PullState(root)
        self.boot = current_boot()
        self.durable = fsync or self.boot is None  # without a boot to compare, only fsync keeps the state true
        self.checkpoints = Checkpoints(self.state, root, STATE_BATCH, transfers,
                                       boot=None if self.durable else self.boot)
        self._lock = threading.Lock()
        self._album_folders_of: dict[str, list[str]] = {}
        self._folders: set[Path] = set()

    def close(self) -> None:
        try:
            self.checkpoints.close()
        finally:
            self.state.close()

    def run(self) -> PullSummary:
        known = self._settle_earlier(self.state.load())
        plan = self._plan(known)
        targets = [Target(f"{folder.name}/{name}", asset) for folder in plan.folders for name, asset in folder.files]
        copies, missing = self._settle_present(targets, known)
        groups: dict[str, list[Target]] = defaultdict(list)
        for target in missing:
            groups[target.asset.id].append(target)
        to_fetch = [group for group in groups.values() if group[0].asset.sha1 not in copies]
        for group in groups.values():
            if group[0].asset.sha1 in copies:
                source = copies[group[0].asset.sha1]
                self.checkpoints.submit(Arrival([], lambda source=source, group=group: self._link(source, group)))
        fetched = {group[0].asset.id for group in to_fetch}  # their sidecars are written as they arrive
        self.reporter.planned(len(to_fetch), sum(group[0].asset.size for group in to_fetch))
        batches, singles = self._batches(to_fetch)
        with ThreadPoolExecutor(self.transfers) as pool:
            futures = [pool.submit(self._fetch_batch, batch) for batch in batches]
            for future in futures + [pool.submit(self._fetch, group) for group in singles]:
                future.result()
        self.checkpoints.close()  # every file recorded (durable with --fsync)
        self._settle_written_long_ago()
        self._settle_stale(known, {target.path for target in targets})
        self._write_metadata(plan, [target for target in targets if target.asset.id not in fetched])
        return self.summary

    # -- planning ----------------------------------------------------------------------------------------

    def _plan(self, known: dict[str, Placed]) -> takeout.Plan:
        try:
            digests = self.api.digests()
        except ServerError as error:
            if error.status != 404:  # a server without exports: SHA-1 only
                raise
            digests = {}
        assets = [asset_from_api(item, digests.get(item["id"]), self.api.server) for item in self.api.assets()]
        albums = [album_from_api(item) for item in self.api.album_list()]
        members = {album.id: self.api.album_asset_ids(album.id) for album in albums}
        previous: dict[str, dict[str, str]] = defaultdict(dict)
        for placed in known.values():
            folder, _, name = placed.path.rpartition("/")
            previous[folder][placed.asset_id] = name
        plan = takeout.plan(assets, albums, members, years="all" if self.layout == "years" else "unfiled",
                            trash=False, album_folders=self.layout == "albums", previous=previous)
        self._album_folders_of = plan.album_folders_of
        return plan

    # -- what is there already ---------------------------------------------------------------------------

    def _settle_earlier(self, known: dict[str, Placed]) -> dict[str, Placed]:
        """Rows that earlier pulls recorded without waiting for the disk. From this boot: their files are
        flushed now (written back long since, as a rule) and the rows marked durable. From an earlier boot:
        a crash or power cut may have cost their bytes, so each file is checked against its SHA-1, and a
        damaged one is removed, to be fetched again by this run."""
        if self.boot is not None:
            self._make_durable([placed.path for placed in known.values() if placed.boot == self.boot])
        earlier = [placed for placed in known.values() if placed.boot not in (None, self.boot)]
        if not earlier:
            return known
        with ThreadPoolExecutor(self.transfers) as pool:
            sound = list(pool.map(self._sound, earlier))
        self.state.settle([placed.path for placed, ok in zip(earlier, sound) if ok])  # read back after a restart
        damaged = {placed.path for placed, ok in zip(earlier, sound) if not ok}
        self.state.forget(sorted(damaged))
        self.summary.verified, self.summary.repaired = len(earlier), len(damaged)
        return {path: placed for path, placed in known.items() if path not in damaged}

    def _sound(self, placed: Placed) -> bool:
        """A file written before a restart is whole and right; else it is removed (what the restart left)."""
        path = self.root / placed.path
        if self._intact(placed) and _sha1_of(path) == placed.sha1:
            return True
        path.unlink(missing_ok=True)
        return False

    def _settle_written_long_ago(self) -> None:
        """Files this run recorded SETTLE_AFTER_SECONDS or more ago are on disk as a rule by now: fsyncing
        them costs little, and leaves only the run's last moments for a restart to put in doubt."""
        cutoff = time.monotonic() - SETTLE_AFTER_SECONDS
        self._make_durable([path for moment, paths in self.checkpoints.unsettled if moment <= cutoff for path in paths])

    def _make_durable(self, paths: list[str]) -> None:
        if not paths:
            return
        with ThreadPoolExecutor(self.transfers) as pool:
            list(pool.map(self._fsync_if_present, paths))
        for folder in sorted({(self.root / path).parent for path in paths}):
            fsync_path(folder, directory=True)
        self.state.settle(paths)

    def _fsync_if_present(self, path: str) -> None:
        try:
            fsync_path(self.root / path)
        except FileNotFoundError:
            pass  # removed since: fetched again like any missing file

    def _intact(self, placed: Placed) -> bool:
        try:
            status = (self.root / placed.path).stat()
        except OSError:
            return False
        return status.st_size == placed.size and status.st_mtime_ns == placed.mtime_ns

    def _settle_present(self, targets: list[Target], known: dict[str, Placed]) -> tuple[dict[str, Path], list[Target]]:
        """Targets already right on disk are kept (their mtime set again if the capture time changed);
        returns sha1 → a path in the mirror holding those bytes, and the targets still missing."""
        copies = {placed.sha1: self.root / placed.path for placed in known.values() if self._intact(placed)}
        missing = []
        for target in targets:
            path, asset = self.root / target.path, target.asset
            placed = known.get(target.path)
            if placed is not None and placed.sha1 == asset.sha1 and self._intact(placed):
                if placed.mtime_ns != target.mtime_ns or placed.asset_id != asset.id:
                    self._retime(target)
            elif path.is_file() and path.stat().st_size == asset.size and _sha1_of(path) == asset.sha1:
                self._retime(target)  # state lost (a crash before a checkpoint), or mtime touched: recognised
            elif os.path.lexists(path):
                self._fail(target.path, "another file is already there; it was left as it is")
                continue
            else:
                missing.append(target)
                continue
            copies[asset.sha1] = path
            self.summary.unchanged += 1
        return copies, missing

    def _retime(self, target: Target) -> None:
        path = self.root / target.path
        os.utime(path, ns=(target.mtime_ns, target.mtime_ns))
        self.checkpoints.submit(Arrival([path], lambda: [_row(target)]))

    def _settle_stale(self, known: dict[str, Placed], wanted: set[str]) -> None:
        """Files of earlier pulls that are not in the library any more: kept, or with --delete removed when
        they are still as the pull wrote them."""
        stale = [placed for path, placed in known.items() if path not in wanted]
        self.summary.stale = len(stale)
        for placed in stale:
            if not self.delete:
                self._tell(f"kept: {placed.path}: no longer in the library (--delete removes it)")
            elif self._intact(placed):
                (self.root / placed.path).unlink()
                self.summary.deleted += 1
                self._tell(f"deleted: {placed.path}: no longer in the library")
            else:
                self._tell(f"kept: {placed.path}: no longer in the library, but changed since the pull wrote it")
        if self.delete:
            self.state.forget([placed.path for placed in stale])

    # -- getting what is missing -------------------------------------------------------------------------

    def _batches(self, groups: list[list[Target]]) -> tuple[list[list[list[Target]]], list[list[Target]]]:
        """Small files in batches; large ones, and those an earlier run began (they resume), one by one."""
        batches: list[list[list[Target]]] = []
        singles = []
        size = 0
        for group in groups:
            asset = group[0].asset
            if asset.size > SINGLE_BYTES or partial_path(self.root / group[0].path).exists():
                singles.append(group)
                continue
            if not batches or len(batches[-1]) == BATCH_FILES or size + asset.size > BATCH_BYTES:
                batches.append([])
                size = 0
            batches[-1].append(group)
            size += asset.size
        return batches, singles

    def _fetch_batch(self, groups: list[list[Target]]) -> None:
        """Several files in one answer, each checked and placed as a single one is; what the answer did not
        bring whole (a broken connection, an asset deleted meanwhile, a server without batches) is then
        fetched one by one, resuming from what arrived."""
        arrived: list[list[Target]] = []
        try:
            with self.api.download_originals([group[0].asset.id for group in groups]) as response:
                if response.status_code >= 400:
                    raise response.error()
                for group in groups:
                    final, asset = self.root / group[0].path, group[0].asset
                    self._folder(final.parent)
                    hasher, partial = self._hasher(asset), partial_path(final)
                    got = receive_into(response, partial, asset.size, self.reporter.advance, hasher)
                    if got != asset.size:
                        if not got:
                            partial.unlink()  # nothing to resume from
                        break
                    self._check(group[0], hasher)
                    arrived.append(group)
        except (ServerError, OSError):
            pass  # the one-by-one fetches below retry, and report what still fails
        for group in arrived:
            self._arrived(group)
        for group in groups[len(arrived):]:
            self._fetch(group)

    def _fetch(self, group: list[Target]) -> None:
        first, asset = group[0], group[0].asset
        final = self.root / first.path
        try:
            self._folder(final.parent)
            hasher = fetch(self.api, f"/assets/{asset.id}/original", final, asset.size, self.reporter.advance,
                           validator=f'"{asset.sha1}"', hasher_factory=lambda: self._hasher(asset), finish=False)
            self._check(first, hasher)
        except (ServerError, OSError) as error:
            self._fail(first.path, str(error))
            self.reporter.finished(f"failed: {first.path}: {error}")
            return
        self._arrived(group)

    @staticmethod
    def _hasher(asset: AssetInfo):
        return hashlib.sha256() if asset.sha256 else hashlib.sha1()

    def _check(self, first: Target, hasher) -> None:
        """The download is whole and right, and carries the capture time; else it is removed and refused."""
        partial = partial_path(self.root / first.path)
        if hasher.hexdigest() != (first.asset.sha256 or first.asset.sha1):
            partial.unlink()
            raise ServerError(0, "corrupt", "the bytes received differ from the server's checksum; "
                                            "the next run fetches it again")
        os.utime(partial, ns=(first.mtime_ns, first.mtime_ns))

    def _arrived(self, group: list[Target]) -> None:
        partial = partial_path(self.root / group[0].path)
        self.checkpoints.submit(Arrival([partial], lambda: self._name(partial, group)))
        with self._lock:
            self.summary.fetched += 1
            self.summary.fetched_bytes += group[0].asset.size
        for target in group:  # here, while other files are still downloading
            self._write_sidecar(target, fetched=True)
        self.reporter.finished(f"fetched: {group[0].path}" if not self.reporter.rich else None)

    def _folder(self, folder: Path) -> None:
        """Made once per run (each look-up in a busy folder waits for the others' file creations)."""
        if folder not in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._folders.add(folder)

    def _name(self, partial: Path, group: list[Target]) -> list[Placed]:
        """At a checkpoint, the durable download takes its name; its other places are linked to it."""
        first = group[0]
        try:
            os.replace(partial, self.root / first.path)
        except OSError as error:
            self._fail(first.path, f"cannot write: {error.strerror or error}")
            return []
        return [_row(first), *self._link(self.root / first.path, group[1:])]

    def _link(self, source: Path, targets: list[Target]) -> list[Placed]:
        """More copies of bytes already in the mirror: hard links (a copy where links are not possible);
        run at a checkpoint, which makes the new names durable before recording the rows returned."""
        rows = []
        for target in targets:
            path = self.root / target.path
            try:
                self._folder(path.parent)
                try:
                    os.link(source, path)
                except OSError:
                    shutil.copyfile(source, path)
                    if self.durable:
                        fsync_path(path)
                os.utime(path, ns=(target.mtime_ns, target.mtime_ns))
            except OSError as error:
                self._fail(target.path, f"cannot write: {error.strerror or error}")
                continue
            rows.append(_row(target))
            with self._lock:
                self.summary.linked += 1
        return rows

    # -- sidecars and album metadata ---------------------------------------------------------------------

    def _write_metadata(self, plan: takeout.Plan, targets: list[Target]) -> None:
        for folder in plan.folders:
            if folder.album:
                self._write_small(f"{folder.name}/{takeout.ALBUM_METADATA}", takeout.album_metadata(folder.album),
                                  takeout.unix_seconds(folder.album.created_at))
        for target in targets:
            if (self.root / target.path).exists():
                self._write_sidecar(target)

    def _write_sidecar(self, target: Target, fetched: bool = False) -> None:
        content = takeout.sidecar(target.asset, self._album_folders_of.get(target.asset.id, []))
        self._write_small(target.path + takeout.SIDECAR_SUFFIX, content, takeout.unix_seconds(target.asset.taken),
                          compare=not fetched)

    def _write_small(self, relative: str, content: bytes, mtime: int, compare: bool = True) -> None:
        """Written when new or changed (compare=False: written, for a file just fetched), by rename; not
        fsynced: a damaged one is rewritten next run. As few look-ups by name as can be: a folder being
        filled by several transfers serves them one at a time."""
        path = self.root / relative
        if compare:
            try:
                if path.read_bytes() == content:
                    return
            except OSError:
                pass
        self._folder(path.parent)
        temporary = path.with_name(f".{path.name}.tmp")
        with open(temporary, "wb") as handle:
            handle.write(content)
            handle.flush()  # before the mtime is set: a later write would move it
            os.utime(handle.fileno() if os.utime in os.supports_fd else temporary, (mtime, mtime))
        os.replace(temporary, path)
        with self._lock:
            self.summary.sidecars += 1

    # -- bookkeeping -------------------------------------------------------------------------------------

    def _fail(self, path: str, reason: str) -> None:
        with self._lock:
            self.summary.failed += 1
            self.summary.failures.append({"path": path, "reason": reason})

    def _tell(self, line: str) -> None:
        """A line for --verbose (failures are always named, at the end)."""
        if self.verbose:
            self.reporter.say(line)


def _row(target: Target) -> Placed:
    asset = target.asset
    return Placed(target.path, asset.id, asset.sha1, asset.size, target.mtime_ns)


def pull(api: Api, root: Path, layout: str, transfers: int, delete: bool,
         reporter: TransferReporter, fsync: bool = False, verbose: bool = False) -> PullSummary:
    api.me()  # proves the server and key before anything else (and before the mirror's folder is made)
    root.mkdir(parents=True, exist_ok=True)
    run = PullRun(api, root, layout, transfers, delete, reporter, fsync, verbose)
    try:
        return run.run()
    finally:
        run.close()

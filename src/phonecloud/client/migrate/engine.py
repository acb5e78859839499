"""A migration run: the library read, what the record and the target already hold set apart, the rest sent
and verified item by item (by the target), then the library's metadata and albums put on the target.

Counts: `sent`, items whose bytes went to the target in this run; `verified`, those of them the target read
back right; `already_there`, items the target held already (found by checksum or path and size, or verified
by an earlier run); `failed`, items not sent or not verified, each with its reason; `bytes`, what was sent."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Protocol

from phonecloud.client.errors import ServerError
from phonecloud.client.migrate.record import ALREADY_THERE, VERIFIED, MigrationRecord, Row
from phonecloud.client.migrate.source import Library, Source
from phonecloud.client.progress import TransferReporter
from phonecloud.portability.takeout import AlbumInfo, AssetInfo


@dataclass(frozen=True)
class Arrival:
    target_ref: str  # the item's id or path on the target
    verified_by: str  # how its arrival was checked: "sha1", "md5", "size+date", …


Arrived = Callable[[AssetInfo, Arrival], None]
Failed = Callable[..., None]  # (asset, reason, sent=False): sent when the bytes went and the check failed
Skipped = Callable[[AssetInfo, str], None]  # (asset, why the target cannot take it): not sent, not a failure
KindMoved = Callable[[str, int, int], None]  # (kind, records imported, records already there)
KindFailed = Callable[[str, str], None]  # (kind, reason)


class Destination(Protocol):
    identity: str  # what the record is kept under, with the source's connection
    label: str  # for people
    quota_spent: bool  # the target's requests for today are spent: what is left waits for tomorrow

    def present(self, assets: list[AssetInfo], library: Library, known: dict[str, Row]) -> dict[str, Arrival]:
        """Of these assets, those the target holds already (verified), by asset id; `known`: the record."""

    def transfer(self, assets: list[AssetInfo], library: Library, record: MigrationRecord, arrived: Arrived,
                 failed: Failed, skipped: Skipped) -> None:
        """Send each asset, verify it on the target, and call arrived, failed or skipped for it (from any
        thread)."""

    def finish(self, library: Library, record: MigrationRecord) -> int:
        """Put the library's metadata and albums on the target for what arrived; the albums it holds."""

    def carry_kinds(self, moved: KindMoved, failed: KindFailed) -> None:
        """The account's other kinds of data (messages, contacts), where the target keeps them."""

    def close(self) -> None: ...


@dataclass
class MigrationSummary:
    sent: int = 0
    verified: int = 0
    already_there: int = 0
    failed: int = 0
    bytes: int = 0
    skipped: int = 0  # what the target cannot take (Google Photos: the trash, photos over 200 MB), each in skips
    items: int = 0  # in the library
    to_send: int = 0  # by this run (a dry run's answer)
    to_send_bytes: int = 0
    verified_by: dict[str, int] = field(default_factory=dict)  # how the items sent were checked: "sha1": 12, …
    # Other kinds carried (another phonecloud): {"messages": {"imported": N, "already_there": N}, …}
    kinds: dict[str, dict[str, int]] = field(default_factory=dict)
    albums: int = 0
    dry_run: bool = False
    paused: bool = False  # stopped between slices when asked (a job paused from the web app): run it again
    target: str = ""
    failures: list[dict] = field(default_factory=list)
    skips: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


# A run that may be paused sends slices this big, and asks between them whether to stop.
SLICE_ITEMS = 100
SLICE_BYTES = 512 << 20


class Migration:
    def __init__(self, source: Source, destination: Destination, record: MigrationRecord, reporter: TransferReporter,
                 dry_run: bool = False, stop: Callable[[], bool] | None = None):
        self.source, self.destination, self.record, self.reporter = source, destination, record, reporter
        self.stop = stop
        self.summary = MigrationSummary(dry_run=dry_run, target=destination.label)
        self._lock = threading.Lock()

    def run(self) -> MigrationSummary:
        library = self.source.library()
        known = self.record.load()
        pending = [asset for asset in library.assets if not _done(known.get(asset.id), asset)]
        found = self.destination.present(pending, library, known)  # also proves the target answers
        to_send = [asset for asset in pending if asset.id not in found]
        summary = self.summary
        summary.items, summary.already_there = len(library.assets), len(library.assets) - len(to_send)
        summary.to_send, summary.to_send_bytes = len(to_send), sum(asset.size for asset in to_send)
        if summary.dry_run:
            return summary
        with self.record.together():
            for asset in pending:
                if asset.id in found:
                    arrival = found[asset.id]
                    self.record.arrived(asset.id, asset.sha1, asset.size, ALREADY_THERE, arrival.target_ref,
                                        arrival.verified_by)
        self.reporter.planned(len(to_send), summary.to_send_bytes)
        for part in self._slices(to_send):
            if self.stop is not None and self.stop():
                summary.paused = True
                return summary
            self.destination.transfer(part, library, self.record, self._arrived, self._failed, self._skipped)
        summary.albums = self.destination.finish(library, self.record)
        self.destination.carry_kinds(self._kind_moved, self._kind_failed)
        return summary

    def _slices(self, assets: list[AssetInfo]) -> Iterator[list[AssetInfo]]:
        if self.stop is None:
            return iter([assets] if assets else [])
        return groups(assets, SLICE_ITEMS, SLICE_BYTES)

    def _skipped(self, asset: AssetInfo, reason: str) -> None:
        with self._lock:
            self.summary.skipped += 1
            self.summary.skips.append({"path": f"{asset.original_filename} ({asset.id})", "reason": reason})
        self.reporter.finished(f"skipped: {asset.original_filename}: {reason}")

    def _kind_moved(self, kind: str, imported: int, already_there: int) -> None:
        self.summary.kinds[kind] = {"imported": imported, "already_there": already_there}
        self.reporter.say(f"{kind}: imported {imported}, already there {already_there}")

    def _kind_failed(self, kind: str, reason: str) -> None:
        self.summary.failed += 1
        self.summary.failures.append({"path": kind, "reason": reason})

    def _arrived(self, asset: AssetInfo, arrival: Arrival) -> None:
        self.record.arrived(asset.id, asset.sha1, asset.size, VERIFIED, arrival.target_ref, arrival.verified_by)
        with self._lock:
            self.summary.sent += 1
            self.summary.verified += 1
            self.summary.bytes += asset.size
            self.summary.verified_by[arrival.verified_by] = self.summary.verified_by.get(arrival.verified_by, 0) + 1
        self.reporter.finished(None if self.reporter.rich else f"sent: {asset.original_filename}")

    def _failed(self, asset: AssetInfo, reason: str, sent: bool = False) -> None:
        self.record.failed(asset.id, asset.sha1, asset.size, reason)
        with self._lock:
            self.summary.failed += 1
            if sent:
                self.summary.sent += 1
                self.summary.bytes += asset.size
            self.summary.failures.append({"path": f"{asset.original_filename} ({asset.id})", "reason": reason})
        self.reporter.finished(f"failed: {asset.original_filename}: {reason}")


def groups(assets: list[AssetInfo], most_items: int, most_bytes: int) -> Iterator[list[AssetInfo]]:
    """The assets in order, cut into groups of at most so many items and bytes (one bigger item alone)."""
    group: list[AssetInfo] = []
    size = 0
    for asset in assets:
        if group and (len(group) == most_items or size + asset.size > most_bytes):
            yield group
            group, size = [], 0
        group.append(asset)
        size += asset.size
    if group:
        yield group


def send_and_read_back(assets: list[AssetInfo], transfers: int, upload: Callable[[AssetInfo], str],
                       holds: Callable[[str, AssetInfo], bool], target: str, arrived: Arrived, failed: Failed) -> None:
    """Each asset uploaded (`transfers` at a time: upload gives its id on the target), then read back: holds
    says whether the target keeps the asset's very bytes (by their SHA-1) under that id."""
    def send(asset: AssetInfo) -> None:
        try:
            target_id = upload(asset)
        except ServerError as error:
            failed(asset, str(error))
            return
        try:
            same = holds(target_id, asset)
        except ServerError as error:
            failed(asset, f"sent, but could not be read back: {error}", sent=True)
            return
        if same:
            arrived(asset, Arrival(target_id, "sha1"))
        else:
            failed(asset, f"sent, but {target} holds other bytes as {target_id}", sent=True)

    with ThreadPoolExecutor(transfers) as pool:
        for future in [pool.submit(send, asset) for asset in assets]:
            future.result()


class Describer(Protocol):
    """A target that takes the library's metadata item by item, and albums."""

    def describe(self, asset: AssetInfo, target_ref: str) -> None:
        """Its favourite, description, archive, people and place, as the target can keep them."""

    def trash(self, target_refs: list[str]) -> None: ...

    def create_album(self, album: AlbumInfo) -> str: ...

    def fill(self, album_ref: str, members: list[str]) -> bool:
        """Add the members to the target's album; False when that album is gone (deleted there since)."""


def put_metadata(target: Describer, library: Library, record: MigrationRecord) -> int:
    """The metadata of every item that arrived and is not yet settled, the trash, then every album made
    (once: the record keeps it) and filled with what arrived; the number of albums."""
    rows = record.load()
    on_target = {asset_id: row.target_ref for asset_id, row in rows.items() if row.arrived}
    settled, trashed = [], []
    for asset in library.assets:
        row = rows.get(asset.id)
        if row is not None and row.arrived and not row.settled:
            target.describe(asset, row.target_ref)
            settled.append(asset.id)
            if asset.trashed:
                trashed.append(row.target_ref)
    if trashed:
        target.trash(trashed)
    record.settle(settled)
    made = record.albums()
    for album in library.albums:
        members = [on_target[asset_id] for asset_id in library.members.get(album.id, []) if asset_id in on_target]
        if album.id not in made or not target.fill(made[album.id], members):
            made[album.id] = target.create_album(album)
            record.album(album.id, made[album.id])
            target.fill(made[album.id], members)
    return len(library.albums)


def _done(row: Row | None, asset: AssetInfo) -> bool:
    """Recorded as on the target, with these very bytes."""
    return row is not None and row.arrived and row.sha1 == asset.sha1


def migrate(source: Source, destination: Destination, record: MigrationRecord, reporter: TransferReporter,
            dry_run: bool = False) -> MigrationSummary:
    return Migration(source, destination, record, reporter, dry_run).run()

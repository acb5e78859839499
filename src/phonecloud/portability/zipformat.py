"""ZIP archives of stored (uncompressed) entries whose sizes and CRC-32 are known before any byte is read.

With no compression and no data descriptors, every record's bytes follow from (name, size, CRC-32, time)
alone, so a part's length and the offset of every byte are computed up front: any byte range of a part
can be produced on its own, and the same part is the same bytes every time it is made.

A part: [local header, data] for each entry, then the central directory, then ZIP64 end records when a
count, size or offset needs them, then the end of central directory record. Names are UTF-8 (flag bit
11); each entry carries the extended-timestamp field (0x5455) with its time as a Unix time, which unzip
restores as the file's mtime, beside the DOS time (in UTC) that every reader knows.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

ZIP64_LIMIT = 0xFFFFFFFF  # a 32-bit field holding this value means "see the ZIP64 extra field"
COUNT_LIMIT = 0xFFFF

_LOCAL = 0x04034B50
_CENTRAL = 0x02014B50
_END = 0x06054B50
_END64 = 0x06064B50
_LOCATOR64 = 0x07064B50
_UTF8_NAMES = 0x0800
_STORED = 0
_VERSION_STORED = 10  # 1.0: stored entries
_VERSION_ZIP64 = 45  # 4.5: ZIP64 extensions
_MADE_BY = (3 << 8) | _VERSION_ZIP64  # Unix, so that readers apply the permissions below
_REGULAR_FILE = 0o100644 << 16
_EXTENDED_TIME = 0x5455
_ZIP64_EXTRA = 0x0001
_DOS_FIRST = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)
_DOS_LAST = dt.datetime(2107, 12, 31, 23, 59, 58, tzinfo=dt.UTC)


@dataclass(frozen=True)
class ZipEntry:
    name: str  # '/'-separated, already safe for every file system
    size: int
    crc32: int
    mtime: int  # seconds since the Unix epoch


@dataclass(frozen=True)
class PartInfo:
    number: int  # from 1
    size: int
    entries: int
    cd_offset: int
    cd_size: int


def dos_time(mtime: int) -> tuple[int, int]:
    """(time, date) in MS-DOS format, in UTC, clamped to the years it can hold (1980-2107)."""
    moment = dt.datetime.fromtimestamp(mtime, dt.UTC) if -(2**40) < mtime < 2**40 else _DOS_LAST
    moment = min(max(moment, _DOS_FIRST), _DOS_LAST)
    return ((moment.hour << 11) | (moment.minute << 5) | (moment.second // 2),
            ((moment.year - 1980) << 9) | (moment.month << 5) | moment.day)


def _extended_time(mtime: int) -> bytes:
    """The mtime as a signed 32-bit Unix time; left out when it does not fit (the DOS time remains)."""
    if not 0 <= mtime < 2**31:
        return b""
    return struct.pack("<HHBi", _EXTENDED_TIME, 5, 1, mtime)


@dataclass(frozen=True)
class ZipFormat:
    """Record builders. zip64_from: sizes, offsets and counts from this value up are written as ZIP64 (the
    format's own limit by default; lower only to exercise ZIP64 readers with small files)."""

    zip64_from: int = ZIP64_LIMIT

    def _big(self, value: int) -> bool:
        return value >= min(self.zip64_from, ZIP64_LIMIT)

    def _needs_zip64(self, entry: ZipEntry, offset: int) -> bool:
        return self._big(entry.size) or self._big(offset)

    def local_header(self, entry: ZipEntry, offset: int) -> bytes:
        name = entry.name.encode()
        extra = _extended_time(entry.mtime)
        size = entry.size
        if self._big(entry.size):  # a local ZIP64 field holds both sizes, always
            extra = struct.pack("<HHQQ", _ZIP64_EXTRA, 16, entry.size, entry.size) + extra
            size = ZIP64_LIMIT
        version = _VERSION_ZIP64 if self._needs_zip64(entry, offset) else _VERSION_STORED
        time, date = dos_time(entry.mtime)
        return struct.pack("<IHHHHHIIIHH", _LOCAL, version, _UTF8_NAMES, _STORED, time, date,
                           entry.crc32, size, size, len(name), len(extra)) + name + extra

    def local_header_size(self, entry: ZipEntry) -> int:
        return 30 + len(entry.name.encode()) + len(_extended_time(entry.mtime)) + (20 if self._big(entry.size) else 0)

    def central_header(self, entry: ZipEntry, offset: int) -> bytes:
        name = entry.name.encode()
        wide = [value for value in (entry.size, entry.size, offset) if self._big(value)]
        extra = struct.pack(f"<HH{len(wide)}Q", _ZIP64_EXTRA, 8 * len(wide), *wide) if wide else b""
        extra += _extended_time(entry.mtime)
        size = ZIP64_LIMIT if self._big(entry.size) else entry.size
        version = _VERSION_ZIP64 if self._needs_zip64(entry, offset) else _VERSION_STORED
        time, date = dos_time(entry.mtime)
        return struct.pack("<IHHHHHHIIIHHHHHII", _CENTRAL, _MADE_BY, version, _UTF8_NAMES, _STORED, time, date,
                           entry.crc32, size, size, len(name), len(extra), 0, 0, 0, _REGULAR_FILE,
                           ZIP64_LIMIT if self._big(offset) else offset) + name + extra

    def end_records(self, entries: int, cd_offset: int, cd_size: int) -> bytes:
        big_count = entries >= min(self.zip64_from, COUNT_LIMIT)
        records = b""
        if big_count or self._big(cd_offset) or self._big(cd_size):
            end64_offset = cd_offset + cd_size
            records = (struct.pack("<IQHHIIQQQQ", _END64, 44, _MADE_BY, _VERSION_ZIP64, 0, 0, entries, entries,
                                   cd_size, cd_offset)
                       + struct.pack("<IIQI", _LOCATOR64, 0, end64_offset, 1))
        count = COUNT_LIMIT if big_count else entries
        return records + struct.pack("<IHHHHIIH", _END, 0, 0, count, count,
                                     ZIP64_LIMIT if self._big(cd_size) else cd_size,
                                     ZIP64_LIMIT if self._big(cd_offset) else cd_offset, 0)


class PartPlanner:
    """Places entries one after another into parts of at most part_size bytes (a single entry larger than
    that gets a part of its own). Each part is a complete archive of its own, as Takeout's are."""

    def __init__(self, zip_format: ZipFormat, part_size: int):
        self.format = zip_format
        self.part_size = part_size
        self.parts: list[PartInfo] = []
        self._number = 1
        self._offset = self._cd_size = self._count = 0

    def _total(self, offset: int, cd_size: int, count: int) -> int:
        return offset + cd_size + len(self.format.end_records(count, offset, cd_size))

    def place(self, entry: ZipEntry) -> tuple[int, int]:
        """(part number, offset of the entry's local header in that part)."""
        if self._count and not self._fits(entry):
            self._close()
        offset = self._offset
        self._offset += self.format.local_header_size(entry) + entry.size
        self._cd_size += len(self.format.central_header(entry, offset))
        self._count += 1
        return self._number, offset

    def _fits(self, entry: ZipEntry) -> bool:
        end = self._offset + self.format.local_header_size(entry) + entry.size
        cd_size = self._cd_size + len(self.format.central_header(entry, self._offset))
        return self._total(end, cd_size, self._count + 1) <= self.part_size

    def _close(self) -> None:
        self.parts.append(PartInfo(self._number, self._total(self._offset, self._cd_size, self._count),
                                   self._count, self._offset, self._cd_size))
        self._number += 1
        self._offset = self._cd_size = self._count = 0

    def finish(self) -> list[PartInfo]:
        if self._count or not self.parts:
            self._close()
        return self.parts


@dataclass(frozen=True)
class Placed:
    entry: ZipEntry
    offset: int  # of its local header in the part
    source: object = None  # where its data comes from: the caller's, for read_data


def part_bytes(zip_format: ZipFormat, part: PartInfo, entries_from: Callable[[int], Iterable[Placed]],
               read_data: Callable[[Placed, int, int], Iterable[bytes]], start: int, end: int) -> Iterator[bytes]:
    """The bytes [start, end) of a part, made from its entries alone.

    entries_from(offset): the part's entries in order, beginning with the one whose local header starts at
    or before offset (entries_from(0): all of them). read_data(placed, a, b): bytes a to b of an entry's data.
    """
    if start < part.cd_offset:
        for placed in entries_from(start):
            if placed.offset >= end:
                break
            header = zip_format.local_header(placed.entry, placed.offset)
            data_at = placed.offset + len(header)
            if data_at > start:
                yield header[max(0, start - placed.offset):min(len(header), end - placed.offset)]
            first, last = max(start, data_at) - data_at, min(end, data_at + placed.entry.size) - data_at
            if first < last:
                yield from read_data(placed, first, last)
    if end > part.cd_offset and start < part.cd_offset + part.cd_size:
        position = part.cd_offset
        for placed in entries_from(0):
            record = zip_format.central_header(placed.entry, placed.offset)
            if position + len(record) > start:
                yield record[max(0, start - position):end - position]
            position += len(record)
            if position >= end:
                break
    tail_at = part.cd_offset + part.cd_size
    if end > tail_at:
        tail = zip_format.end_records(part.entries, part.cd_offset, part.cd_size)
        yield tail[max(0, start - tail_at):end - tail_at]

"""A link's "download all": one zip of the originals it shows, streamed from the blob store as it is sent.

The entries are stored (not compressed) with the size and CRC-32 each asset already has, so the archive's
length and the place of every byte are known before the first byte goes (portability.zipformat, which the
exports use): the answer has its Content-Length, a download cut short resumes with a Range, and memory holds
one small record per item, never their bytes."""

from __future__ import annotations

import bisect
import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from phonecloud.core.blobstore import BlobNotFound, BlobStore
from phonecloud.core.names import safe_filename
from phonecloud.gallery.models import Asset
from phonecloud.media.sniff import sniff_extension
from phonecloud.portability.takeout import NameAllocator
from phonecloud.portability.zipformat import PartInfo, PartPlanner, Placed, ZipEntry, ZipFormat, part_bytes

log = logging.getLogger("phonecloud.gallery.sharing")
_ONE_PART = 1 << 62  # every entry in one archive
_CHUNK = 1 << 20


class ArchiveCut(Exception):
    """An original went missing or shrank while the archive was being sent: the answer stops there (the bytes
    after it would be another entry's at the wrong place)."""


@dataclass(frozen=True)
class Archive:
    part: PartInfo
    placed: list[Placed]  # in order; each one's source is its blob key
    etag: str  # changes whenever the archive's bytes would

    @property
    def size(self) -> int:
        return self.part.size

    def stream(self, blobs: BlobStore, start: int, end: int) -> Iterator[bytes]:
        """The archive's bytes [start, end)."""
        offsets = [placed.offset for placed in self.placed]

        def entries_from(offset: int) -> Iterable[Placed]:  # from the one whose header starts at or before it
            return self.placed[max(0, bisect.bisect_right(offsets, offset) - 1):]

        def read_data(placed: Placed, first: int, last: int) -> Iterator[bytes]:
            sent = 0
            try:
                for chunk in blobs.get(placed.source, first, last, chunk_size=_CHUNK):
                    sent += len(chunk)
                    yield chunk
            except BlobNotFound:
                pass
            if sent != last - first:
                log.error("a shared archive stopped short: %s (%s) gave %d of %d bytes", placed.entry.name,
                          placed.source, sent, last - first)
                raise ArchiveCut(placed.entry.name)

        try:
            yield from part_bytes(ZipFormat(), self.part, entries_from, read_data, start, end)
        except ArchiveCut:
            return  # short of the Content-Length: the client knows it was cut, and never takes one file for another


def plan(assets: Iterable[Asset]) -> Archive:
    """The archive of these assets in this order: each under its own file name made safe (a name taken
    already gets a number, as in exports), dated by its capture time."""
    zip_format, names = ZipFormat(), NameAllocator()
    planner = PartPlanner(zip_format, _ONE_PART)
    placed, digest = [], hashlib.sha256()
    for asset in assets:
        name = names.allocate(safe_filename(asset.original_filename, sniff_extension(asset.mime_type)), sidecar=False)
        entry = ZipEntry(name, asset.size_bytes, asset.crc32, int(asset.sort_at.timestamp()))
        _, offset = planner.place(entry)
        placed.append(Placed(entry, offset, asset.blob_key))
        digest.update(f"{asset.id} {asset.sha1} {entry.mtime} {name}\n".encode())
    [part] = planner.finish()
    return Archive(part, placed, f'"{digest.hexdigest()[:32]}"')

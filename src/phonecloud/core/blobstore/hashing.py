"""A blob written through a file: its size, CRC-32 and SHA-256 counted on the way (an export's generated
files, which the archive lists with all three)."""

from __future__ import annotations

import hashlib
import io
import zlib

from phonecloud.core.blobstore.base import BlobWriter

PIECE_BYTES = 1 << 20  # what goes to the blob store at a time


class HashingWriter(io.RawIOBase):
    """A blob being written through a file: its size, CRC-32 and SHA-256 as they pass."""

    def __init__(self, writer: BlobWriter):
        self._writer = writer
        self._pending = bytearray()
        self.size = 0
        self.crc32 = 0
        self._sha256 = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        data = bytes(data)
        self.size += len(data)
        self.crc32 = zlib.crc32(data, self.crc32)
        self._sha256.update(data)
        self._pending += data
        if len(self._pending) >= PIECE_BYTES:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self._pending:
            self._writer.write(bytes(self._pending))
            self._pending = bytearray()

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

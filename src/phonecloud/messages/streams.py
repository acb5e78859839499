"""Byte streams between the formats' file-like readers and writers and the server's chunked ones: a blob
read as a file, and a writer's output handed to an HTTP response as it is written. Each holds at most a few
chunks."""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable, Iterator
from typing import BinaryIO


PIECE_BYTES = 1 << 20  # what the pipe hands on at a time
_PIPE_DEPTH = 4  # pieces waiting in the pipe: its memory is at most this many pieces
_GIVE_UP_SECONDS = 600  # a reader that stopped taking pieces this long ago is gone
_END = object()


class ChunkReader(io.RawIOBase):
    """A file over an iterator of byte chunks (a blob store's get()), read once from its start."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._left:
            self._left = next(self._chunks, b"")
            if not self._left:
                return 0
        count = min(len(buffer), len(self._left))
        buffer[:count] = self._left[:count]
        self._left = self._left[count:]
        return count

    def close(self) -> None:
        getattr(self._chunks, "close", lambda: None)()
        super().close()


class _PipeEnd(io.RawIOBase):
    """What the writer writes to: pieces of about PIECE_BYTES go into the queue; a file that cannot seek."""

    def __init__(self, pieces: queue.Queue, stopped: threading.Event):
        self._pieces = pieces
        self._stopped = stopped
        self._pending = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._pending += data
        if len(self._pending) >= PIECE_BYTES:
            self.hand_on()
        return len(data)

    def hand_on(self) -> None:
        if self._pending:
            self.put(bytes(self._pending))
            self._pending = bytearray()

    def put(self, item) -> None:
        for _ in range(_GIVE_UP_SECONDS):
            if self._stopped.is_set():
                raise BrokenPipeError("the reader of the stream went away")
            try:
                self._pieces.put(item, timeout=1)
                return
            except queue.Full:
                continue
        raise BrokenPipeError("the reader of the stream stopped reading")


def piped(write: Callable[[BinaryIO], object]) -> Iterator[bytes]:
    """What write(out) writes, as an iterator of pieces, produced by a thread of its own as they are taken:
    memory stays at a few pieces whatever the size. An error in the writer ends the iteration with it
    (a response then stops short of its end); a reader that stops early stops the writer."""
    pieces: queue.Queue = queue.Queue(maxsize=_PIPE_DEPTH)
    stopped = threading.Event()
    failure: list[BaseException] = []

    def produce() -> None:
        end = _PipeEnd(pieces, stopped)
        try:
            write(end)
            end.hand_on()
        except BaseException as error:  # handed to the reader, whatever it was
            failure.append(error)
        try:
            end.put(_END)
        except BrokenPipeError:
            pass

    worker = threading.Thread(target=produce, name="phonecloud-stream", daemon=True)
    worker.start()
    try:
        while True:
            piece = pieces.get()
            if piece is _END:
                break
            yield piece
        if failure and not isinstance(failure[0], BrokenPipeError):
            raise failure[0]
    finally:
        stopped.set()

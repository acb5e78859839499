"""The pipe between the render sandbox's two sides: the server's (sandbox.py) and the child process's
(sandbox_child.py). Both import this module; it runs nothing of its own.

Every message is a frame: its length in 4 bytes (big-endian), then a JSON object of that many bytes. The child
first sends one frame saying whether it is ready ({"ok": true, "pid": N} or {"ok": false, "error": ...}).
Then the parent sends requests, {"op": "render" | "process" | "ping" | "debug", ...}, one at a time, and the
child answers each with one frame whose "blobs" lists the lengths of the byte strings that follow it (the
derivative asked for). The child exits at the end of its input.

JSON only, both ways: the parent never unpickles what the child sends, since a child taken over by a crafted
file could otherwise run code in the server; it checks the sizes the child announces against the limits here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import BinaryIO

LENGTH_BYTES = 4
MAX_HEADER = 64 * 1024  # the longest frame the parent reads
MAX_OUTPUT = 64 * 1024 * 1024  # far above a 1440 px JPEG; a child claiming more is broken or hostile
EXIT_OUT_OF_MEMORY = 70  # the child's exit status after a MemoryError


class ProtocolError(Exception):
    """What was read is not a frame of this protocol."""


def write_message(stream: BinaryIO, message: dict, blobs: Sequence[bytes] | None = None) -> None:
    """A frame of `message`, then the blobs of a reply (their lengths go in its "blobs"); all of it is
    written when this returns."""
    if blobs is not None:
        message = {**message, "blobs": [len(blob) for blob in blobs]}
    payload = json.dumps(message).encode()
    stream.write(len(payload).to_bytes(LENGTH_BYTES, "big") + payload)
    for blob in blobs or ():
        stream.write(blob)
    stream.flush()


def read_message(read_exact: Callable[[int], bytes], max_length: int | None = MAX_HEADER) -> dict:
    """One frame, read with read_exact(n), which returns n bytes or raises (EOFError at the end of the input,
    or its own); ProtocolError when the frame is longer than max_length or not a JSON object."""
    length = int.from_bytes(read_exact(LENGTH_BYTES), "big")
    if max_length is not None and length > max_length:
        raise ProtocolError(f"header of {length} bytes")
    try:
        message = json.loads(read_exact(length))
    except ValueError as error:
        raise ProtocolError(f"undecodable header: {error}") from None
    if not isinstance(message, dict):
        raise ProtocolError("header is not an object")
    return message

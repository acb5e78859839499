"""Resumable downloads: a `.partial` file grows with Range requests until it is whole, across failures
(errors.py's rules, counting only failures in a row that brought nothing) and across runs; and fsync_path,
which waits for a file or a folder's names to be on disk. Pure Python."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from pathlib import Path

from phonecloud.client.api import Api
from phonecloud.client.bulk import BUFFER, WRITE_SIZE
from phonecloud.client.errors import NetworkError, ServerError

CHUNK = 1 << 20
PARTIAL_SUFFIX = ".partial"
_ATTACHMENT_NAME = re.compile(r'filename="([^"/\\]+)"')


class Restart(Exception):
    """The server no longer serves the bytes the partial file began with."""


def partial_path(final: Path) -> Path:
    return final.with_name(final.name + PARTIAL_SUFFIX)


def fetch(api: Api, url: str, final: Path, size: int, advance: Callable[[int], None],
          validator: str | None = None, hasher_factory: Callable[[], object] | None = None, finish: bool = True):
    """Download url (size bytes) into final, durably, through final's .partial file, resuming what an
    earlier attempt or run left there. With validator (an ETag), a partial file of other bytes is started
    over. Returns the hasher fed with every byte of the file (hasher_factory's), or None.
    finish=False leaves the whole file under its .partial name, not yet fsynced: the caller makes it
    durable before naming it (pull does so for groups of files, off its transfer threads)."""
    partial = partial_path(final)
    failures = 0
    while True:
        have = partial.stat().st_size if partial.exists() else 0
        if have > size:
            partial.unlink()
            have = 0
        hasher = _hash_existing(partial, have, hasher_factory)
        try:
            _receive(api, url, partial, have, size, advance, validator, hasher, finish)
            break
        except Restart:
            partial.unlink(missing_ok=True)
        except ServerError as error:
            grew = partial.exists() and partial.stat().st_size > have
            failures = 1 if grew else failures + 1  # only failures in a row count
            if not error.transient or not api.retry.again(failures):
                raise
            api.retry.pause(failures)
    if finish:
        os.replace(partial, final)
    return hasher


def _hash_existing(partial: Path, have: int, hasher_factory) -> object | None:
    if hasher_factory is None:
        return None
    hasher = hasher_factory()
    if have:
        with open(partial, "rb") as existing:
            while chunk := existing.read(CHUNK):
                hasher.update(chunk)
    return hasher


def _receive(api: Api, url: str, partial: Path, have: int, size: int, advance, validator, hasher,
             sync: bool) -> None:
    headers = {"Accept-Encoding": "identity"}  # the bytes as stored: they are hashed and resumed by offset
    if have:
        headers["Range"] = f"bytes={have}-"
        if validator:
            headers["If-Range"] = validator
    if have == size:
        return
    with api.download(url, headers) as response:
        if response.status_code == 416 and have:
            raise Restart()
        if response.status_code >= 400:
            raise response.error()
        if have and response.status_code != 206:
            raise Restart()  # the server sent the whole file: its bytes changed (or it ignores Range)
        if have and not response.headers.get("content-range", "").startswith(f"bytes {have}-"):
            raise Restart()
        received = receive_into(response, partial, None, advance, hasher, sync)
    if have + received != size:  # a broken connection: resumed like one
        raise NetworkError(f"{url} ended after {have + received} of {size} bytes")


def attachment_name(response) -> str | None:
    """The file name the answer's Content-Disposition gives (never a path), or None."""
    found = _ATTACHMENT_NAME.search(response.headers.get("content-disposition", ""))
    return found.group(1) if found else None


def download_whole(api: Api, url: str, final: Path | Callable[[object], Path], hasher=None,
                   check: Callable[[], None] | None = None) -> tuple[Path, int]:
    """GET url into a file, whole or not at all, for answers that cannot be resumed (made as they are sent):
    written under the file's .partial name as the bytes arrive, made durable, then given its name (an atomic
    rename, its folder's entry fsynced). A refusal writes nothing; a stream cut short is removed, never taken
    for a whole file. final: the file, or a function of the answer that names it (from attachment_name, say).
    hasher: fed every chunk (.update). check: called once every byte came, raises when they are not whole
    (what the format itself tells, for an answer whose end a proxy may have cut without a trace). Returns
    the file and its size."""
    with api.download(url, {"Accept-Encoding": "identity"}) as answer:
        if answer.status_code >= 400:
            raise answer.error()
        target = final(answer) if callable(final) else final
        partial = partial_path(target)
        partial.unlink(missing_ok=True)
        try:
            size = receive_into(answer, partial, None, lambda count: None, hasher, sync=True)
            if check is not None:
                check()
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    os.replace(partial, target)
    fsync_path(target.parent, directory=True)
    return target, size


def receive_into(response, partial: Path, limit: int | None, advance, hasher=None, sync: bool = False) -> int:
    """Appends the answer's next bytes to partial: up to limit (None: to the end of the answer); returns how
    many came. Reads into this thread's reused buffer, hashes and writes from it."""
    buffer = _buffer()
    fd = os.open(partial, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    got = 0
    try:
        while limit is None or got < limit:
            received = response.readinto(buffer if limit is None else buffer[:min(BUFFER, limit - got)])
            if not received:
                break
            chunk = buffer[:received]
            for start in range(0, received, WRITE_SIZE):
                _write_all(fd, chunk[start:start + WRITE_SIZE])
            if hasher is not None:
                hasher.update(chunk)
            advance(received)
            got += received
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    return got


_buffers = threading.local()


def _buffer() -> memoryview:
    """This thread's reused receive buffer (fresh large buffers cost page faults on every download)."""
    if getattr(_buffers, "view", None) is None:
        _buffers.view = memoryview(bytearray(BUFFER))
    return _buffers.view


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data):]


def fsync_path(path: Path, directory: bool = False) -> None:
    """Waits until the file (or the folder's entries: the names in it) is on disk."""
    try:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    except OSError:
        if directory:
            return  # a system that cannot open folders (Windows) orders their entries itself
        raise
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

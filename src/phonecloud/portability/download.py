"""Resumable downloads: a `.partial` file grows with Range requests until it is whole, across failures
and across runs. Pure Python."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from phonecloud.portability.client_api import PortabilityApi
from phonecloud.sync.api import _TRANSIENT_STATUS, ServerError, _error_of

CHUNK = 1 << 20
PARTIAL_SUFFIX = ".partial"


class Restart(Exception):
    """The server no longer serves the bytes the partial file began with."""


def partial_path(final: Path) -> Path:
    return final.with_name(final.name + PARTIAL_SUFFIX)


def fetch(api: PortabilityApi, url: str, final: Path, size: int, advance: Callable[[int], None],
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
        except (httpx.TransportError, ServerError) as error:
            transient = isinstance(error, httpx.TransportError) or error.status in _TRANSIENT_STATUS
            grew = partial.exists() and partial.stat().st_size > have
            failures = 0 if grew else failures + 1
            if not transient or failures > api.retries:
                raise error if isinstance(error, ServerError) else ServerError(0, "network", f"network error: {error}")
            time.sleep(api.backoff * 2 ** min(failures, 6) * (0.5 + random.random()))
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


def _receive(api: PortabilityApi, url: str, partial: Path, have: int, size: int, advance, validator, hasher,
             sync: bool) -> None:
    headers = {"Accept-Encoding": "identity"}  # the bytes as stored: they are hashed and resumed by offset
    if have:
        headers["Range"] = f"bytes={have}-"
        if validator:
            headers["If-Range"] = validator
    if have == size:
        return
    with api.stream(url, headers) as response:
        if response.status_code == 416 and have:
            raise Restart()
        if response.status_code >= 400:
            response.read()
            raise _error_of(response)
        if have and response.status_code != 206:
            raise Restart()  # the server sent the whole file: its bytes changed (or it ignores Range)
        if have and not response.headers.get("content-range", "").startswith(f"bytes {have}-"):
            raise Restart()
        with open(partial, "ab") as out:
            for chunk in response.iter_raw():
                out.write(chunk)
                if hasher is not None:
                    hasher.update(chunk)
                advance(len(chunk))
            out.flush()
            if sync:
                os.fsync(out.fileno())
    if partial.stat().st_size != size:  # a transport failure: resumed like one
        raise httpx.RemoteProtocolError(f"{url} ended after {partial.stat().st_size} of {size} bytes")

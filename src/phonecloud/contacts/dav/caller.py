"""Who the CardDAV request being handled is for: set by the WSGI wrapper around Radicale for the length of one
request (which Radicale handles whole in one thread), read by the storage plugin, which serves nobody else's
collections whatever the path says."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from phonecloud.accounts.service import Principal

_local = threading.local()


@contextmanager
def serving(principal: Principal) -> Iterator[None]:
    _local.principal = principal
    try:
        yield
    finally:
        _local.principal = None


def current() -> Principal | None:
    return getattr(_local, "principal", None)

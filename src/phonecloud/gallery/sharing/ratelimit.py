"""A small in-process token bucket per client address, for what anyone may ask without an account (shared
links). Each API process keeps its own buckets: behind a load balancer with N processes, an address may make
up to N times the rate (the password of a link is throttled in the database, shared by every process)."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict


class RateLimiter:
    """burst requests at once, refilled at rate per second; at most `addresses` buckets are kept (the least
    recently used go first, which only ever forgives an address)."""

    def __init__(self, rate: float, burst: int, addresses: int = 10_000, clock=time.monotonic):
        self.rate = rate
        self.burst = burst
        self.addresses = addresses
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # address → (tokens, when)
        self._lock = threading.Lock()

    def take(self, address: str) -> int:
        """0 when the request may go ahead (a token is taken), else the seconds to wait before the next one."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(address, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            allowed = tokens >= 1
            self._buckets[address] = (tokens - 1 if allowed else tokens, now)
            while len(self._buckets) > self.addresses:
                self._buckets.popitem(last=False)
        return 0 if allowed else max(1, math.ceil((1 - tokens) / self.rate))

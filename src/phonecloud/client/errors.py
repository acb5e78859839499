"""The client's one set of failure rules, for every request it makes (httpx's in api.py, the stdlib fast path
of bulk.py): a refusal is one ServerError carrying the server's own message; network failures and answers
that mean "later" are tried again, up to a number of failures in a row, after waits that double each time."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

# Answers that mean "not now": a timeout, too early, too many requests, a server restarting or overloaded.
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
NO_STATUS = 0  # the status of a failure that is not the server's answer (network, a bad URL or proxy)


class ServerError(Exception):
    """The server refused a request (message is its own explanation), or the request could not be made."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code

    @property
    def transient(self) -> bool:
        """Worth another try: the server said "later"."""
        return self.status in TRANSIENT_STATUS


class NetworkError(ServerError):
    """The connection failed or broke before a whole answer came: always worth another try."""

    def __init__(self, message: str):
        super().__init__(NO_STATUS, "network", message)

    @property
    def transient(self) -> bool:
        return True


def network_error(url: str, error: BaseException) -> NetworkError:
    return NetworkError(f"network error: {error} ({shown(url)})")


def refusal(status: int, body: bytes, url: str) -> ServerError:
    """An answer of status 400 or more as a ServerError: the server's JSON error code and message, else the
    start of what it sent. A refused key (401) says which server refused it and what to do."""
    text = body.decode("utf-8", "replace")
    try:
        answer = json.loads(body)
        if not isinstance(answer, dict):
            raise ValueError("not an object")
        code, message = str(answer.get("error", "error")), str(answer.get("message", text))
    except ValueError:
        code, message = "error", f"HTTP {status}: {text[:200]}"
    if status == 401:
        message = (f"{origin(url)} refused the API key ({message}); "
                   "check it, or make a new one with `phonecloud admin create-key`")
    return ServerError(status, code, message)


@dataclass(frozen=True)
class Retry:
    """How many failures in a row a transfer survives (the first try and `retries` more), and the waits
    between tries: `backoff` seconds, doubling with each failure in a row (at most 64 times), each drawn
    between half and one and a half of that so that many clients do not come back in step."""

    retries: int = 5
    backoff: float = 0.5

    def at_least(self, retries: int) -> Retry:
        """This policy with at least `retries` retries (the same waits)."""
        return Retry(max(self.retries, retries), self.backoff)

    def again(self, failures: int) -> bool:
        """Whether to try again after this many failures in a row."""
        return failures <= self.retries

    def pause(self, failures: int) -> None:
        doublings = min(max(failures, 1), 7) - 1
        time.sleep(self.backoff * 2**doublings * (0.5 + random.random()))


def origin(url: str) -> str:
    """scheme://host[:port] of a URL, without any user name or password in it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: not worth repeating
        port = ""
    return f"{parts.scheme}://{'[' + host + ']' if ':' in host else host}{port}"


def shown(url: str) -> str:
    """A URL fit for a message: without credentials or query."""
    parts = urlsplit(url)
    return origin(url) + parts.path if parts.netloc else url.partition("?")[0]

"""The client's one set of failure rules, for every request it makes (httpx's in api.py, the stdlib fast path
of bulk.py): a refusal is one ServerError carrying the server's own message; network failures and answers
that mean "later" are tried again, up to a number of failures in a row, after waits that double each time,
except those no wait can mend (a host name that does not exist, a server that does not speak TLS or whose
certificate is refused). A network failure says what happened, what to check and the URL that failed."""

from __future__ import annotations

import errno
import json
import random
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

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
    """The connection failed or broke before a whole answer came: worth another try, unless it is `lasting`.
    reason: "dns", "refused", "unreachable", "connect_timeout" (no connection was made), "tls" or "broken"."""

    def __init__(self, message: str, reason: str = "broken", lasting: bool = False):
        super().__init__(NO_STATUS, "network", message)
        self.reason, self.lasting = reason, lasting

    @property
    def transient(self) -> bool:
        return not self.lasting

    @property
    def unconnected(self) -> bool:
        """No connection was made: the server's name, address or port is wrong, or it is down."""
        return self.reason in ("dns", "refused", "unreachable", "connect_timeout")


# What an https:// request gets from a server that answers in plain HTTP, by OpenSSL's reason.
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE",
                      "HTTP_REQUEST"})
# getaddrinfo's answers that a name does not exist (not "try again later").
_NO_SUCH_NAME = frozenset(getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, name))


def network_error(url: str, error: BaseException) -> NetworkError:
    """The failure of a request to url: what happened and what to check, then the URL (without credentials)."""
    reason, lasting, text = _diagnosis(url, error)
    return NetworkError(f"network error: {text} ({shown(url)})", reason, lasting)


def _diagnosis(url: str, error: BaseException) -> tuple[str, bool, str]:
    """(reason, lasting, what happened and what to check) of a failure, from the chain of its causes (httpx
    wraps the socket's error twice; the stdlib path raises it bare)."""
    causes, cause = [], error
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    host = urlsplit(url).hostname or url
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "tls", True, (f"the server's TLS certificate was not accepted ({cause.verify_message or cause}): "
                                 "check the host name, or give the server a certificate this device trusts")
        if isinstance(cause, ssl.SSLError) and cause.reason in _NOT_TLS:
            plain = origin(url).replace("https://", "http://", 1)
            return "tls", True, (f"the server did not answer in TLS as https:// needs ([SSL: {cause.reason}]); if "
                                 f"it serves plain HTTP, use {plain} instead")
        if isinstance(cause, socket.gaierror):
            if cause.errno in _NO_SUCH_NAME:
                return "dns", True, (f"the host name {host} was not found: check how it is spelt, or use the "
                                     "server's IP address")
            return "dns", False, (f"the host name {host} could not be looked up ({cause.strerror or cause}): check "
                                  "this device's network connection")
        if isinstance(cause, ConnectionRefusedError):
            return "refused", False, ("connection refused: check that the server is running and listens on this "
                                      "host and port")
        if isinstance(cause, httpx.ConnectTimeout):
            return "connect_timeout", False, ("no answer while connecting: check the host and port, and that no "
                                              "firewall is in the way")
        if isinstance(cause, OSError) and cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "unreachable", False, (f"{cause.strerror or cause}: check this device's network connection and "
                                          "the server's address")
    return "broken", False, str(error)


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

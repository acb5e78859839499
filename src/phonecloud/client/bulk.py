"""Download bodies read from the socket straight into one reused buffer (stdlib http.client): httpx's
layers cost more client CPU than the bytes themselves (a pull measured 7.2–8.4 s through httpx against
5.0 s this way, on 2 cores). The requests carry the same credentials, trust store (httpx's) and proxy
settings from the environment as the client's other requests, and their failures are told by the same
rules (errors.py): NetworkError, or the server's refusal. One keep-alive connection per thread. Pure Python."""

from __future__ import annotations

import base64
import http.client
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit

import httpx

from phonecloud.client.errors import NO_STATUS, ServerError, network_error, refusal

BUFFER = 128 << 10  # each read fills at most this much
# Each write to a file takes at most this much: Linux's page cache gives larger writes larger folios, and
# on this project's test machine (6.18, ext4) writes of 64 KiB or more cost twice the kernel CPU per byte
# (a 3 GB pull: 6.7 s with 64 KiB writes, 5.4 s with 32 KiB ones, 6.0 s with 16 KiB ones).
WRITE_SIZE = 32 << 10
_ERROR_BODY_LIMIT = 64 << 10


class Answer:
    """A response whose body the caller reads with readinto()."""

    def __init__(self, response: http.client.HTTPResponse, url: str):
        self._response, self._url = response, url
        self.status_code = response.status
        self.headers = response.headers  # case-insensitive

    def readinto(self, buffer: memoryview) -> int:
        """Fills buffer with the next bytes of the body; 0 at its end (also when the connection ended early:
        the caller compares what it got with what it expected). A broken connection raises NetworkError."""
        try:
            return self._response.readinto(buffer)
        except (OSError, http.client.HTTPException) as error:
            raise network_error(self._url, error) from error

    def error(self) -> ServerError:
        """The server's refusal, as the client's other requests report it."""
        try:
            body = self._response.read(_ERROR_BODY_LIMIT)
        except (OSError, http.client.HTTPException):
            body = b""
        return refusal(self.status_code, body, self._url)


class BulkGetter:
    def __init__(self, base_url: str, headers: dict[str, str], timeout: float):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServerError(NO_STATUS, "network", f"not an http(s) URL: {base_url}")
        self._base, self._https, self._timeout = base_url.rstrip("/"), parts.scheme == "https", timeout
        self._host, self._port = parts.hostname, parts.port or (443 if self._https else 80)
        self._path = parts.path.rstrip("/")
        self._headers = dict(headers)
        self._proxy = _proxy_for(parts.scheme, self._host)
        self._context = httpx.create_ssl_context() if self._https else None
        self._local = threading.local()
        self._open: set[http.client.HTTPConnection] = set()  # every thread's, for close()
        self._lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        host, port = (self._proxy.hostname, self._proxy.port or 80) if self._proxy else (self._host, self._port)
        if self._https:
            connection = http.client.HTTPSConnection(host, port, timeout=self._timeout, context=self._context)
            if self._proxy:
                connection.set_tunnel(self._host, self._port, headers=_proxy_headers(self._proxy))
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self._timeout)
        self._local.connection = connection
        with self._lock:
            self._open.add(connection)
        return connection

    def _forget_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()
            with self._lock:
                self._open.discard(connection)

    @contextmanager
    def request(self, method: str, path: str, headers: dict[str, str], body: bytes | None = None) -> Iterator[Answer]:
        """A request to path (below the base URL); the connection is kept for the next request when the
        answer was read to its end, and closed otherwise."""
        url = f"{self._base}{path}"
        target = url if self._proxy and not self._https else f"{self._path}{path}"
        extra = _proxy_headers(self._proxy) if self._proxy and not self._https else {}
        connection = self._connection()
        try:
            connection.request(method, target, body=body, headers={**self._headers, **extra, **headers})
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as error:
            self._forget_connection()
            raise network_error(url, error) from error
        try:
            yield Answer(response, url)
        finally:
            if not response.isclosed() or response.will_close:  # a body left unread cannot be followed
                self._forget_connection()

    def close(self) -> None:
        """Closes every thread's connection (call it once the transfers are over)."""
        with self._lock:
            connections, self._open = self._open, set()
        for connection in connections:
            connection.close()


def _proxy_for(scheme: str, host: str):
    """The proxy the environment names for this server (HTTP(S)_PROXY, NO_PROXY), as httpx would use it."""
    proxies = urllib.request.getproxies_environment()
    address = proxies.get(scheme) or proxies.get("all")
    if not address or urllib.request.proxy_bypass_environment(host, proxies):
        return None
    proxy = urlsplit(address if "://" in address else f"http://{address}")
    if proxy.scheme != "http":
        raise ServerError(NO_STATUS, "network", f"only http:// proxies are supported for downloads, not {address}")
    return proxy


def _proxy_headers(proxy) -> dict[str, str]:
    if proxy.username is None:
        return {}
    credentials = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}".encode()
    return {"Proxy-Authorization": f"Basic {base64.b64encode(credentials).decode()}"}

"""The app in the test's own process: for domain rules, where a separate server process is not what is tested.

`InProcessServer` has the test-facing shape of conftest.Server (data folder, storage settings, a log, clients),
but its requests go straight into the ASGI app on its event loop: no socket, no process, no HTTP parsing. The
app runs exactly as `phonecloud serve` builds it, lifespan included (recovery at start, embedded job workers),
on the same SQLite or PostgreSQL + S3 storage a real test server would get.
Modules opt in with `pytestmark = pytest.mark.in_process`; their `server`, `accounts`, `user` and `other_user`
are then this app's."""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from pathlib import Path

import httpx

from scaleout import ServerStorage

BASE_URL = "http://phonecloud.test"
_RUNNING: weakref.WeakSet = weakref.WeakSet()  # the apps started in this process and not stopped
CLIENT_ADDRESS = ("127.0.0.1", 40000)  # what the app sees as the peer, as loopback clients of a real server


class AppTransport(httpx.BaseTransport):
    """Hands each request whole to the app's event loop and waits for the answer: one hop to the loop's
    thread and back per request (requests from a test's threads run side by side, as on a server)."""

    def __init__(self, app, loop: asyncio.AbstractEventLoop):
        # raise_app_exceptions=False: an unexpected error is answered 500 and logged, as by a real server.
        self._asgi = httpx.ASGITransport(app=app, client=CLIENT_ADDRESS, raise_app_exceptions=False)
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        asynchronous = httpx.Request(request.method, request.url, headers=request.headers,
                                     stream=_Body(request.stream))
        exchange = asyncio.run_coroutine_threadsafe(self._exchange(asynchronous), self._loop)
        status, headers, content = exchange.result()
        # A stream rather than content: httpx would add a Content-Length the app did not send.
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content), request=request)

    async def _exchange(self, request: httpx.Request) -> tuple[int, httpx.Headers, bytes]:
        response = await self._asgi.handle_async_request(request)
        content = b"".join([part async for part in response.stream])
        return response.status_code, response.headers, content


class _Body(httpx.AsyncByteStream):
    """A request body as the app receives it from a socket: part after part, with no length it did not have."""

    def __init__(self, parts):
        self._parts = parts

    async def __aiter__(self):
        for part in self._parts:
            yield part


class _Recorded(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class InProcessServer(ServerStorage):
    """The phonecloud app on data_dir, served in this process; settings as `PHONECLOUD_*` environment names."""

    url = BASE_URL

    def __init__(self, data_dir: Path, extra_env: dict[str, str] | None = None):
        super().__init__(data_dir, extra_env)
        self._log = _Recorded()
        self.running = False

    def start(self) -> InProcessServer:
        from phonecloud.core.settings import Settings
        from phonecloud.server.app import create_app

        self.data_dir.mkdir(parents=True, exist_ok=True)
        settings = {name.removeprefix("PHONECLOUD_").lower(): value for name, value in self.env.items()
                    if name.startswith("PHONECLOUD_")}
        self.app = create_app(Settings(**settings))
        logging.getLogger().addHandler(self._log)
        logging.getLogger("phonecloud").setLevel(logging.INFO)
        # The app's own loop on a thread of its own, as uvicorn's: the test's thread may run a loop of its
        # own (Playwright's sync API does), and the app's start, requests and stop all run on this one.
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self._loop.run_forever, name="in-process-app", daemon=True)
        self._loop_thread.start()
        self._lifespan = self.app.router.lifespan_context(self.app)
        self._on_loop(self._lifespan.__aenter__())
        self.running = True
        _RUNNING.add(self)
        return self

    @property
    def services(self):
        return self.app.state.services

    def client(self, token: str | None = None, base: str = "/api/v1", **options) -> httpx.Client:
        headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **options.pop("headers", {})}
        return httpx.Client(base_url=f"{BASE_URL}{base}", headers=headers,
                            transport=AppTransport(self.app, self._loop), **options)

    def stop(self) -> None:
        _RUNNING.discard(self)
        self._on_loop(self._lifespan.__aexit__(None, None, None))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._loop_thread.join()
        self._loop.close()
        logging.getLogger().removeHandler(self._log)
        self.running = False

    def _on_loop(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def log_text(self) -> str:
        return "\n".join(self._log.lines)


def pause_embedded_workers() -> list:
    """Stop the embedded job workers of every app running in this process (to be started again by the
    caller): the worker pools that were running."""
    paused = []
    for server in list(_RUNNING):
        pool = getattr(server.app.state, "workers", None)
        if pool is not None and pool.threads:
            pool.stop()
            paused.append(pool)
    return paused

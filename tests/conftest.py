"""A real phonecloud server in a subprocess on loopback, and users to talk to it."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from inprocess import InProcessServer, pause_embedded_workers
from phonecloud.core.clock import CLOCK
from scaleout import ServerStorage, left_out_of_scaleout_run, scaleout_selection_applies
from scaleout import postgres_url, s3_url, scaleout_servers  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
SHARED_CORPUS = ROOT.parent / "shared" / "corpus" / "exif-samples"
PHONECLOUD = str(Path(sys.executable).with_name("phonecloud"))


# A bound on a server's start, never an expectation of speed: on the scale-out run of a loaded CI machine one
# took over 30 s (PostgreSQL, S3 and three test workers on two cores).
START_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server(ServerStorage):
    """`phonecloud serve` on a free port with its own data folder (program: what runs `phonecloud ARGS...`,
    the installed command unless told)."""

    def __init__(self, data_dir: Path, extra_env: dict[str, str] | None = None, access_log: bool = False,
                 program: tuple[str, ...] = (PHONECLOUD,)):
        super().__init__(data_dir, extra_env)
        self.program = program
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"server-{self.port}.log"
        self.access_log = access_log
        self.process: subprocess.Popen | None = None

    def start(self) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [*self.program, "serve", "--port", str(self.port)] + (["--access-log"] if self.access_log else [])
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(command, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not become healthy in {START_TIMEOUT} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def client(self, token: str | None = None, base: str = "/api/v1", **options) -> httpx.Client:
        """A client of this server (authenticated with token), base URL the API's unless told otherwise."""
        headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **options.pop("headers", {})}
        return httpx.Client(base_url=f"{self.url}{base}", headers=headers, **{"timeout": 60, **options})


@dataclass
class User:
    email: str
    password: str
    key: str
    http: httpx.Client  # authenticated with the API key, base URL /api/v1


_user_numbers = itertools.count()


class Accounts:
    """Creates users directly through the server's own services on the same database."""

    def __init__(self, server: Server | InProcessServer):
        from phonecloud.accounts import security
        from phonecloud.core.settings import Settings
        from phonecloud.server.container import Services

        # Every test user has the same password: its Argon2 hash (0.2 s of CPU, on purpose) is made once per
        # test process, not once per user. Servers still verify each sign-in in full.
        if not hasattr(security.hash_password, "cache_info"):
            security.hash_password = functools.cache(security.hash_password)

        self.server = server
        # A running app in process: its own services; otherwise services of our own on the server's storage.
        self._own = not (isinstance(server, InProcessServer) and server.running)
        self.services = Services.start(Settings(data_dir=server.data_dir, database_url=server.database_url,
                                                blob_url=server.blob_url)) if self._own else server.services
        self._clients: list[httpx.Client] = []

    def create(self, quota_bytes: int | None = None, name: str = "user") -> User:
        email = f"{name}{next(_user_numbers)}-{os.getpid()}@example.org"
        password = "correct horse battery"
        user = self.services.accounts.create_user(email, password, quota_bytes)
        key = self.services.accounts.create_api_key(user.id, "test device").key
        client = self.server.client(key)
        self._clients.append(client)
        return User(email, password, key, client)

    def close(self) -> None:
        for client in self._clients:
            client.close()
        if self._own:
            self.services.close()


# Every test signs in from 127.0.0.1: the suite's wrong passwords must not lock that address for all of it
# (the address throttle itself is tested on servers of its own).
# Moves started from the web app go to other test servers, on loopback.
SHARED_SERVER_ENV = {"PHONECLOUD_LOGIN_ADDRESS_FAILURES": "1000000", "PHONECLOUD_MOVES_TO_PRIVATE_ADDRESSES": "1"}


def pytest_configure(config):
    config.addinivalue_line("markers", "in_process: the module's server is the app in the test process "
                            "(tests/inprocess.py), for domain rules where no server process is what is tested")


def pytest_collection_modifyitems(config, items):
    if not scaleout_selection_applies():
        return
    tests_root = Path(__file__).resolve().parent
    left = {item for item in items if left_out_of_scaleout_run(item, tests_root)}
    if left:
        config.hook.pytest_deselected(items=list(left))
        items[:] = [item for item in items if item not in left]


@pytest.fixture(scope="session")
def server_process(tmp_path_factory) -> Server:
    running = Server(tmp_path_factory.mktemp("server") / "data", SHARED_SERVER_ENV).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def server_in_process(tmp_path_factory) -> InProcessServer:
    running = InProcessServer(tmp_path_factory.mktemp("app") / "data", SHARED_SERVER_ENV).start()
    yield running
    running.stop()


def _shared(request, name: str):
    """The session's fixture `name` of the kind the module asked for: in process or a server process."""
    in_process = request.node.get_closest_marker("in_process")
    return request.getfixturevalue(f"{name}_in_process" if in_process else f"{name}_process")


# Module-scoped: a module runs either in process or beside a server process, and its own module-scoped
# fixtures (worlds of users and objects) depend on these.
@pytest.fixture(scope="module")
def server(request) -> Server | InProcessServer:
    return _shared(request, "server")


@pytest.fixture(scope="session")
def accounts_process(server_process) -> Accounts:
    made = Accounts(server_process)
    yield made
    made.close()


@pytest.fixture(scope="session")
def accounts_in_process(server_in_process) -> Accounts:
    made = Accounts(server_in_process)
    yield made
    made.close()


@pytest.fixture(scope="module")
def accounts(request) -> Accounts:
    return _shared(request, "accounts")


@pytest.fixture
def user(accounts) -> User:
    return accounts.create()


@pytest.fixture
def other_user(accounts) -> User:
    return accounts.create(name="other")


def upload(user: User, body: bytes, filename: str = "IMG_0001.jpg", modified_at: str = "2022-10-14T12:34:56Z",
           **params) -> httpx.Response:
    query = {"filename": filename, "modified_at": modified_at, **params}
    return user.http.post("/assets", params=query, content=body,
                          headers={"Content-Type": "application/octet-stream"})


@contextmanager
def serving(data_dir: Path, env: dict[str, str] | None = None,
            in_process: bool = False) -> Iterator[tuple[Server | InProcessServer, Accounts]]:
    """A server of its own (with these settings) and its accounts, for as long as the block runs; in_process:
    the app in this process (tests/inprocess.py), where no server process is what the test is about."""
    server = (InProcessServer if in_process else Server)(data_dir, env).start()
    accounts = Accounts(server)
    try:
        yield server, accounts
    finally:
        accounts.close()
        server.stop()


@pytest.fixture
def quiet_server(tmp_path):
    """A server of its own that runs no jobs until the test starts a worker (`run_worker`): (server, accounts)."""
    with serving(tmp_path / "data", {"PHONECLOUD_EMBEDDED_WORKERS": "0"}) as running:
        yield running


def run_worker(server: Server, timeout: float = 300) -> None:
    """Run every job that is ready, in a `phonecloud worker --until-idle` process of its own."""
    worker = subprocess.run([PHONECLOUD, "worker", "--until-idle"], env=server.env, capture_output=True, text=True,
                            timeout=timeout)
    assert worker.returncode == 0, worker.stderr


def staging_drains(server: Server, timeout: float = 15) -> bool:
    """Whether the blob store's staging folder empties: other uploads and the media worker stage files
    too, for milliseconds, so a test that nothing of its own was left waits for the folder to clear."""
    deadline = time.monotonic() + timeout
    staging = server.blob_root / ".staging"  # on S3 too: the store stages under .staging/ in its prefix
    while staging.exists() and any(staging.iterdir()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def shared_corpus_files() -> list[Path]:
    if not SHARED_CORPUS.is_dir():
        return []
    return sorted(p for p in SHARED_CORPUS.rglob("*") if p.is_file() and p.suffix.lower() not in {".md", ".rst", ""})


@pytest.fixture
def two_api_processes(tmp_path, postgres_url, s3_url):  # noqa: F811  (the fixtures imported above)
    """Two `phonecloud serve` processes on one database and one bucket prefix, as behind a load balancer."""
    shared = {"PHONECLOUD_DATABASE_URL": postgres_url, "PHONECLOUD_BLOB_URL": s3_url,
              "PHONECLOUD_EMBEDDED_WORKERS": "0"}
    servers = [Server(tmp_path / name / "data", shared) for name in ("a", "b")]
    for server in servers:
        server.start()
    accounts = Accounts(servers[0])
    yield servers, accounts
    accounts.close()
    for server in servers:
        server.stop()


@pytest.fixture
def clock():
    """travel(delta): moves this process's clock; every move is undone when the test ends. Meanwhile the
    embedded job workers of the apps running in this process are paused: at the moved time they would run
    their apps' future jobs (tomorrow's trash purge) early, for other tests to find done."""
    moved, paused = [], []

    def travel(delta: dt.timedelta) -> None:
        if not moved:
            paused.extend(pause_embedded_workers())
        CLOCK.travel(delta)
        moved.append(delta)

    yield travel
    for delta in moved:
        CLOCK.travel(-delta)
    for pool in paused:
        pool.start()

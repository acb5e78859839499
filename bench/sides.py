"""The servers compared: phonecloud (serve + sync) and rclone (serve webdav + copy).

Both offer the same shape, so the workloads never ask which one they drive:
`with side.serve(label) as session: upload = session.upload(folder)`. Each serve() gets a fresh
folder on the same filesystem, removed again when the server stops. A PhoneCloud side may carry
server settings, so that two phonecloud configurations can be compared the same way (pipeline.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from corpus import Corpus, count_files
from servers import LOOPBACK, BenchError, clean_env, free_port, run_client, running_server

BENCH_EMAIL = "bench@phonecloud.test"
BENCH_QUOTA = "100GiB"
ADMIN_TIMEOUT_S = 120
API_TIMEOUT_S = 60
API_PAGE = 1000  # the largest page GET /api/v1/assets serves
RCLONE_REMOTE = "bench"  # configured through RCLONE_CONFIG_BENCH_* variables


@dataclass(frozen=True)
class Upload:
    seconds: float
    client_peak_rss_kib: int
    summary: dict | None  # phonecloud's JSON summary; rclone prints none


@dataclass(frozen=True)
class Tools:
    """Where the programs and scratch folders are, and the settings shared by both sides."""

    phonecloud: Path
    rclone: Path
    vipsthumbnail: Path | None  # the thumbs workload's baseline (Debian's libvips-tools); None if missing
    work_dir: Path  # fresh server folders go here (same filesystem as the corpus)
    log_dir: Path
    transfers: int
    client_timeout_s: float


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


# --- phonecloud ----------------------------------------------------------------------------


class PhoneCloud:
    def __init__(self, tools: Tools, name: str = "phonecloud", client_env: dict[str, str] | None = None,
                 **settings: str):
        """settings: extra PHONECLOUD_* variables for the server, e.g. PHONECLOUD_EMBEDDED_WORKERS="0";
        client_env: the same for `phonecloud sync`."""
        self.tools = tools
        self.name = name
        self.settings = settings
        self.client_env = client_env or {}

    @contextlib.contextmanager
    def serve(self, label: str):
        home = fresh_dir(self.tools.work_dir / f"{self.name}-{label}")
        port = free_port()
        server_env = clean_env(PHONECLOUD_DATA_DIR=str(home / "data"), **self.settings)
        command = [str(self.tools.phonecloud), "serve", "--host", LOOPBACK, "--port", str(port)]
        url = f"http://{LOOPBACK}:{port}"
        try:
            with running_server(command, server_env, self.tools.log_dir / f"{self.name}-{label}.server.log",
                                f"{url}/api/v1/health") as process:
                key = self._create_account(server_env, label)
                yield PhoneCloudSession(self.tools, process.pid, url, key, home / "client",
                                        self.tools.log_dir / f"{self.name}-{label}.client.log", self.client_env)
        finally:
            shutil.rmtree(home, ignore_errors=True)

    def _create_account(self, server_env: dict[str, str], label: str) -> str:
        """A user with room for the whole corpus, and an API key for it (last line of stdout)."""
        admin = [str(self.tools.phonecloud), "admin"]
        log = self.tools.log_dir / f"{self.name}-{label}.admin.log"
        run_client([*admin, "create-user", BENCH_EMAIL, "--password", secrets.token_urlsafe(16),
                    "--quota", BENCH_QUOTA], server_env, ADMIN_TIMEOUT_S, log)
        created = run_client([*admin, "create-key", BENCH_EMAIL, "--name", "bench"],
                             server_env, ADMIN_TIMEOUT_S, log)
        lines = created.stdout.strip().splitlines()
        if not lines:
            raise BenchError("phonecloud admin create-key printed no key")
        return lines[-1].strip()


class PhoneCloudSession:
    def __init__(self, tools: Tools, pid: int, url: str, key: str, client_dir: Path, log_path: Path,
                 client_env: dict[str, str] | None = None):
        self.tools, self.pid, self.url, self.key = tools, pid, url, key
        self.client_env = client_env or {}
        # One client state folder per session: a second sync in the same session is a re-sync.
        self.client_dir = fresh_dir(client_dir)
        self.log_path = log_path

    def upload(self, folder: Path) -> Upload:
        command = [str(self.tools.phonecloud), "sync", str(folder), "--server", self.url, "--key", self.key,
                   "--json", "--transfers", str(self.tools.transfers)]
        env = clean_env(PHONECLOUD_CLIENT_DIR=str(self.client_dir), **self.client_env)
        run = run_client(command, env, self.tools.client_timeout_s, self.log_path)
        return Upload(run.seconds, run.peak_rss_kib, _last_line_json(run.stdout))

    def check_ingested(self, upload: Upload, corpus: Corpus) -> None:
        _expect_summary(upload.summary, uploaded=corpus.files, failed=0)

    def check_noop(self, upload: Upload, corpus: Corpus) -> None:
        _expect_summary(upload.summary, uploaded=0, failed=0)

    def assets(self) -> list[dict]:
        """Every asset in the library as the API lists it (pages of 1,000: one request for the corpus)."""
        assets, cursor = [], None
        while True:
            query = {"limit": API_PAGE, **({"cursor": cursor} if cursor else {})}
            page = self.get_json(f"/api/v1/assets?{urllib.parse.urlencode(query)}")
            assets += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return assets

    def get_json(self, path: str):
        return json.loads(self.get(path)[1])

    def get(self, path: str) -> tuple[str, bytes]:
        """(Content-Type, body) of an authenticated GET on this server."""
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {self.key}"})
        with urllib.request.urlopen(request, timeout=API_TIMEOUT_S) as response:
            return response.headers.get("Content-Type", ""), response.read()


def _last_line_json(out: str) -> dict:
    lines = out.strip().splitlines()
    try:
        summary = json.loads(lines[-1])
    except (IndexError, ValueError) as error:
        raise BenchError(f"phonecloud sync --json did not end with a JSON line: {out[-500:]!r}") from error
    if not isinstance(summary, dict):
        raise BenchError(f"phonecloud sync summary is not an object: {lines[-1]!r}")
    return summary


def _expect_summary(summary: dict | None, **expected: int) -> None:
    wrong = {k: summary.get(k) for k, v in expected.items() if summary.get(k) != v}
    if wrong:
        raise BenchError(f"phonecloud sync summary {summary} should have {expected}")


# --- rclone --------------------------------------------------------------------------------


class Rclone:
    name = "rclone"

    def __init__(self, tools: Tools):
        self.tools = tools

    @contextlib.contextmanager
    def serve(self, label: str):
        home = fresh_dir(self.tools.work_dir / f"{self.name}-{label}")
        root = fresh_dir(home / "root")
        empty_config = home / "rclone.conf"
        empty_config.touch()  # so no user config file changes the run
        port = free_port()
        command = [str(self.tools.rclone), "serve", "webdav", str(root), "--addr", f"{LOOPBACK}:{port}"]
        url = f"http://{LOOPBACK}:{port}"
        try:
            with running_server(command, clean_env(RCLONE_CONFIG=str(empty_config)),
                                self.tools.log_dir / f"{self.name}-{label}.server.log", f"{url}/") as process:
                yield RcloneSession(self.tools, process.pid, url, empty_config, root / "dest",
                                    self.tools.log_dir / f"{self.name}-{label}.client.log")
        finally:
            shutil.rmtree(home, ignore_errors=True)


class RcloneSession:
    def __init__(self, tools: Tools, pid: int, url: str, config: Path, stored: Path, log_path: Path):
        self.tools, self.pid, self.url, self.config = tools, pid, url, config
        self.stored = stored  # where the webdav server puts what `copy` sends to bench:dest
        self.log_path = log_path
        self._newest_after_ingest = 0

    def upload(self, folder: Path) -> Upload:
        remote = RCLONE_REMOTE.upper()
        env = clean_env(RCLONE_CONFIG=str(self.config), **{
            f"RCLONE_CONFIG_{remote}_TYPE": "webdav",
            f"RCLONE_CONFIG_{remote}_URL": self.url,
            f"RCLONE_CONFIG_{remote}_VENDOR": "other",
        })
        command = [str(self.tools.rclone), "copy", str(folder), f"{RCLONE_REMOTE}:dest",
                   "--transfers", str(self.tools.transfers), "--webdav-pacer-min-sleep", "0"]
        run = run_client(command, env, self.tools.client_timeout_s, self.log_path)
        return Upload(run.seconds, run.peak_rss_kib, None)

    def check_ingested(self, upload: Upload, corpus: Corpus) -> None:
        stored = count_files(self.stored) if self.stored.is_dir() else (0, 0)
        if stored != (corpus.files, corpus.bytes):
            raise BenchError(f"rclone stored {stored[0]} files / {stored[1]} bytes, "
                             f"expected {corpus.files} / {corpus.bytes}")
        self._newest_after_ingest = _newest_mtime_ns(self.stored)

    def check_noop(self, upload: Upload, corpus: Corpus) -> None:
        """A real no-op rewrites nothing: otherwise the baseline would be measuring uploads."""
        if _newest_mtime_ns(self.stored) != self._newest_after_ingest:
            raise BenchError("rclone copy rewrote files on the second run; the no-op baseline is not a no-op")


def _newest_mtime_ns(folder: Path) -> int:
    newest = 0
    for root, _dirs, names in os.walk(folder):
        for name in names:
            newest = max(newest, os.stat(os.path.join(root, name)).st_mtime_ns)
    return newest

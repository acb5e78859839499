"""Where the client keeps its saved login and state databases, and how it finds its connection."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

SERVER_ENV = "PHONECLOUD_SERVER"
KEY_ENV = "PHONECLOUD_KEY"
CLIENT_DIR_ENV = "PHONECLOUD_CLIENT_DIR"


class MissingConnection(Exception):
    pass


@dataclass(frozen=True)
class Connection:
    server: str
    key: str

    def state_name(self) -> str:
        """One state database per server and key, so two accounts never share what they have seen."""
        digest = hashlib.sha256(f"{self.server}\n{self.key}".encode()).hexdigest()[:16]
        return f"sync-state-{digest}.sqlite3"


def client_dir() -> Path:
    configured = os.environ.get(CLIENT_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "phonecloud"


def _login_file() -> Path:
    return client_dir() / "login.json"


def save_login(connection: Connection) -> Path:
    path = _login_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    # Created private from the start: the file holds a secret.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"server": connection.server, "key": connection.key}, handle)
    os.replace(temporary, path)
    return path


def resolve_connection(server: str | None, key: str | None) -> Connection:
    """Options first, then PHONECLOUD_SERVER / PHONECLOUD_KEY, then the saved `phonecloud login`."""
    server = server or os.environ.get(SERVER_ENV)
    key = key or os.environ.get(KEY_ENV)
    if not (server and key) and _login_file().exists():
        saved = json.loads(_login_file().read_text())
        server, key = server or saved.get("server"), key or saved.get("key")
    if not server or not key:
        raise MissingConnection(
            f"no server or key: pass --server and --key, set {SERVER_ENV} and {KEY_ENV}, or run `phonecloud login`"
        )
    return Connection(server.rstrip("/"), key)

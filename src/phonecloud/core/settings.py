"""One settings object for the server, read from the environment and an optional TOML file."""

from __future__ import annotations

import os
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from phonecloud.core.sizes import parse_size

CONFIG_FILE_ENV = "PHONECLOUD_CONFIG"


class TomlFileSource(PydanticBaseSettingsSource):
    """Values from the file named by PHONECLOUD_CONFIG; the environment still wins over it."""

    def __init__(self, settings_cls: type[BaseSettings]):
        super().__init__(settings_cls)
        path = os.environ.get(CONFIG_FILE_ENV)
        self._values: dict[str, Any] = {}
        if path:
            with open(path, "rb") as handle:
                self._values = tomllib.load(handle)

    def get_field_value(self, field, field_name):  # pragma: no cover - required by the interface
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {key: value for key, value in self._values.items() if key in self.settings_cls.model_fields}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHONECLOUD_", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite inside data_dir by default")
    blob_url: str | None = Field(default=None, description="file:///path or a path; a folder inside data_dir by default")
    default_quota: str = "5GiB"
    max_upload_size: str = "64GiB"
    session_days: int = 30
    embedded_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        description="job worker threads inside `phonecloud serve` (default: one per core); 0 for none")
    job_lease_seconds: float = Field(default=300.0, description="a job whose worker is silent this long runs again")
    worker_heartbeat_seconds: float = Field(default=10.0, gt=0, description="how often each job worker process "
                                            "records that it is alive; silent for three beats, it shows as stale")
    render_timeout_seconds: float = 120.0
    render_memory: str = "2GiB"
    render_niceness: int = Field(default=10, ge=0, le=19, description="added to renderers' nice value: uploads first")
    render_cpu_seconds_base: float | None = Field(default=6.0, gt=0, description="CPU a render may use whatever the "
                                                  "file's size (None: no CPU budget, only the timeout)")
    render_cpu_seconds_per_mib: float = Field(default=2.0, ge=0, description="and more per MiB of the file: a "
                                              "crafted file costs in proportion to its size")
    login_account_failures: int = Field(default=5, ge=1, description="failed sign-ins per account in a window "
                                        "before further attempts are refused for a while")
    login_address_failures: int = Field(default=20, ge=1, description="the same per client address (higher: a "
                                        "household or an office shares one)")
    login_failure_window_seconds: float = Field(default=900.0, gt=0, description="failures older than this are forgotten")
    login_lockout_seconds: float = Field(default=60.0, gt=0, description="the first lockout; each one in a row doubles")
    login_lockout_max_seconds: float = Field(default=3600.0, gt=0, description="the longest lockout")
    share_requests_per_minute: float = Field(default=600.0, gt=0, description="requests per minute each client "
                                             "address may make to shared links' pages and files (per API process)")
    share_request_burst: int = Field(default=300, ge=1, description="and at once, before that rate applies (a "
                                     "shared album's page asks for a thumbnail per item)")
    trusted_proxies: int = Field(default=0, ge=0, description="reverse proxies in front of the server whose "
                                 "X-Forwarded-For is believed; 0 trusts none (the connection's address is used)")
    staging_max_age_seconds: float = Field(default=3600.0, ge=0, description="at start and every sweep, staged "
                                           "upload data untouched this long is removed as left by a crash")
    orphan_min_age_seconds: float = Field(default=3600.0, ge=0, description="at start and every sweep, an original "
                                          "or derivative that no asset references is removed once it is this old")
    sweep_interval_seconds: float = Field(default=3600.0, gt=0, description="how often a job worker sweeps away "
                                          "what a crashed process left (staging, unreferenced blobs)")
    tus_expiry_seconds: float = Field(default=86400.0, gt=0, description="an unfinished resumable upload that "
                                      "receives nothing for this long expires: its bytes and reservation go")
    tus_checkpoint_size: str = Field(default="8MiB", description="a resumable upload's progress is made durable "
                                     "(and acknowledged to a later HEAD) every this many bytes within a request")

    default_region: str = Field(default="ZZ", description="the country (ISO 3166-1 alpha-2) of an account "
                                "created without one; ZZ: not known")
    public_url: str = Field(default="http://localhost:8000", description="the address people reach this server "
                            "at: links in emails point there")
    smtp_url: str | None = Field(default=None, description="the mail server notices are sent through: "
                                 "smtp://user:password@host:587 (STARTTLS when offered) or smtps://…:465; "
                                 "unset: no email")
    mail_from: str = Field(default="phonecloud <phonecloud@localhost>", description="the From of notice emails")
    google_client: Path | None = Field(default=None, description="the server's Google OAuth client (a Google "
                                       "Cloud project's Web application credentials, JSON, with the Photos "
                                       "Library API enabled and {public_url}/move/google/callback as a redirect "
                                       "URI): users may then move their library to Google Photos from the web app")
    moves_to_private_addresses: bool = Field(default=False, description="whether a move of a library started "
                                             "from the web app may send to a loopback or private network "
                                             "address (the server's own network); off: only public ones")
    email_per_minute: float = Field(default=60.0, gt=0, description="notice emails sent per minute at most")
    email_templates: Path | None = Field(default=None, description="a folder of the operator's email templates "
                                         "({locale}/notice.subject.txt, notice.txt, notice.html), before the "
                                         "built-in English ones")

    map_tile_url: str | None = Field(default=None, description="a tile server's URL template for the map page, "
                                     "e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png (mind its usage "
                                     "policy); unset: the map draws no tiles and asks nothing of any other server")
    map_tile_attribution: str | None = Field(default=None, description="the attribution the tile server asks for, "
                                             "shown on the map, e.g. © OpenStreetMap contributors")

    export_part_size: str = Field(default="4GB", description="the largest zip part of an export (a file larger "
                                  "than that alone gets a part of its own)")
    export_zip64_from: str = Field(default=str(0xFFFFFFFF), description="sizes and offsets in an export from "
                                   "this many bytes are written as ZIP64 (lower it only to test ZIP64 readers)")

    @field_validator("map_tile_url")
    @classmethod
    def _map_tile_url(cls, url: str | None) -> str | None:
        """http(s), with {z}, {x} and {y}, and nothing that could end a Content-Security-Policy's source."""
        parts = urlsplit(url or "")
        if url and (parts.scheme not in ("http", "https") or not parts.netloc or any(
                f"{{{name}}}" not in url for name in "zxy") or any(c in url for c in " ;,'\"")):
            raise ValueError("map_tile_url must be an http(s) URL with {z}, {x} and {y}, e.g. "
                             "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
        return url or None

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
        return init_settings, env_settings, TomlFileSource(settings_cls)

    @cached_property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.resolved_data_dir / 'phonecloud.sqlite3'}"

    @property
    def resolved_blob_url(self) -> str:
        return self.blob_url or (self.resolved_data_dir / "blobs").as_uri()

    @property
    def default_quota_bytes(self) -> int:
        return parse_size(self.default_quota)

    @property
    def render_memory_bytes(self) -> int:
        return parse_size(self.render_memory)

    @property
    def max_upload_bytes(self) -> int:
        return parse_size(self.max_upload_size)

    @property
    def tus_checkpoint_bytes(self) -> int:
        return parse_size(self.tus_checkpoint_size)

    @property
    def export_part_size_bytes(self) -> int:
        return parse_size(self.export_part_size)

    @property
    def export_zip64_from_bytes(self) -> int:
        return parse_size(self.export_zip64_from)

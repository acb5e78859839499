"""One settings object for the server, read from the environment and an optional TOML file."""

from __future__ import annotations

import os
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field
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
    embedded_workers: int = Field(default=1, description="job worker threads inside `phonecloud serve`; 0 for none")
    job_lease_seconds: float = Field(default=300.0, description="a job whose worker is silent this long runs again")
    render_timeout_seconds: float = 120.0
    render_memory: str = "2GiB"

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

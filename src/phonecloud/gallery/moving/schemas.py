"""The JSON shapes of moves, shared by the routes and the OpenAPI description. A move's credentials are
never sent back."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from pydantic import BaseModel, Field

from phonecloud.gallery.moving.models import LibraryMove
from phonecloud.gallery.moving.targets import TARGETS

_TEXT = {"max_length": 4096}


class StartMove(BaseModel):
    target: str = Field(description=f"One of {', '.join(TARGETS)}")
    url: str = Field(max_length=2048, description="The target's address: its server (phonecloud, Immich), its "
                                                  "WebDAV URL, or its S3 endpoint")
    key: str | None = Field(default=None, description="phonecloud, immich: an API key of your account there",
                            **_TEXT)
    user: str | None = Field(default=None, description="webdav: the user name", **_TEXT)
    password: str | None = Field(default=None, description="webdav: the password", **_TEXT)
    vendor: str | None = Field(default=None, description="webdav: the server's kind (other, nextcloud, owncloud, "
                                                         "sharepoint, fastmail, rclone), as rclone names them",
                               max_length=32)
    access_key: str | None = Field(default=None, description="s3: the access key ID", **_TEXT)
    secret_key: str | None = Field(default=None, description="s3: the secret access key", **_TEXT)
    region: str | None = Field(default=None, description="s3: the region, where the endpoint wants one", **_TEXT)
    path: str | None = Field(default=None, description="webdav: the folder; s3: bucket/folder", **_TEXT)


class MoveOut(BaseModel):
    id: uuid.UUID
    target: str
    label: str = Field(description="Where to, for people")
    state: str = Field(description="queued, running, paused, done or failed")
    pause_requested: bool = Field(description="Asked to pause: it stops after the items being sent")
    files_total: int = Field(description="Items to send in the current run (those already there not counted)")
    files_done: int
    bytes_total: int
    bytes_done: int
    report: dict | None = Field(description="The last run's summary: sent, verified, already_there, failed, "
                                            "bytes, skipped, items, albums, failures and skips with their reasons")
    error: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @classmethod
    def of(cls, move: LibraryMove) -> MoveOut:
        return cls(id=move.id, target=move.target, label=move.label, state=move.state,
                   pause_requested=move.pause_requested, files_total=move.files_total, files_done=move.files_done,
                   bytes_total=move.bytes_total, bytes_done=move.bytes_done,
                   report=json.loads(move.report) if move.report else None, error=move.error,
                   created_at=move.created_at, started_at=move.started_at, finished_at=move.finished_at)

"""The JSON shapes of Takeout imports, shared by the routes and the OpenAPI description."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from pydantic import BaseModel, Field

from phonecloud.gallery.takeout.models import DONE, FAILED, TakeoutImport, TakeoutPart


class StartImport(BaseModel):
    parts: list[uuid.UUID] = Field(min_length=1, max_length=1000,
                                   description="The uploaded parts to read, all of one Takeout (every part: albums "
                                               "repeat files of other parts)")


class PartOut(BaseModel):
    id: uuid.UUID
    filename: str
    size_bytes: int
    sha1: str | None
    on_server_disk: bool = Field(description="Named by the administrator on the server's disk, not uploaded")
    kept: bool = Field(description="Its uploaded bytes are on the server (until its import is done)")
    import_id: uuid.UUID | None
    created_at: dt.datetime

    @classmethod
    def of(cls, part: TakeoutPart) -> PartOut:
        return cls(id=part.id, filename=part.filename, size_bytes=part.size_bytes, sha1=part.sha1,
                   on_server_disk=part.path is not None, kept=part.blob_key is not None, import_id=part.import_id,
                   created_at=part.created_at)


class Progress(BaseModel):
    files_total: int = Field(description="New files to store (those already in the library are not counted)")
    files_done: int
    bytes_total: int
    bytes_done: int


class Failure(BaseModel):
    path: str = Field(description="The part and the entry in it")
    reason: str


class Report(BaseModel):
    uploaded: int
    duplicates: int = Field(description="Already in the library (found by content)")
    bytes: int
    matched: int = Field(description="Distinct files that came with a JSON sidecar")
    albums: int
    favorites: int
    described: int = Field(description="Given their sidecar's description, archived flag or people's names")
    trashed: int
    skipped: int
    failed: int
    failures: list[Failure] = Field(description="Each skip and failure with its reason (the first 1,000)")


class ImportOut(BaseModel):
    id: uuid.UUID
    state: str = Field(description="queued, running, done or failed")
    finished: bool
    parts: list[PartOut]
    parts_kept: bool = Field(description="A failed import keeps its uploaded parts: retry, or delete it")
    progress: Progress
    report: Report | None = Field(description="Once done: what was imported, matched, already there and skipped")
    error: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @classmethod
    def of(cls, imported: TakeoutImport, parts: list[TakeoutPart]) -> ImportOut:
        report = json.loads(imported.report) if imported.report else None
        return cls(
            id=imported.id, state=imported.state, finished=imported.state in (DONE, FAILED),
            parts=[PartOut.of(part) for part in parts],
            parts_kept=imported.state == FAILED and any(part.blob_key for part in parts),
            progress=Progress(files_total=imported.files_total, files_done=imported.files_done,
                              bytes_total=imported.bytes_total, bytes_done=imported.bytes_done),
            report=Report.model_validate(report, strict=False) if report else None,
            error=imported.error, created_at=imported.created_at, started_at=imported.started_at,
            finished_at=imported.finished_at)

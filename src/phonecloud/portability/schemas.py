"""The export API's JSON shapes."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from phonecloud.portability.service import ExportStanding, ExportView, part_name

API = "/api/v1"


class PartOut(BaseModel):
    number: int
    name: str = Field(description="A file name for the part")
    size: int
    url: str = Field(description="GET it, with Range to resume")
    downloaded_at: dt.datetime | None = Field(description="When a download last delivered its last byte")


class ManifestOut(BaseModel):
    path: str = Field(description="Where manifest.json is inside the archive")
    part: int
    size: int
    sha256: str
    url: str = Field(description="The same bytes on their own")


class ProgressOut(BaseModel):
    hash_done_bytes: int = Field(description="While preparing: originals hashed so far (SHA-256, once each)")
    hash_total_bytes: int


class ExportOut(BaseModel):
    id: uuid.UUID
    state: str = Field(description="preparing, ready or failed (see error)")
    error: str | None
    created_at: dt.datetime
    ready_at: dt.datetime | None
    part_size: int = Field(description="The largest part, unless one file alone is larger")
    asset_count: int
    file_count: int
    total_bytes: int
    progress: ProgressOut
    parts: list[PartOut]
    manifest: ManifestOut | None
    verified_at: dt.datetime | None = Field(description="When `phonecloud export` last reported every part "
                                            "checked against the manifest")

    @classmethod
    def of(cls, view: ExportView) -> ExportOut:
        export = view.export
        base = f"{API}/export/{export.id}"
        manifest = view.manifest
        return cls(
            id=export.id, state=export.state, error=export.error, created_at=export.created_at,
            ready_at=export.ready_at, part_size=export.part_size, asset_count=export.asset_count,
            file_count=export.file_count, total_bytes=export.total_bytes,
            progress=ProgressOut(hash_done_bytes=export.hash_done_bytes, hash_total_bytes=export.hash_total_bytes),
            parts=[PartOut(number=part.number, name=part_name(export, part.number), size=part.size,
                           url=f"{base}/parts/{part.number}", downloaded_at=part.downloaded_at)
                   for part in view.parts],
            manifest=ManifestOut(path=manifest.path, part=manifest.part, size=manifest.size, sha256=manifest.sha256,
                                 url=f"{base}/manifest") if manifest else None,
            verified_at=export.verified_at,
        )


class DigestOut(BaseModel):
    asset_id: uuid.UUID
    sha256: str


class DigestPage(BaseModel):
    items: list[DigestOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page")


class VerifiedIn(BaseModel):
    manifest_sha256: str = Field(min_length=64, max_length=64, description="The SHA-256 of the manifest that "
                                 "every part was checked against")


class ExportStandingOut(BaseModel):
    """How far the caller's newest export since a moment (a retirement's announcement) got."""

    export_id: uuid.UUID
    snapshot_at: dt.datetime = Field(description="It holds the library as it was then")
    parts: int
    parts_downloaded: int = Field(description="Parts whose last byte a download delivered")
    downloaded_at: dt.datetime | None = Field(description="Once every part was downloaded: when the last was")
    verified_at: dt.datetime | None = Field(description="When `phonecloud export` reported every part checked "
                                            "against the manifest")

    @classmethod
    def of(cls, standing: ExportStanding) -> ExportStandingOut:
        return cls(export_id=standing.export_id, snapshot_at=standing.snapshot_at, parts=standing.parts,
                   parts_downloaded=standing.parts_downloaded, downloaded_at=standing.downloaded_at,
                   verified_at=standing.verified_at)

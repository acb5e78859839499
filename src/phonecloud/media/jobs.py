"""The media pipeline's job: its kind and subject, importable without the imaging libraries."""

from __future__ import annotations

import uuid

MEDIA_JOB = "media.process"


def job_subject(asset_id: uuid.UUID) -> str:
    return f"asset:{asset_id}"

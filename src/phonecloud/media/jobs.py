"""The media pipeline's jobs: their kinds and subject, importable without the imaging libraries."""

from __future__ import annotations

import uuid

MEDIA_JOB = "media.process"  # metadata and the thumbnail, queued with the upload
# The preview, queued by the media job once the thumbnail is made, with priority LATER: claimed only when no
# other job is ready.
PREVIEW_JOB = "media.preview"


def job_subject(asset_id: uuid.UUID) -> str:
    return f"asset:{asset_id}"

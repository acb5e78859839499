"""The export's background job: its kind and subject, importable without the rest of the service."""

from __future__ import annotations

import uuid

EXPORT_JOB = "export.prepare"


def job_subject(export_id: uuid.UUID) -> str:
    return f"export:{export_id}"


def export_of(subject: str) -> uuid.UUID:
    """The export a job's subject names; ValueError for anything else."""
    kind, _, export_id = subject.partition(":")
    if kind != "export":
        raise ValueError(f"not an export subject: {subject!r}")
    return uuid.UUID(export_id)

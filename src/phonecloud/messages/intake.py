"""Message backups arriving: the messages kind's destination in the general intake (uploads/intake.py).

A finished upload, plain or resumable, becomes an import: the file is committed as a blob of its own, its
size charged to the quota, and the import's row and its job written in one transaction. The job then reads
the file (importer.py). Which app wrote the file is told from its first bytes, so that anything else (and
hostile XML with a document type declaration) is refused before a byte is stored.
"""

from __future__ import annotations

import uuid

from phonecloud.accounts.service import Principal
from phonecloud.core.db import utcnow
from phonecloud.core.errors import Conflict, NotFound
from phonecloud.core.names import record_filename
from phonecloud.jobs.queue import JobQueue
from phonecloud.messages import repository
from phonecloud.messages.blobs import import_key
from phonecloud.messages.detect import BackupFormat, detect
from phonecloud.messages.importer import IMPORT_ATTEMPTS, IMPORT_JOB, job_subject
from phonecloud.messages.models import FAILED, QUEUED, MessageImport
from phonecloud.uploads.intake import Finished, IntakeMeta, Prepaid, WholeFileIntake
from phonecloud.uploads.staged import StagedUpload

DESTINATION = "messages"


class MessagesIntake(WholeFileIntake):
    name = DESTINATION
    identify = staticmethod(detect)

    # -- after the bytes ----------------------------------------------------------------------------------

    def finish(self, principal: Principal, staged: StagedUpload, meta: IntakeMeta, last_chunks: list[bytes] = (),
               prepaid: Prepaid | None = None) -> Finished:
        """The file kept as a blob, its import recorded and queued, its size charged: all or nothing. Every
        upload is an import of its own (one of a file already imported adds nothing, and says so)."""
        import_id = uuid.uuid4()
        key = import_key(principal.user_id, import_id)

        def row(staged: StagedUpload) -> MessageImport:
            found: BackupFormat = staged.content
            return MessageImport(id=import_id, owner_id=principal.user_id, filename=record_filename(meta.filename),
                                 format=found.name, state=QUEUED, size_bytes=staged.size, sha1=staged.sha1,
                                 blob_key=key, attempts=0, records_read=0, bytes_read=0, imported=0, duplicates=0,
                                 skipped=0, skipped_reasons="{}", attachments=0, created_at=utcnow())

        def queue(session) -> None:
            JobQueue.enqueue_in(session, IMPORT_JOB, job_subject(import_id), max_attempts=IMPORT_ATTEMPTS + 1,
                                owner_id=principal.user_id)

        finished = self.keep_file(principal, staged, meta, last_chunks, prepaid, import_id, key, row, queue)
        self.jobs.wake()
        return finished

    # -- again --------------------------------------------------------------------------------------------

    def retry(self, principal: Principal, import_id: uuid.UUID) -> MessageImport:
        """A failed import queued again, to read its kept file on from the last record it stored: for a cause
        that has passed (room made in a full quota, a server fault fixed). A damaged file stops again at its
        damage, having stored nothing twice."""
        with self.db.write() as session:
            found = repository.owned(session, MessageImport, principal.user_id, import_id)
            if found is None:
                raise NotFound(f"no import {import_id}")
            if found.state != FAILED:
                raise Conflict(f"import {import_id} is {found.state}: only a failed import is tried again",
                               state=found.state)
            found.state, found.attempts, found.finished_at = QUEUED, 0, None
            found.error = found.error_line = found.error_record = None
            JobQueue.requeue_in(session, IMPORT_JOB, job_subject(import_id), max_attempts=IMPORT_ATTEMPTS + 1,
                                owner_id=principal.user_id)
        self.jobs.wake()
        return found

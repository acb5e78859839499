"""The messages kind's part of a full export ("Download all"): a `Takeout/Messages/` folder with the user's
messages and calls in both apps' formats, each ready for its app to restore, and a page to read them.

The files are written when the export is prepared, each streamed into a blob of its own named by its
content (users/{owner}/messages/exports/{sha256}), and placed in the archive as originals are: the
export's parts then read them as they read photos. A later export of unchanged data makes the same files,
so it reuses the same blobs; recovery removes those no export lists any more.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from sqlalchemy.orm import Session

from phonecloud.core.blobstore import BlobStore
from phonecloud.messages import repository
from phonecloud.messages.blobs import export_key
from phonecloud.messages.exporter import FILES, SMS_BACKUP_RESTORE, Exporter
from phonecloud.messages.reading_page import write_reading_page
from phonecloud.portability.sections import ExportContext, ExportFile, GeneratedSection

FOLDER = "Takeout/Messages"
APP_FOLDERS = {SMS_BACKUP_RESTORE: "SMS Backup & Restore", "sms-ie": "SMS Import Export"}
READING_PAGE = "messages.html"
KIND = "messages"


class MessagesSection(GeneratedSection):
    name = "messages"
    kind = KIND

    def __init__(self, blobs: BlobStore, exporter: Exporter):
        super().__init__(blobs)
        self.exporter = exporter

    def waiting(self, session: Session, owner_id: int) -> str | None:
        """An export made while a backup is being imported would miss part of it."""
        running = repository.imports_in_progress(session, owner_id)
        return f"{running} message backup imports to finish" if running else None

    def files(self, session: Session, context: ExportContext) -> Iterator[ExportFile]:
        with self.exporter.consistent_read() as reading:
            snapshot = self.exporter.snapshot(reading, context.owner_id)
            if not snapshot.messages and not snapshot.calls:
                return
            mtime = snapshot.changed_ms // 1000
            for file in FILES.values():
                if getattr(snapshot, file.holds):
                    path = f"{FOLDER}/{APP_FOLDERS[file.app]}/{file.filename(snapshot)}"
                    yield self.stored(path, mtime, partial(export_key, snapshot.owner_id),
                                      lambda out, file=file: self.exporter.write(reading, snapshot, file, out))
            if snapshot.messages:
                yield self.stored(f"{FOLDER}/{READING_PAGE}", mtime, partial(export_key, snapshot.owner_id),
                                  lambda out: write_reading_page(reading, snapshot, out))

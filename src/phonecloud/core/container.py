"""The services of one running server, built once from settings and shared by the API, CLI and jobs."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

from phonecloud.accounts.service import AccountService
from phonecloud.core.blobstore import BlobStore, open_blob_store
from phonecloud.core.db import Database
from phonecloud.core.settings import Settings
from phonecloud.gallery.service import GalleryService
from phonecloud.jobs.queue import JobQueue
from phonecloud.jobs.worker import WorkerPool


@dataclass
class Services:
    settings: Settings
    db: Database
    blobs: BlobStore
    accounts: AccountService
    gallery: GalleryService
    jobs: JobQueue
    _closers: list = field(default_factory=list)
    _media: object = None
    _media_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, settings: Settings | None = None) -> Services:
        """Open the database (migrating it to the latest schema) and the blob store."""
        settings = settings or Settings()
        settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url)
        db.migrate()
        blobs = open_blob_store(settings.resolved_blob_url)
        return cls(
            settings=settings,
            db=db,
            blobs=blobs,
            accounts=AccountService(db, settings.default_quota_bytes, settings.session_days),
            gallery=GalleryService(db, blobs, settings.max_upload_bytes),
            jobs=JobQueue(db, lease=dt.timedelta(seconds=settings.job_lease_seconds)),
        )

    def media(self):
        """The media pipeline, built on first use (it loads the imaging libraries), once for all threads."""
        with self._media_lock:
            if self._media is None:
                from phonecloud.media.sandbox import RenderSandbox
                from phonecloud.media.service import MediaService

                settings = self.settings
                self._media = MediaService(self.db, self.blobs, lambda: RenderSandbox(
                    timeout_seconds=settings.render_timeout_seconds, memory_bytes=settings.render_memory_bytes))
                self._closers.append(self._media.close)
            return self._media

    def workers(self, threads: int) -> WorkerPool:
        """Job workers for every kind of job this server knows; uploads in this process wake them."""
        from phonecloud.media.jobs import MEDIA_JOB

        pool = WorkerPool(self.jobs, {MEDIA_JOB: lambda subject: self.media().process(subject)}, threads)
        self.gallery.after_store = pool.wake
        return pool

    def close(self) -> None:
        for close in self._closers:
            close()
        self.db.dispose()

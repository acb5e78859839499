"""The services of one running server, built once from settings and shared by the API, CLI and jobs."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from functools import cached_property

from phonecloud.accounts.service import AccountService
from phonecloud.accounts.throttle import ThrottlePolicy
from phonecloud.core.blobstore import BlobStore, open_blob_store
from phonecloud.core.db import Database
from phonecloud.core.settings import Settings
from phonecloud.gallery.service import TRASH_PURGE_JOB, GalleryService
from phonecloud.jobs.queue import JobQueue
from phonecloud.jobs.worker import WorkerPool
from phonecloud.maintenance.jobs import SWEEP_JOB
from phonecloud.notices.service import NoticeService


@dataclass
class Services:
    settings: Settings
    db: Database
    blobs: BlobStore
    accounts: AccountService
    gallery: GalleryService
    jobs: JobQueue
    notices: NoticeService
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
            accounts=AccountService(db, settings.default_quota_bytes, settings.session_days,
                                    ThrottlePolicy.from_settings(settings)),
            gallery=GalleryService(db, blobs, settings.max_upload_bytes),
            jobs=JobQueue(db, lease=dt.timedelta(seconds=settings.job_lease_seconds)),
            notices=NoticeService(db),
        )

    def media(self):
        """The media pipeline, built on first use (it loads the imaging libraries), once for all threads."""
        with self._media_lock:
            if self._media is None:
                from phonecloud.media.sandbox import RenderSandbox
                from phonecloud.media.service import MediaService

                settings = self.settings
                self._media = MediaService(self.db, self.blobs, lambda: RenderSandbox(
                    timeout_seconds=settings.render_timeout_seconds, memory_bytes=settings.render_memory_bytes,
                    niceness=settings.render_niceness, cpu_seconds_base=settings.render_cpu_seconds_base,
                    cpu_seconds_per_mib=settings.render_cpu_seconds_per_mib))
                self._closers.append(self._media.close)
            return self._media

    def recovery(self):
        """Startup recovery (see maintenance.recovery), as `phonecloud serve` and `admin recover` run it."""
        from phonecloud.maintenance.recovery import RecoveryService

        return RecoveryService(self.db, self.blobs, self.settings.staging_max_age_seconds,
                               self.settings.orphan_min_age_seconds)

    @cached_property
    def uploads(self):
        """Resumable uploads (tus), finished into the gallery; built once (the lifespan touches it first)."""
        from phonecloud.uploads.service import UploadService

        settings = self.settings
        return UploadService(self.db, self.blobs, self.gallery, settings.max_upload_bytes,
                             dt.timedelta(seconds=settings.tus_expiry_seconds), settings.tus_checkpoint_bytes)

    @cached_property
    def portability(self):
        """Exports of whole libraries (see portability.service)."""
        from phonecloud.portability.service import PortabilityService

        return PortabilityService(self.db, self.blobs, self.settings.export_part_size_bytes,
                                  self.settings.export_zip64_from_bytes)

    @cached_property
    def heartbeats(self):
        """Job worker processes' heartbeats (see jobs.heartbeat): written by their pools, read by the admin page."""
        from phonecloud.jobs.heartbeat import Heartbeats

        return Heartbeats(self.db, dt.timedelta(seconds=self.settings.worker_heartbeat_seconds))

    def workers(self, threads: int) -> WorkerPool:
        """Job workers for every kind of job this server knows; uploads in this process wake them."""
        from phonecloud.media.jobs import MEDIA_JOB
        from phonecloud.portability.jobs import EXPORT_JOB

        pool = WorkerPool(self.jobs, {MEDIA_JOB: lambda subject: self.media().process(subject),
                                      TRASH_PURGE_JOB: self.gallery.run_trash_purge,
                                      EXPORT_JOB: lambda subject: self.portability.prepare(subject),
                                      SWEEP_JOB: self._sweep}, threads,
                          heartbeats=self.heartbeats)
        self.gallery.after_store = pool.wake
        self.gallery.schedule_trash_purge(dt.datetime.now(dt.UTC).date())  # starts the daily chain (once a day)
        self.jobs.schedule_every(SWEEP_JOB, self._sweep_interval)  # and the sweeps' chain
        return pool

    @property
    def _sweep_interval(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.settings.sweep_interval_seconds)

    def _sweep(self, _subject: str) -> None:
        """The `maintenance.sweep` job: what a crashed process left goes now, then the next sweep is due."""
        self.recovery().sweep()
        self.jobs.schedule_every(SWEEP_JOB, self._sweep_interval)

    def close(self) -> None:
        for close in self._closers:
            close()
        self.db.dispose()

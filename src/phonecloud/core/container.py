"""The services of one running server, built once from settings and shared by the API, CLI and jobs."""

from __future__ import annotations

from dataclasses import dataclass

from phonecloud.accounts.service import AccountService
from phonecloud.core.blobstore import BlobStore, open_blob_store
from phonecloud.core.db import Database
from phonecloud.core.settings import Settings
from phonecloud.gallery.service import GalleryService


@dataclass
class Services:
    settings: Settings
    db: Database
    blobs: BlobStore
    accounts: AccountService
    gallery: GalleryService

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
        )

    def close(self) -> None:
        self.db.dispose()

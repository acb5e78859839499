"""Photos and videos arriving: the gallery's destination in the general intake. Stored once per user by
content, durably, charged to the quota atomically, with the media job that completes the asset."""

from __future__ import annotations

import uuid

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from phonecloud.accounts.models import User
from phonecloud.accounts.service import Principal
from phonecloud.core.db import utcnow
from phonecloud.core.errors import BadRequest, UnsupportedMedia
from phonecloud.gallery import repository
from phonecloud.gallery.blobs import original_key
from phonecloud.gallery.models import Asset
from phonecloud.core.names import record_filename
from phonecloud.jobs.queue import JobQueue
from phonecloud.media.jobs import MEDIA_JOB, job_subject
from phonecloud.media.sniff import MediaType, sniff
from phonecloud.uploads.intake import Finished, IntakeMeta, KindIntake, Prepaid
from phonecloud.uploads.staged import StagedUpload

DESTINATION = "gallery"
MAX_PRECHECK_ITEMS = 10_000


def media_type(head: bytes) -> MediaType:
    """What the first bytes say the file is; UnsupportedMedia for anything but a photo or video."""
    found = sniff(head)
    if found is None:
        raise UnsupportedMedia("not a photo or video: the content is none of JPEG, HEIC/HEIF, AVIF, PNG, WebP, GIF, "
                               "TIFF, camera RAW, MP4, MOV, 3GP, MKV, WebM or AVI")
    return found


class GalleryIntake(KindIntake):
    name = DESTINATION

    identify = staticmethod(media_type)

    # -- before the bytes ---------------------------------------------------------------------------------

    def check_room(self, principal: Principal, size: int, declared_sha1: str | None) -> None:
        """Refuse early, before any byte is read, an upload that cannot fit (the final charge is atomic).

        A duplicate costs nothing, so without a declared SHA-1 that is known to be new, only a file
        larger than the whole quota is refused this early.
        """
        if size > self.max_upload_bytes:
            raise self.too_large(size)
        with self.db.read() as session:
            user = session.get(User, principal.user_id)
            known_new = declared_sha1 is not None and repository.asset_by_sha1(
                session, user.id, declared_sha1.lower()) is None
        limit = self.quota.limit(user)
        if size > limit or (known_new and user.used_bytes + size > limit):
            raise self.quota.exceeded(user, size)

    def stage(self, principal: Principal, meta: IntakeMeta, expected_size: int | None = None) -> StagedUpload:
        """expected_size: what the request declares (its Content-Length), else what the client said."""
        expected = expected_size if expected_size is not None else meta.declared_size
        allowance = self.quota.allowance(principal.user_id, principal.room_bytes, expected,
                                         lambda: self._stored_size(principal.user_id, meta.declared_sha1))
        return StagedUpload(self.blobs, self.max_upload_bytes, self.identify, allowance)

    def _stored_size(self, owner_id: int, sha1: str | None) -> int | None:
        existing = self._existing(owner_id, sha1.lower()) if sha1 else None
        return existing.size_bytes if existing is not None else None

    def precheck(self, principal: Principal, items: list[tuple[str, str]]) -> list[dict]:
        """For each (client id, SHA-1), whether the user already has those bytes, and as which asset."""
        if len(items) > MAX_PRECHECK_ITEMS:
            raise BadRequest(f"at most {MAX_PRECHECK_ITEMS} items per check; split the list")
        sha1s = [sha1.lower() for _, sha1 in items]
        with self.db.read() as session:
            found = repository.assets_by_sha1(session, principal.user_id, sha1s)
        results = []
        for (client_id, _), sha1 in zip(items, sha1s):
            asset_id, trashed = found.get(sha1, (None, False))
            results.append({"id": client_id, "sha1": sha1, "exists": asset_id is not None,
                            "asset_id": asset_id, "trashed": trashed})
        return results

    # -- after the bytes ----------------------------------------------------------------------------------

    def finish(self, principal: Principal, staged: StagedUpload, meta: IntakeMeta, last_chunks: list[bytes] = (),
               prepaid: Prepaid | None = None) -> Finished:
        """Store a fully received upload once: de-duplicate, commit the blob, charge the quota atomically.

        The blob is committed under a key of its own (content hash plus a random suffix) before the
        transaction, so the slow fsyncs run in parallel with other uploads; if the transaction then
        refuses it (quota, or a concurrent upload of the same bytes won), the key is ours alone to delete.
        A crash between the two leaves an unreferenced blob, never a row without its bytes.
        """
        try:
            staged.feed(list(last_chunks))
            staged.finish(meta.declared_size, meta.declared_sha1)
            existing = self._existing(principal.user_id, staged.sha1)
            if existing is not None:
                return self._duplicate(existing, prepaid)
            key = original_key(principal.user_id, staged.sha1)
            self._commit_blob(staged, key)
        finally:
            staged.abort()
        try:
            return Finished(*self._insert(principal, staged, meta, key, prepaid))
        except IntegrityError:  # a concurrent upload of the same bytes won the race
            self.blobs.delete(key)
            winner = self._existing(principal.user_id, staged.sha1)
            if winner is None:
                raise
            return self._duplicate(winner, prepaid)
        except BaseException:
            self.blobs.delete(key)
            raise

    def _duplicate(self, existing: Asset, prepaid: Prepaid | None) -> Finished:
        if prepaid is not None:
            with self.db.write() as session:
                prepaid.settle(session, existing.id, created=False)
        return Finished(existing.id, False, existing)

    def _existing(self, owner_id: int, sha1: str) -> Asset | None:
        with self.db.read() as session:
            return repository.asset_by_sha1(session, owner_id, sha1)

    def _insert(self, principal: Principal, staged: StagedUpload, meta: IntakeMeta, key: str,
                prepaid: Prepaid | None) -> tuple[uuid.UUID, bool, Asset]:
        media: MediaType = staged.content
        values = dict(
            id=uuid.uuid4(), owner_id=principal.user_id, device_id=principal.device_id, kind=media.kind,
            mime_type=media.mime, original_filename=record_filename(meta.filename), size_bytes=staged.size,
            sha1=staged.sha1, crc32=staged.crc32, blob_key=key, file_modified_at=meta.file_modified_at,
            sort_at=meta.file_modified_at, uploaded_at=utcnow(), is_favorite=False, trashed_at=None,
            description="", is_archived=False, people="[]", place_latitude=None, place_longitude=None,
            place_altitude=None,
        )
        with self.db.write() as session:
            if prepaid is None:
                self.quota.charge(session, principal.user_id, staged.size)
            session.execute(insert(Asset).values(values))  # a plain INSERT: every upload passes here
            # In the same transaction: an asset is never stored without the job that completes it.
            JobQueue.enqueue_in(session, MEDIA_JOB, job_subject(values["id"]), owner_id=principal.user_id)
            if prepaid is not None:
                prepaid.settle(session, values["id"], created=True)
        self.jobs.wake()
        return values["id"], True, Asset(**values)

"""Takeout zip parts arriving: a destination of the general intake (uploads/intake.py), plain or resumable.

A finished upload is kept as a blob of its own and charged to the quota, as a part that an import may take
(POST /takeout/imports). Only a zip is taken: its first bytes say so before a byte is stored. The intake gate
is the gallery's, where the part's photos and videos will go: a plan without the gallery, or a retired
gallery, refuses Takeout parts too.
"""

from __future__ import annotations

import uuid

from phonecloud.accounts.service import Principal
from phonecloud.core.db import utcnow
from phonecloud.core.errors import UnsupportedMedia
from phonecloud.core.names import record_filename
from phonecloud.gallery.takeout.blobs import part_key
from phonecloud.gallery.takeout.models import TakeoutPart
from phonecloud.uploads.intake import Finished, IntakeMeta, Prepaid, WholeFileIntake
from phonecloud.uploads.staged import StagedUpload

DESTINATION = "takeout"
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or an empty archive's end record


def zip_archive(head: bytes) -> str:
    if not head.startswith(ZIP_SIGNATURES):
        raise UnsupportedMedia("not a zip archive: a Google Takeout comes as zip parts (takeout-…-001.zip); "
                               "a .tgz Takeout must be unpacked and imported as a folder with phonecloud import "
                               "takeout")
    return "zip"


class TakeoutIntake(WholeFileIntake):
    name = DESTINATION
    identify = staticmethod(zip_archive)

    def finish(self, principal: Principal, staged: StagedUpload, meta: IntakeMeta, last_chunks: list[bytes] = (),
               prepaid: Prepaid | None = None) -> Finished:
        """The part kept as a blob, recorded and charged: all or nothing."""
        part_id = uuid.uuid4()
        key = part_key(principal.user_id, part_id)
        return self.keep_file(principal, staged, meta, last_chunks, prepaid, part_id, key, lambda staged: TakeoutPart(
            id=part_id, owner_id=principal.user_id, filename=record_filename(meta.filename), size_bytes=staged.size,
            sha1=staged.sha1, blob_key=key, created_at=utcnow()))

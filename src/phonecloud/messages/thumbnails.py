"""Thumbnails of MMS photos, for the conversation page: the media pipeline's own (derivatives.render in its
sandbox, with its pixel, memory and CPU limits), made on a photo's first request and kept as a blob
(blobs.thumbnail_key), so that later requests only read them.

Made on request rather than by a job after the import, as the gallery does: a gallery upload is one file
whose row records where its derivatives are, whereas a backup brings thousands of photos at once, most of
them never looked at again, and no row of the messages kind has a place for a thumbnail. A key derived from
the attachment needs none, and the work is spent on the photos someone opens.

Bytes the pipeline cannot render (damaged, hostile, or no image whatever their part says) are answered
404 with the reason, as the gallery answers for a thumbnail that could not be made; the reason is kept
beside where the thumbnail would be, so that such a file costs the renderer once. The original is never
touched: it stays downloadable as it is.
"""

from __future__ import annotations

import queue
from collections.abc import Callable

from phonecloud.core.blobstore import BlobNotFound, BlobStore
from phonecloud.core.errors import NotFound
from phonecloud.media.models import DERIVATIVES
from phonecloud.media.sniff import SNIFF_BYTES, sniff
from phonecloud.messages import blobs
from phonecloud.messages.models import Attachment
from phonecloud.messages.service import missing

THUMBNAIL_TYPE = DERIVATIVES["thumbnail"][1]
# Render processes shared by the request threads: a page's first view asks for all its photos at once, and
# one slow (or hostile) file then holds up only its own process.
RENDERERS = 2


def sandbox_factory(settings) -> Callable:
    """Makes a render sandbox with the server's render limits (as the gallery's pipeline has them); the
    imaging libraries are loaded on first use, not when the server starts."""

    def make():
        from phonecloud.media.sandbox import RenderSandbox

        return RenderSandbox.configured(settings)

    return make


class Thumbnails:
    """The thumbnails of one server's attachments, with the render processes that make them."""

    def __init__(self, blobs: BlobStore, make_sandbox: Callable, renderers: int = RENDERERS):
        self.blobs = blobs
        self._make_sandbox = make_sandbox
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(renderers):
            self._idle.put(None)  # a sandbox made when first needed
        self._made: list = []

    def of(self, attachment: Attachment) -> bytes:
        """The attachment's thumbnail (THUMBNAIL_TYPE): the stored one, else made and stored now. NotFound,
        with the reason, when the pipeline cannot render the bytes; Gone when they are missing."""
        key = blobs.thumbnail_key(attachment.owner_id, attachment.id)
        stored = self._stored(key)
        if stored is not None:
            return stored
        failure = self._stored(blobs.thumbnail_failure_key(attachment.owner_id, attachment.id))
        if failure is not None:
            raise _cannot(failure.decode(errors="replace"))
        return self._make(attachment, key)

    def close(self) -> None:
        for sandbox in self._made:
            sandbox.close()

    def _stored(self, key: str) -> bytes | None:
        try:
            return b"".join(self.blobs.get(key))
        except BlobNotFound:
            return None

    def _make(self, attachment: Attachment, key: str) -> bytes:
        from phonecloud.media.derivatives import RenderError

        try:
            with self.blobs.local_file(attachment.blob_key) as path:
                thumbnail = self._render(path)
        except BlobNotFound:
            raise missing(attachment) from None
        except RenderError as error:
            self.blobs.put(blobs.thumbnail_failure_key(attachment.owner_id, attachment.id), [str(error).encode()])
            raise _cannot(str(error)) from None
        self.blobs.put(key, [thumbnail])
        return thumbnail

    def _render(self, path: str) -> bytes:
        """By the file's own first bytes, as the gallery's intake: a part's content type is only what the
        sending phone said."""
        from phonecloud.media.derivatives import THUMBNAIL, RenderError

        with open(path, "rb") as file:
            media = sniff(file.read(SNIFF_BYTES))
        if media is None:
            raise RenderError("its bytes are in no image format the server reads, whatever the part says")
        if media.kind != "photo":
            raise RenderError(f"its bytes are a {media.kind} ({media.mime}), not a photo")
        sandbox = self._idle.get()
        try:
            sandbox = sandbox or self._new_sandbox()
            return sandbox.render(path, media, THUMBNAIL).image
        finally:
            self._idle.put(sandbox)  # its slot comes back whatever happened

    def _new_sandbox(self):
        sandbox = self._make_sandbox()
        self._made.append(sandbox)
        return sandbox


def _cannot(reason: str) -> NotFound:
    return NotFound(f"this attachment has no thumbnail: {reason}", state="failed", reason=reason)

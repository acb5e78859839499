"""Blob stores: where the bytes live. Chosen by PHONECLOUD_BLOB_URL; the rest of the code sees only BlobStore."""

from urllib.parse import urlparse

from phonecloud.core.blobstore.base import BlobNotFound, BlobStore, BlobWriter
from phonecloud.core.blobstore.local import LocalBlobStore

__all__ = ["BlobNotFound", "BlobStore", "BlobWriter", "LocalBlobStore", "open_blob_store"]


def open_blob_store(url: str) -> BlobStore:
    """The store a URL names: file:///path (or a bare path) is local disk; s3://bucket/prefix?endpoint=...
    an S3-compatible bucket (needs the s3 extra)."""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        return LocalBlobStore(parsed.path if parsed.scheme else url)
    if parsed.scheme == "s3":
        from phonecloud.core.blobstore.s3 import S3BlobStore  # boto3 is loaded only by those who use it

        return S3BlobStore.from_url(url)
    raise ValueError(f"unsupported blob store URL scheme {parsed.scheme!r} in {url!r}")

"""Blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph, Garage, R2, rclone serve s3), through boto3.

URL: s3://bucket/prefix?endpoint=https://host:port&region=eu-west-1&profile=name&part_size=16MiB
Credentials come from boto3's usual chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or
?profile=, ~/.aws/credentials, instance roles); never from the URL, which ends up in logs.

A blob is staged in memory up to one part; a larger one streams as a multipart upload to a private
staging key under .staging/, one part in memory at a time. Nothing is visible under a blob's key before
commit(key): a small blob is one PUT there, a large one a server-side copy of the completed staging
object. Both are atomic on every S3 implementation.

A resumable (tus) upload is a series of immutable segment objects under .resumable/<name>/, each named by
the byte range it holds, so any process can append, cut back to the acknowledged size, or read them.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

from phonecloud.core.blobstore.base import (
    BlobNotFound, BlobStore, BlobWriter, ResumableBlob, check_key, check_resumable_name,
)
from phonecloud.core.sizes import parse_size

log = logging.getLogger("phonecloud.blobstore")

STAGING = ".staging/"
RESUMABLE = ".resumable/"  # apart from .staging/, which the stale-staging sweep empties
MIN_PART = 5 << 20  # S3's smallest part (every part but the last)
DEFAULT_PART = 16 << 20
MAX_PARTS = 10_000
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


def _error_code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


class S3BlobWriter(BlobWriter):
    def __init__(self, store: S3BlobStore, destination: str | None = None):
        """destination: the full key, when it is known from the start (it is then written directly,
        still invisible until the multipart upload completes, and commit() names that same key)."""
        self._store = store
        self._buffer = bytearray()
        self._staging_key = destination or f"{store.prefix}{STAGING}{uuid.uuid4().hex}"
        self._upload_id: str | None = None  # set once the blob outgrows one part
        self._parts: list[dict] = []
        self._staged_object = False  # the multipart upload is complete at the staging key
        self._done = False

    def write(self, data: bytes) -> None:
        self.write_many([data])

    def write_many(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self._buffer += chunk
            if len(self._buffer) >= self._part_size():
                self._send_part()

    def _part_size(self) -> int:
        # Parts grow after every thousand so that 10,000 of them hold far more than any upload limit.
        return self._store.part_size * (1 + len(self._parts) // 1000)

    def _send_part(self) -> None:
        client, bucket = self._store.client, self._store.bucket
        if self._upload_id is None:
            self._upload_id = client.create_multipart_upload(Bucket=bucket, Key=self._staging_key)["UploadId"]
        if len(self._parts) >= MAX_PARTS:
            raise OSError("blob too large for one S3 multipart upload")
        body, self._buffer = bytes(self._buffer), bytearray()
        number = len(self._parts) + 1
        answer = client.upload_part(Bucket=bucket, Key=self._staging_key, UploadId=self._upload_id,
                                    PartNumber=number, Body=body)
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def seal(self) -> None:
        """A multipart blob: send the last part and complete it at the staging key (still invisible).
        A blob of one part stays in memory: commit() writes it with a single atomic PUT."""
        if self._upload_id is None or self._staged_object:
            return
        if self._buffer or not self._parts:
            self._send_part()
        self._store.client.complete_multipart_upload(
            Bucket=self._store.bucket, Key=self._staging_key, UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts})
        self._staged_object = True

    def commit(self, key: str) -> None:
        target = self._store.full_key(key)
        self.seal()
        if self._staged_object and self._staging_key == target:
            self._done = True
        elif self._staged_object:
            self._store.copy(self._staging_key, target)
            self._done = True  # committed: the staging object is now only litter
            try:
                self._store.client.delete_object(Bucket=self._store.bucket, Key=self._staging_key)
            except Exception:  # noqa: BLE001 - the stale-staging sweep removes it later
                log.warning("could not remove staging object %s after commit", self._staging_key, exc_info=True)
        else:
            self._store.client.put_object(Bucket=self._store.bucket, Key=target, Body=bytes(self._buffer))
            self._done = True
        self._buffer = bytearray()

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._buffer = bytearray()
        client, bucket = self._store.client, self._store.bucket
        if self._staged_object:
            client.delete_object(Bucket=bucket, Key=self._staging_key)
        elif self._upload_id is not None:
            client.abort_multipart_upload(Bucket=bucket, Key=self._staging_key, UploadId=self._upload_id)


class S3BlobStore(BlobStore):
    def __init__(self, bucket: str, prefix: str = "", endpoint: str | None = None, region: str | None = None,
                 profile: str | None = None, part_size: int = DEFAULT_PART, addressing: str | None = None):
        import boto3
        from botocore.config import Config

        if part_size < MIN_PART:
            raise ValueError(f"part_size must be at least {MIN_PART} bytes (S3's minimum part)")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_size = part_size
        session = boto3.session.Session(profile_name=profile)
        config = Config(
            # Self-hosted stores (MinIO, Garage, rclone) answer on one host name: path-style addressing.
            s3={"addressing_style": addressing or ("path" if endpoint else "auto")},
            max_pool_connections=64,  # the API serves many uploads at once from threads
            retries={"max_attempts": 5, "mode": "standard"},
            # Some stores send the whole object's checksum with a ranged answer, which cannot match it.
            response_checksum_validation="when_required",
        )
        self.client = session.client("s3", endpoint_url=endpoint, region_name=region or "us-east-1", config=config)

    @classmethod
    def from_url(cls, url: str) -> S3BlobStore:
        parsed = urlparse(url)
        if not parsed.netloc:
            raise ValueError(f"an S3 blob URL names its bucket: s3://bucket/prefix, not {url!r}")
        query = {name: values[-1] for name, values in parse_qs(parsed.query).items()}
        unknown = set(query) - {"endpoint", "region", "profile", "part_size", "addressing"}
        if unknown:
            raise ValueError(f"unknown S3 URL option(s) {sorted(unknown)} in {url!r}")
        return cls(parsed.netloc, parsed.path, endpoint=query.get("endpoint"), region=query.get("region"),
                   profile=query.get("profile"), part_size=parse_size(query.get("part_size", DEFAULT_PART)),
                   addressing=query.get("addressing"))

    def full_key(self, key: str) -> str:
        check_key(key)
        return self.prefix + key

    def copy(self, source: str, target: str) -> None:
        """Server-side copy of full keys; boto3 switches to a multipart copy past 5 GiB, S3's limit for one."""
        from boto3.s3.transfer import TransferConfig

        self.client.copy({"Bucket": self.bucket, "Key": source}, self.bucket, target,
                         Config=TransferConfig(multipart_threshold=5 << 30, multipart_chunksize=1 << 30))

    def writer(self) -> S3BlobWriter:
        return S3BlobWriter(self)

    def _head(self, key: str) -> dict:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.full_key(key))
        except ClientError as error:
            if _error_code(error) in _NOT_FOUND:
                raise BlobNotFound(key) from None
            raise

    def get(self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        if end is not None and end <= start:
            self._head(key)
            return iter(())
        return self.read_object(self.full_key(key), start, end, chunk_size)

    def read_object(self, full_key: str, start: int = 0, end: int | None = None,
                    chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Bytes start..end (exclusive) of the object at full_key (prefix included), end > start."""
        from botocore.exceptions import ClientError

        ranged = {} if start == 0 and end is None else {"Range": f"bytes={start}-{'' if end is None else end - 1}"}
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=full_key, **ranged)
        except ClientError as error:
            code = _error_code(error)
            if code in _NOT_FOUND:
                raise BlobNotFound(full_key.removeprefix(self.prefix)) from None
            if code == "InvalidRange":  # starts at or past the end: nothing to read, like a file
                return iter(())
            raise
        return self._stream(answer["Body"], chunk_size)

    @staticmethod
    def _stream(body, chunk_size: int) -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def size(self, key: str) -> int:
        return self._head(key)["ContentLength"]

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except BlobNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.full_key(key))

    def _listing(self, prefix: str) -> Iterator[dict]:
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", ())

    def iterate(self, prefix: str = "") -> Iterator[str]:
        for entry in self._listing(self.prefix + prefix):
            key = entry["Key"][len(self.prefix):]
            if not key.startswith("."):  # .staging/ and .resumable/ hold no committed blob
                yield key

    def modified_at(self, key: str) -> float:
        return self._head(key)["LastModified"].timestamp()  # of the PUT or copy that committed it

    def resumable(self, name: str) -> S3ResumableBlob:
        check_resumable_name(name)
        return S3ResumableBlob(self, f"{self.prefix}{RESUMABLE}{name}/")

    def resumable_names(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + RESUMABLE, Delimiter="/")
        for page in pages:
            for common in page.get("CommonPrefixes", ()):
                yield common["Prefix"][len(self.prefix + RESUMABLE):].rstrip("/")

    def staging(self) -> Iterator[tuple[str, dt.datetime]]:
        """(full key, last modified) of staged objects not yet committed or removed."""
        for entry in self._listing(self.prefix + STAGING):
            yield entry["Key"], entry["LastModified"]

    def _last_activity(self, upload: dict) -> dt.datetime:
        """When an open multipart upload last received a part: a long upload is old but alive."""
        parts = self.client.get_paginator("list_parts").paginate(
            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        return max((part["LastModified"] for page in parts for part in page.get("Parts", ())),
                   default=upload["Initiated"])

    def remove_stale_staging(self, older_than_seconds: float) -> int:
        """Staged objects a crash left between seal and commit, and multipart uploads it left open.
        Stores that cannot list open uploads (rclone serve s3) expire them themselves; so should a
        lifecycle rule on AWS (AbortIncompleteMultipartUpload), which docs/deployment.md sets up."""
        from botocore.exceptions import ClientError

        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=older_than_seconds)
        removed = 0
        for key, modified in list(self.staging()):
            if modified < cutoff:
                self.client.delete_object(Bucket=self.bucket, Key=key)
                removed += 1
        try:
            pages = self.client.get_paginator("list_multipart_uploads").paginate(  # a tus commit's too
                Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for upload in page.get("Uploads", ()):
                    if upload["Initiated"] < cutoff and self._last_activity(upload) < cutoff:
                        self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                           UploadId=upload["UploadId"])
                        removed += 1
        except ClientError as error:
            if _error_code(error) == "NoSuchUpload":  # how rclone serve s3 says there is none
                return removed
            if _error_code(error) not in ("NotImplemented", "Unimplemented"):
                raise
            log.info("this S3 store cannot list open multipart uploads; it must expire abandoned ones itself")
        return removed


class S3ResumableBlob(ResumableBlob):
    """Segments named <start>-<end> (zero-padded, so they list in order). A request appends segments of at
    most one part each, so memory stays within a part; truncate() deletes or cuts the segments past the
    acknowledged size; commit() streams the segments into an ordinary writer (S3 cannot read back the
    parts of an unfinished multipart upload, which rules those out here). A request may seal from a
    checkpoint thread while it goes on writing: a lock keeps the buffer and the segments in order."""

    def __init__(self, store: S3BlobStore, folder: str):
        self._store = store
        self._folder = folder
        self._buffer = bytearray()
        self._stored: int | None = None  # where the next segment starts; learned from a listing once
        self._lock = threading.RLock()

    def _segment_key(self, start: int, end: int) -> str:
        return f"{self._folder}{start:016d}-{end:016d}"

    def _segments(self) -> list[tuple[int, int, str]]:
        found = []
        for entry in self._store._listing(self._folder):
            start, _, end = entry["Key"][len(self._folder):].partition("-")
            found.append((int(start), int(end), entry["Key"]))
        return sorted(found)

    def _chain(self) -> Iterator[tuple[int, int, str]]:
        """The segments that continue each other from byte 0 (a cut interrupted by a crash can leave a
        longer twin of a segment: the shorter one, listed first, is the one that counts)."""
        position = 0
        for start, end, key in self._segments():
            if start == position:
                yield start, end, key
                position = end

    def _position(self) -> int:
        if self._stored is None:
            self._stored = max((end for _, end, _ in self._chain()), default=0)
        return self._stored

    def size(self) -> int:
        with self._lock:
            return self._position() + len(self._buffer)

    def truncate(self, size: int) -> None:
        with self._lock:
            self._truncate(size)

    def _truncate(self, size: int) -> None:
        self._buffer = bytearray()
        stored = self._position()
        if stored < size:
            raise BlobNotFound(f"{self._folder}: {stored} bytes staged, {size} acknowledged")
        client, bucket = self._store.client, self._store.bucket
        for start, end, key in self._segments():
            if start >= size:
                client.delete_object(Bucket=bucket, Key=key)
            elif end > size:  # cut: write the shorter twin first, so a crash never loses the kept bytes
                head = b"".join(self._store.read_object(key, 0, size - start))
                client.put_object(Bucket=bucket, Key=self._segment_key(start, size), Body=head)
                client.delete_object(Bucket=bucket, Key=key)
        self._stored = size

    def write_many(self, chunks: list[bytes]) -> None:
        with self._lock:
            self._position()
            for chunk in chunks:
                self._buffer += chunk
                if len(self._buffer) >= self._store.part_size:
                    self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        start = self._position()
        body, self._buffer = bytes(self._buffer), bytearray()
        self._store.client.put_object(Bucket=self._store.bucket, Key=self._segment_key(start, start + len(body)),
                                      Body=body)
        self._stored = start + len(body)

    def seal(self) -> None:
        with self._lock:
            self._flush()  # an acknowledged PUT is durable on S3

    def read(self, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        return self._read(list(self._chain()), start, end, chunk_size)  # nothing staged yet: no bytes

    def _read(self, chain, start: int, end: int | None, chunk_size: int) -> Iterator[bytes]:
        for first, last, key in chain:
            low, high = max(start, first), last if end is None else min(end, last)
            if low < high:
                yield from self._store.read_object(key, low - first, high - first, chunk_size)

    def commit(self, key: str) -> None:
        """Re-runnable: the segments stay until discard(). The key is known, so the segments are written
        straight to it, with no staging copy."""
        self.seal()
        with S3BlobWriter(self._store, self._store.full_key(key)) as writer:
            for chunk in self._read(list(self._chain()), 0, None, 1 << 20):
                writer.write(chunk)
            writer.commit(key)

    def abort(self) -> None:
        with self._lock:
            self._buffer = bytearray()  # never sealed, so never acknowledged
            self._stored = None  # another process may append next: list again then

    def discard(self) -> None:
        self.abort()
        for _, _, key in self._segments():
            self._store.client.delete_object(Bucket=self._store.bucket, Key=key)

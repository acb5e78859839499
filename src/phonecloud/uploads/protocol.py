"""The tus 1.0 wire format: header names, parsing of what clients send, and the protocol's own errors.

Written from the specification (tus.io/protocols/resumable-upload, version 1.0.0). Pure functions: the
service never sees a header, the routes never decide anything.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from email.utils import format_datetime

from phonecloud.core.errors import BadRequest, PhonecloudError

VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,expiration,checksum,termination"
CHECKSUM_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "md5": hashlib.md5}
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
ASSET_HEADER = "Phonecloud-Asset-Id"  # ours: the asset a finished upload became (or already was)
DUPLICATE_HEADER = "Phonecloud-Duplicate"  # ours: "true" when those bytes were already stored
MAX_METADATA_CHARS = 8192
_DIGITS = re.compile(r"^[0-9]{1,19}$")  # 19 digits: below 2**63, what the database stores
_METADATA_KEY = re.compile(r"^[\x21-\x2b\x2d-\x7e]{1,100}$")  # printable ASCII without space or comma


class UnsupportedVersion(PhonecloudError):
    status = 412
    code = "tus_version_unsupported"


class UploadLocked(PhonecloudError):
    status = 423
    code = "upload_locked"


class UploadGone(PhonecloudError):
    status = 410
    code = "upload_expired"


class ChecksumMismatch(PhonecloudError):
    status = 460
    code = "checksum_mismatch"


class WrongContentType(PhonecloudError):
    status = 415
    code = "unsupported_content_type"


def check_version(value: str | None) -> None:
    """Every request but OPTIONS says which protocol version it speaks; we speak exactly one."""
    if value != VERSION:
        said = "no Tus-Resumable header" if value is None else f"Tus-Resumable {value!r}"
        raise UnsupportedVersion(f"{said}: this server speaks tus {VERSION}; send 'Tus-Resumable: {VERSION}'",
                                 supported=[VERSION])


def check_content_type(value: str | None) -> None:
    if (value or "").split(";")[0].strip().lower() != OFFSET_CONTENT_TYPE:
        raise WrongContentType(f"upload bytes must be sent as Content-Type: {OFFSET_CONTENT_TYPE}, not {value!r}")


def parse_count(name: str, value: str | None) -> int:
    """A non-negative byte count or offset header; BadRequest naming the header otherwise."""
    if value is None:
        raise BadRequest(f"the {name} header is required")
    if not _DIGITS.match(value.strip()):
        raise BadRequest(f"{name} must be a non-negative whole number of bytes below 2^63, not {value[:40]!r}")
    return int(value.strip())


def parse_metadata(header: str | None) -> dict[str, bytes]:
    """Upload-Metadata: comma-separated `key base64value` pairs (the value may be absent)."""
    if header is None or not header.strip():
        return {}
    if len(header) > MAX_METADATA_CHARS:
        raise BadRequest(f"Upload-Metadata is longer than {MAX_METADATA_CHARS} characters")
    pairs: dict[str, bytes] = {}
    for item in header.split(","):
        key, _, encoded = item.strip().partition(" ")
        if not _METADATA_KEY.match(key):
            raise BadRequest(f"Upload-Metadata key {key[:40]!r} is empty or has characters other than ASCII")
        if key in pairs:
            raise BadRequest(f"Upload-Metadata names {key!r} twice")
        try:
            pairs[key] = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest(f"Upload-Metadata value of {key!r} is not base64") from None
    return pairs


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes

    def hasher(self):
        return CHECKSUM_ALGORITHMS[self.algorithm]()


def parse_checksum(header: str | None) -> Checksum | None:
    """Upload-Checksum: `<algorithm> <base64 digest>` of this request's body."""
    if header is None:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise BadRequest(f"checksum algorithm {algorithm[:20]!r} is not supported; use one of "
                         f"{', '.join(CHECKSUM_ALGORITHMS)}", supported=list(CHECKSUM_ALGORITHMS))
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("Upload-Checksum digest is not base64") from None
    if len(digest) != CHECKSUM_ALGORITHMS[algorithm]().digest_size:
        raise BadRequest(f"Upload-Checksum digest has {len(digest)} bytes; {algorithm} has "
                         f"{CHECKSUM_ALGORITHMS[algorithm]().digest_size}")
    return Checksum(algorithm, digest)


def http_date(moment: dt.datetime) -> str:
    """RFC 9110's IMF-fixdate, as Upload-Expires wants it."""
    return format_datetime(moment.astimezone(dt.UTC), usegmt=True)

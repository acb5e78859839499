"""Binary values (PHOTO, LOGO, SOUND, KEY): base64 checked and decoded, their media type as vCard 3.0's
TYPE token (TYPE=JPEG, RFC 2426 §3.1.4) and as vCard 4.0's media type (data:image/jpeg;base64, RFC 6350 §6.2.4)."""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote_to_bytes

from phonecloud.contacts.vcard.errors import VCardError

_TOKEN_TO_MEDIA = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "BMP": "image/bmp",
                   "TIFF": "image/tiff", "HEIC": "image/heic", "WEBP": "image/webp", "PGP": "application/pgp-keys",
                   "X509": "application/pkix-cert", "WAVE": "audio/wav", "OGG": "audio/ogg", "MP3": "audio/mpeg"}
_MEDIA_TO_TOKEN = {media: token for token, media in _TOKEN_TO_MEDIA.items()} | {
    "image/jpg": "JPEG", "image/pjpeg": "JPEG", "audio/x-wav": "WAVE", "audio/wave": "WAVE"}
_ALIASES = {"JPG": "JPEG", "TIF": "TIFF", "WAV": "WAVE"}
_WHITESPACE = re.compile(rb"\s+")
_DATA_URI = re.compile(r"data:([^,;]*)((?:;[^,;]*)*),(.*)", re.DOTALL | re.IGNORECASE)
OCTET_STREAM = "application/octet-stream"


def major_type(name: str) -> str:
    """What a binary property holds when its TYPE says only a subtype."""
    return {"SOUND": "audio", "KEY": "application"}.get(name, "image")


def decode_base64(value: bytes | str, line: int, name: str) -> bytes:
    """Base64 as writers fold and pad it (any whitespace inside, padding missing); anything else is refused."""
    raw = value.encode("ascii", "replace") if isinstance(value, str) else value
    raw = _WHITESPACE.sub(b"", raw).rstrip(b"=")
    raw += b"=" * (-len(raw) % 4)
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise VCardError(line, f"the {name} value is not base64") from None


def token_of(type_value: str, name: str) -> str | None:
    """The TYPE token a TYPE value names as a media type (JPEG, image/jpeg, jpg), or None."""
    upper = "".join(type_value.split()).upper()
    if "/" in upper:
        return token_for_media(upper, name)
    upper = _ALIASES.get(upper, upper)
    return upper if upper in _TOKEN_TO_MEDIA else None


def media_of(token: str | None, name: str) -> str:
    """The media type of a TYPE token (a token that is already a media type stays one)."""
    if not token:
        return OCTET_STREAM
    if "/" in token:
        return token
    return _TOKEN_TO_MEDIA.get(token, f"{major_type(name)}/{token.lower()}")


def token_for_media(media: str, name: str) -> str | None:
    """The TYPE token for a media type: the inverse of media_of."""
    media = "".join(media.split()).lower()  # whitespace is no part of a media type
    if not media or media == OCTET_STREAM:
        return None
    if media in _MEDIA_TO_TOKEN:
        return _MEDIA_TO_TOKEN[media]
    major, _, subtype = media.partition("/")
    return subtype.upper() if major == major_type(name) and subtype and "/" not in subtype else media


def sniffed_token(data: bytes) -> str | None:
    """The media type of the bytes themselves, for binary values written without TYPE."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1"):
        return "HEIC"
    return None


def parse_data_uri(value: str, line: int, name: str) -> tuple[str, bytes] | None:
    """(media type, bytes) of a data: URI (RFC 2397), None when the value is not one."""
    found = _DATA_URI.match(value.strip())
    if found is None:
        return None
    media, parameters, payload = found.groups()
    if ";base64" in parameters.lower():
        return media or OCTET_STREAM, decode_base64(payload, line, name)
    return media or "text/plain", unquote_to_bytes(payload)


def data_uri(media: str, data: bytes) -> str:
    return f"data:{media};base64,{base64.b64encode(data).decode('ascii')}"

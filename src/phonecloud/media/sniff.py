"""Recognise photos and videos by their first bytes, never by file name.

Pure Python with no dependencies: the sync client (which may run under Termux) and the server must agree
on exactly the same set, so both call sniff(). Libraries such as python-magic need libmagic, and
pure-Python ones do not tell HEIC from AVIF from MP4 by ISO-BMFF brands the way this needs.
"""

from __future__ import annotations

from dataclasses import dataclass

SNIFF_BYTES = 4096


@dataclass(frozen=True)
class MediaType:
    kind: str  # "photo" or "video"
    mime: str
    extension: str


JPEG = MediaType("photo", "image/jpeg", "jpg")
PNG = MediaType("photo", "image/png", "png")
GIF = MediaType("photo", "image/gif", "gif")
WEBP = MediaType("photo", "image/webp", "webp")
TIFF = MediaType("photo", "image/tiff", "tif")
HEIC = MediaType("photo", "image/heic", "heic")
HEIF = MediaType("photo", "image/heif", "heif")
AVIF = MediaType("photo", "image/avif", "avif")
DNG_OR_TIFF_RAW = MediaType("photo", "image/x-raw-tiff", "dng")  # DNG, NEF, ARW, PEF, SRW... (TIFF inside)
CR2 = MediaType("photo", "image/x-canon-cr2", "cr2")
CR3 = MediaType("photo", "image/x-canon-cr3", "cr3")
ORF = MediaType("photo", "image/x-olympus-orf", "orf")
RW2 = MediaType("photo", "image/x-panasonic-rw2", "rw2")
RAF = MediaType("photo", "image/x-fuji-raf", "raf")
MP4 = MediaType("video", "video/mp4", "mp4")
MOV = MediaType("video", "video/quicktime", "mov")
THREE_GP = MediaType("video", "video/3gpp", "3gp")
MKV = MediaType("video", "video/x-matroska", "mkv")
WEBM = MediaType("video", "video/webm", "webm")
AVI = MediaType("video", "video/x-msvideo", "avi")

_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_HEIF_BRANDS = {b"mif1", b"msf1", b"mif2"}
_AVIF_BRANDS = {b"avif", b"avis"}
_MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso8", b"mp41", b"mp42", b"mp71", b"avc1",
    b"M4V ", b"M4VH", b"M4VP", b"dash", b"mmp4", b"msnv", b"ndas", b"f4v ", b"XAVC", b"MSNV", b"nvr1",
}
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
# TIFF-based camera RAW files whose first IFD looks like an ordinary TIFF: the DNG tag (0xC612) or the
# maker's own marks tell them apart, but both are photos, so without a tag walk they share one type.
_TIFF_RAW_HINTS = (b"DNG", b"NIKON", b"SONY", b"PENTAX", b"SAMSUNG", b"Leica", b"Hasselblad")


def sniff(head: bytes) -> MediaType | None:
    """The media type of a file from its first bytes (pass at least SNIFF_BYTES when available)."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return AVI
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return RAF
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR"):
        return ORF
    if head[:4] == b"IIU\x00":
        return RW2
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff_family(head)
    if head[4:8] == b"ftyp":
        return _iso_bmff(head)
    if head[4:8] in _QUICKTIME_ATOMS and len(head) >= 8:
        return MOV
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _matroska(head)
    return None


def _tiff_family(head: bytes) -> MediaType:
    if head[8:10] == b"CR":
        return CR2
    if any(hint in head for hint in _TIFF_RAW_HINTS):
        return DNG_OR_TIFF_RAW
    return TIFF


def _iso_bmff(head: bytes) -> MediaType | None:
    box_size = int.from_bytes(head[:4], "big")
    major = head[8:12]
    end = min(len(head), box_size if box_size >= 16 else 16)
    compatible = {head[offset:offset + 4] for offset in range(16, end - 3, 4)}
    brands = {major} | compatible
    if major == b"crx ":
        return CR3
    if major in _AVIF_BRANDS or (major in _HEIF_BRANDS and brands & _AVIF_BRANDS):
        return AVIF
    if major in _HEIC_BRANDS or (major in _HEIF_BRANDS and brands & _HEIC_BRANDS):
        return HEIC
    if major in _HEIF_BRANDS:
        return HEIF
    if major == b"qt  ":
        return MOV
    if major.startswith((b"3gp", b"3g2")):
        return THREE_GP
    if major in _MP4_BRANDS or brands & _MP4_BRANDS:
        return MP4
    return None


def _matroska(head: bytes) -> MediaType:
    # The EBML header names the document type within its first few dozen bytes.
    return WEBM if b"webm" in head[:64] else MKV


_BY_MIME = {media.mime: media for media in list(globals().values()) if isinstance(media, MediaType)}


def sniff_extension(mime: str) -> str:
    """The usual file extension of one of the media types above."""
    media = _BY_MIME.get(mime)
    return media.extension if media else "bin"


def media_type_of(mime: str) -> MediaType | None:
    """The media type recorded for an asset, from its MIME type."""
    return _BY_MIME.get(mime)

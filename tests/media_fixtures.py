"""Test fixtures made here, so the suite needs nothing from outside: real images (Pillow) and minimal
container headers for the video and RAW formats, which only need to be recognised at this stage."""

from __future__ import annotations

import datetime
import io
import os
import struct
import zlib

import av

from PIL import Image


def image_bytes(fmt: str = "JPEG", seed: int = 0, size: tuple[int, int] = (16, 12)) -> bytes:
    """A real, decodable image; different seeds give different bytes."""
    image = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    image.putpixel((0, 0), (seed % 256, (seed >> 8) % 256, (seed >> 16) % 256))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def jpeg(seed: int = 0) -> bytes:
    return image_bytes("JPEG", seed)


def _box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def ftyp(major: bytes, *compatible: bytes, body: int = 2048) -> bytes:
    """An ISO-BMFF file: an ftyp box then an mdat of random bytes (MP4, MOV, 3GP, HEIC, AVIF, CR3)."""
    return _box(b"ftyp", major + b"\x00\x00\x00\x00" + b"".join(compatible)) + _box(b"mdat", os.urandom(body))


def matroska(doctype: bytes) -> bytes:
    header = b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(header)]) + header + os.urandom(2048)


def riff(form: bytes) -> bytes:
    payload = form + os.urandom(2048)
    return b"RIFF" + len(payload).to_bytes(4, "little") + payload


def tiff_raw(maker: bytes) -> bytes:
    return b"II*\x00\x08\x00\x00\x00" + maker + os.urandom(2048)


# Every format the server must accept, by the name a test reports, with (bytes maker, kind, mime type).
ACCEPTED = {
    "jpeg": (lambda: jpeg(os.getpid()), "photo", "image/jpeg"),
    "png": (lambda: image_bytes("PNG", 1), "photo", "image/png"),
    "gif": (lambda: image_bytes("GIF", 2), "photo", "image/gif"),
    "webp": (lambda: image_bytes("WEBP", 3), "photo", "image/webp"),
    "tiff": (lambda: image_bytes("TIFF", 4), "photo", "image/tiff"),
    "avif": (lambda: ftyp(b"avif", b"mif1", b"miaf"), "photo", "image/avif"),
    "heic": (lambda: ftyp(b"heic", b"mif1", b"heic"), "photo", "image/heic"),
    "heif-mif1": (lambda: ftyp(b"mif1", b"mif1", b"heic"), "photo", "image/heic"),
    "dng": (lambda: tiff_raw(b"DNG Adobe"), "photo", "image/x-raw-tiff"),
    "nef": (lambda: tiff_raw(b"NIKON CORPORATION"), "photo", "image/x-raw-tiff"),
    "cr2": (lambda: b"II*\x00\x10\x00\x00\x00CR\x02\x00" + os.urandom(2048), "photo", "image/x-canon-cr2"),
    "cr3": (lambda: ftyp(b"crx ", b"crx ", b"isom"), "photo", "image/x-canon-cr3"),
    "orf": (lambda: b"IIRO\x08\x00\x00\x00" + os.urandom(2048), "photo", "image/x-olympus-orf"),
    "rw2": (lambda: b"IIU\x00\x08\x00\x00\x00" + os.urandom(2048), "photo", "image/x-panasonic-rw2"),
    "raf": (lambda: b"FUJIFILMCCD-RAW 0201" + os.urandom(2048), "photo", "image/x-fuji-raf"),
    "mp4": (lambda: ftyp(b"isom", b"isom", b"mp42"), "video", "video/mp4"),
    "mov": (lambda: ftyp(b"qt  ", b"qt  "), "video", "video/quicktime"),
    "mov-no-ftyp": (lambda: _box(b"wide", b"") + _box(b"mdat", os.urandom(2048)), "video", "video/quicktime"),
    "3gp": (lambda: ftyp(b"3gp4", b"3gp4", b"isom"), "video", "video/3gpp"),
    "mkv": (lambda: matroska(b"matroska"), "video", "video/x-matroska"),
    "webm": (lambda: matroska(b"webm"), "video", "video/webm"),
    "avi": (lambda: riff(b"AVI LIST"), "video", "video/x-msvideo"),
}

REFUSED = {
    "text": lambda: b"hello, this is not a photo\n" * 100,
    "pdf": lambda: b"%PDF-1.7\n" + os.urandom(1024),
    "zip": lambda: b"PK\x03\x04" + os.urandom(1024),
    "elf": lambda: b"\x7fELF" + os.urandom(1024),
    "html-named-jpg": lambda: b"<html><body>not an image</body></html>",
    "ftyp-unknown-brand": lambda: ftyp(b"abcd", b"efgh"),
}


def mp4(metadata: dict[str, str] | None = None, frames: int = 5, options: dict[str, str] | None = None) -> bytes:
    """A real, playable MP4 of a few 64x48 MPEG-4 frames, encoded by PyAV."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4", options=options or {}) as container:
        container.metadata.update(metadata or {})
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(frames):
            frame = av.VideoFrame(64, 48, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([index * 40 % 256]) * plane.buffer_size)
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return buffer.getvalue()


def mp4_without_streams(created: datetime.datetime) -> bytes:
    """ftyp and a moov with only its movie header: a valid MP4 with no track (PyAV will not write one)."""
    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", 8 + len(payload)) + kind + payload
    seconds = int((created - datetime.datetime(1904, 1, 1)).total_seconds())  # QuickTime's epoch
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = (b"\0\0\0\0" + struct.pack(">IIIIIH", seconds, seconds, 1000, 0, 0x10000, 0x100) + bytes(10) + matrix
            + bytes(24) + struct.pack(">I", 1))
    return box(b"ftyp", b"isom\0\0\0\0isommp41") + box(b"moov", box(b"mvhd", mvhd))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_declaring(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR (correct CRC) declaring a huge RGB image, with a tiny IDAT."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 301)) + png_chunk(b"IEND", b"")
    )


def jpeg_with_looping_exif(entries: int = 5000, seed: int = 0) -> bytes:
    """A small JPEG whose EXIF IFD0 holds `entries` ExifIFD pointers, each back to IFD0 itself: libexif's
    walk over it is quadratic (11.8 s of CPU for 5,000 entries, 60 KB, before issue 14)."""
    ifd = struct.pack("<H", entries) + struct.pack("<HHII", 0x8769, 4, 1, 8) * entries + struct.pack("<I", 0)
    exif = b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd
    body = jpeg(seed)
    return body[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + body[2:]

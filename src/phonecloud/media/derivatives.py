"""The two derivatives every photo and video gets: a small WebP thumbnail for the grid and a JPEG preview
for the viewer.

Each is made by a decode of its own, at its own size: the media job makes only the thumbnail, and the
preview follows later (a job of lower priority, or the viewer's first request). libvips' ``thumbnail`` opens
the file with shrink-on-load (a JPEG is decoded at 1/2, 1/4 or 1/8 scale by libjpeg itself: for a
thumbnail of a 12 MP photo, 1/8), turns it upright from the EXIF orientation, converts it to sRGB from its
embedded ICC profile and streams it down to the derivative's size. Outputs carry no metadata at all (no
EXIF, no GPS, no ICC profile): they are plain sRGB, which is what browsers assume for an untagged image.

Where the bundled libvips cannot decode (HEVC inside HEIC, video), another decoder produces the upright RGB
pixels and they join the same path:

- HEIC/HEIF: pillow-heif (libheif + libde265). libheif applies the container's irot/imir transforms while
  decoding, which is the orientation a HEIF image is displayed with, so its EXIF orientation is never
  applied on top (that would rotate twice).
- Video: PyAV (FFmpeg) decodes one frame at about one second in, turned upright by the stream's display
  matrix.

A JPEG, PNG or WebP whose EXIF would make libexif (inside libvips) work for seconds (see exif_guard) is
rendered from a temporary copy without that EXIF, turned by the orientation the guard found in it.

A damaged or truncated JPEG, PNG, WebP, GIF or TIFF, which libvips refuses whatever its ``fail_on``, is
decoded by Pillow as far as its data goes (the rest grey), as browsers show it: the derivative is made
and ``Rendered.damage`` says what is wrong, for the "damaged but shown" state.

Everything else that goes wrong becomes ``RenderError`` with a short reason for the "no preview" state. This
module decodes untrusted files in-process: the server calls it through ``sandbox.RenderSandbox``, which
runs it in a child process with a memory limit, a CPU budget and a timeout.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from dataclasses import dataclass
from fractions import Fraction

import pyvips

from phonecloud.media import exif_guard
from phonecloud.media.sniff import MediaType

PREVIEW_LONG_SIDE = 1440
THUMBNAIL_SHORT_SIDE = 250
PREVIEW_FORMAT = "jpg"
PREVIEW_QUALITY = 85
THUMBNAIL_FORMAT = "webp"
THUMBNAIL_QUALITY = 80
THUMBNAIL = "thumbnail"  # the derivatives by name, as render() is asked for them
PREVIEW = "preview"
# Refused before any pixel is decoded. The largest phone sensors shoot 200 MP (16320x12240, some
# 16384x12288 = 201 MP), so the limit leaves them room; an image declaring more is a decompression bomb
# or a panorama stitch far past what a preview needs.
MAX_PIXELS = 250_000_000
# The poster frame of a video is taken this far in (the very first frame is often black or a fade-in).
POSTER_SECONDS = 1.0
# After a seek lands on the key frame before the poster time, at most this many frames are decoded to
# reach it; a stream whose key frames are further apart than that gives the last frame decoded.
_MAX_FRAMES_AFTER_SEEK = 120
_decoder_threads: int | None = None  # see configure()

_HUGE = 10_000_000  # VIPS_MAX_COORD: "no limit" for one side of a thumbnail box
_KEEP_NONE = "keep=none" if pyvips.at_least_libvips(8, 15) else "strip"
_PREVIEW_SAVE = f".{PREVIEW_FORMAT}[Q={PREVIEW_QUALITY},{_KEEP_NONE}]"
_THUMBNAIL_SAVE = f".{THUMBNAIL_FORMAT}[Q={THUMBNAIL_QUALITY},{_KEEP_NONE}]"

# The libvips loaders a sniffed photo may be opened with. libvips picks a loader from the file's own
# bytes, as sniff() does; anything else (svg, matrix, csv, vips...) is refused even if it were to match.
_ALLOWED_LOADERS = ("jpegload", "pngload", "webpload", "tiffload", "gifload", "heifload", "dcrawload")
_RAW_MIMES = {
    "image/x-raw-tiff", "image/x-canon-cr2", "image/x-canon-cr3", "image/x-olympus-orf",
    "image/x-panasonic-rw2", "image/x-fuji-raf",
}
_HEIF_MIMES = {"image/heic", "image/heif"}
# What Pillow decodes as far as the data goes when libvips refuses a damaged file (_render_damaged).
_TOLERANT_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "TIFF"}
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class Rendered:
    image: bytes  # the derivative asked for, encoded (see render())
    width: int  # of the upright original
    height: int
    damage: str | None = None  # why only part of the picture could be decoded; None when all of it was


class RenderError(Exception):
    """The file cannot be rendered; the message says why, in words fit for the "no preview" state."""


def configure(threads: int | None = None) -> None:
    """Process-wide decoder settings, for a process that does nothing but render (the sandbox's child).

    threads: worker threads libvips and libheif may use for one image. 1 gives the most images per second
    per core when as many renders run side by side as there are cores; None keeps the libraries' defaults
    (one per core), which gives the lowest latency for a single image.

    The libvips operation cache is turned off: every file is rendered once, and the cache would otherwise
    keep up to 100 files open (even deleted ones) and their decoded pixels in memory.
    """
    pyvips.cache_set_max(0)
    pyvips.cache_set_max_files(0)
    pyvips.cache_set_max_mem(0)
    if hasattr(pyvips, "block_untrusted_set"):
        pyvips.block_untrusted_set(True)  # loaders libvips itself marks unsafe for untrusted input
    global _decoder_threads
    _decoder_threads = threads
    if threads is not None:
        pyvips.concurrency_set(threads)
        try:
            import pillow_heif

            pillow_heif.options.DECODE_THREADS = threads
        except ImportError:
            pass


def render(path: str, media: MediaType, derivative: str) -> Rendered:
    """One derivative of one stored file, whose type sniff() found; RenderError if impossible.

    THUMBNAIL: WebP, THUMBNAIL_SHORT_SIDE px on the short side and at most PREVIEW_LONG_SIDE on the long one.
    PREVIEW: JPEG, PREVIEW_LONG_SIDE px on the long side. Both never upscaled, upright, sRGB, no metadata.
    """
    if derivative not in (THUMBNAIL, PREVIEW):
        raise ValueError(f"no derivative named {derivative!r}")
    try:
        return _render(path, media, derivative)
    except RenderError as error:
        # Decoders quote the file name; the reason is shown to the owner, the storage path is not theirs.
        raise RenderError(str(error).replace(os.fspath(path), "the file")) from None


def _render(path: str, media: MediaType, derivative: str) -> Rendered:
    try:
        os.stat(path)
        if media.kind == "video":
            return _render_video(path, derivative)
        if media.kind != "photo":
            raise RenderError(f"unsupported for previews: {media.mime}")
        if media.mime in _RAW_MIMES:
            if not _vips_has("dcrawload"):
                raise RenderError(f"unsupported for previews: {media.mime} (no RAW decoder installed)")
            return _render_with_vips(path, derivative)
        if media.mime in _HEIF_MIMES and not _vips_decodes_hevc():
            return _render_heif(path, derivative)
        return _render_checked(path, media, derivative)
    except RenderError:
        raise
    except pyvips.Error as error:
        raise RenderError(_vips_reason(error)) from None
    except MemoryError:
        raise  # the sandbox treats the process as spent and replaces it
    except FileNotFoundError:
        raise RenderError("file not found") from None
    except OSError as error:
        raise RenderError(f"cannot read file: {error.strerror or error}") from None


# --- images through libvips ---------------------------------------------------------------------------------


def _render_checked(path: str, media: MediaType, derivative: str) -> Rendered:
    """libvips parses EXIF with libexif, whose cost a crafted block can make quadratic: a file whose EXIF
    the guard rejects is rendered from a copy without it, turned by the orientation the guard read."""
    check = exif_guard.check_path(path, media)
    if check.problem is None:
        return _render_with_vips(path, derivative)
    with exif_guard.exif_free_copy(path, media) as copy:
        return _render_with_vips(copy, derivative, orientation=check.orientation or 1)


def _render_with_vips(path: str, derivative: str, orientation: int | None = None) -> Rendered:
    """orientation: apply this EXIF orientation (the file has none); None lets libvips read the file's."""
    try:
        header = pyvips.Image.new_from_file(path, access="sequential", fail_on="error")
    except pyvips.Error as error:
        return _render_damaged(path, derivative, orientation, None, f"not a readable image: {_vips_detail(error)}")
    loader = _field(header, "vips-loader") or ""
    if not loader.startswith(_ALLOWED_LOADERS):
        raise RenderError(f"unsupported for previews: decoded by {loader or 'no known loader'}")
    _check_pixels(header.width, header.height)
    width, height = header.width, header.height
    turn = orientation is not None  # else thumbnail() applies the file's own orientation
    orientation = orientation if turn else _field(header, "orientation") or 1
    if orientation in (5, 6, 7, 8):
        width, height = height, width  # libvips' thumbnail turns these a quarter turn
    colour = {}
    if header.get_typeof("icc-profile-data") != 0 or header.interpretation == "cmyk":
        # Convert from the embedded profile (CMYK without one: libvips' built-in CMYK profile). An invalid
        # or mismatched profile is ignored by libvips with a warning, and the pixels taken as sRGB.
        # Without a profile the pixels are sRGB by convention and are left alone: asking libvips to
        # "convert" them anyway costs three times the whole render for no change.
        colour = {"output_profile": "srgb"}
    box = _box(derivative, width, height)
    frame = (width, height)  # what the box is reckoned against: the upright picture...
    if turn:  # ...but thumbnail() sees no orientation here: the quarter turn comes after it
        box, frame = (box[::-1], (header.width, header.height)) if orientation in (5, 6, 7, 8) else (box, frame)
    scale = min(box[0] / frame[0], box[1] / frame[1])
    # libjpeg decodes at 1/8, 1/4 or 1/2 scale by itself; thumbnail() keeps a factor of two above the size
    # for its own resampling, so a 12 MP photo's thumbnail would be a 1/4 decode: the smallest scale that
    # covers the thumbnail costs a fifth less and differs by about a level in 255.
    shrink = next((factor for factor in (8, 4, 2) if factor * scale <= 1), 1)
    # fail_on="error": a damaged file raises, and is then decoded as far as it goes and said to be damaged,
    # rather than passed off as whole.
    try:
        if derivative == THUMBNAIL and loader.startswith("jpegload") and shrink > 1:
            image = pyvips.Image.new_from_file(path, access="sequential", fail_on="error", shrink=shrink)
            # The size reckoned from the whole picture: the scaled decode rounds up, which would add a pixel.
            exact = [max(1, int(side * scale + 0.5)) for side in frame]
            image = image.thumbnail_image(exact[0], height=exact[1], size="force", **colour)
        else:
            image = pyvips.Image.thumbnail(path, box[0], height=box[1], size="down", fail_on="error", **colour)
        if turn and orientation != 1:
            image = _turned(image, orientation)
        return _encoded(image, derivative, width, height)
    except pyvips.Error as error:
        return _render_damaged(path, derivative, orientation, (width, height), _vips_reason(error))


def _box(derivative: str, width: int, height: int) -> tuple[int, int]:
    """The box a derivative of an upright width x height picture fits in, its shape kept. The thumbnail's
    long side is bounded by the preview's: a panorama beyond 1440:250 (5.76:1) gets a thumbnail the preview's
    size, shorter than 250 px, as when thumbnails were made from the preview."""
    if derivative == PREVIEW:
        return PREVIEW_LONG_SIDE, PREVIEW_LONG_SIDE
    if width <= height:
        return THUMBNAIL_SHORT_SIDE, PREVIEW_LONG_SIDE
    return PREVIEW_LONG_SIDE, THUMBNAIL_SHORT_SIDE


def _sized(image: pyvips.Image, derivative: str) -> pyvips.Image:
    """An upright image in memory, brought down to the derivative's box."""
    width, height = _box(derivative, image.width, image.height)
    return image.thumbnail_image(width, height=height, size="down")


def _render_damaged(path: str, derivative: str, orientation: int | None, size: tuple[int, int] | None,
                    reason: str) -> Rendered:
    """What of a damaged image decodes, made into the derivative marked with the damage (libvips' `reason`),
    as browsers show such a file; RenderError(reason) when Pillow cannot decode any of it either.
    orientation and size (upright): what libvips read of the header, None where it could not."""
    from PIL import Image, ImageFile

    tolerant, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, True
    try:
        with Image.open(path) as image:
            if image.format not in _TOLERANT_FORMATS:
                raise RenderError(reason)
            _check_pixels(*image.size)
            if orientation is None:
                orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
                orientation = orientation if orientation in range(1, 9) else 1
            if size is None:
                size = image.size[::-1] if orientation in (5, 6, 7, 8) else image.size
            # A JPEG decodes at 1/2 to 1/8 scale, both sides kept at least what the derivative's box needs.
            least = PREVIEW_LONG_SIDE if derivative == PREVIEW else THUMBNAIL_SHORT_SIDE
            image.draft("RGB", (least, least))
            icc = image.info.get("icc_profile")
            alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            mode = "RGBA" if alpha else "L" if image.mode in ("1", "L", "I", "I;16") else "RGB"
            pixels = image.convert(mode)
    except RenderError:
        raise
    except MemoryError:
        raise
    except Exception:  # Pillow raises OSError, SyntaxError, ValueError... with its own words: libvips' say more
        raise RenderError(reason) from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = tolerant
    image = pyvips.Image.new_from_memory(pixels.tobytes(), pixels.width, pixels.height, len(mode), "uchar")
    image = image.copy(interpretation="b-w" if len(mode) == 1 else "srgb")
    if orientation != 1:
        image = _turned(image, orientation)
    rendered = _encoded(_in_srgb(_sized(image, derivative), icc), derivative, *size)
    return dataclasses.replace(rendered, damage=reason)


def _turned(image: pyvips.Image, orientation: int) -> pyvips.Image:
    """Upright from an EXIF orientation the file no longer carries, the way thumbnail() would have done it."""
    image = image.copy_memory()  # a quarter turn reads out of order: decode the (derivative-sized) image first
    image.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    return image.autorot()


def _encoded(image: pyvips.Image, derivative: str, width: int, height: int) -> Rendered:
    """The derivative (already sized, upright, sRGB) in its format; width, height: the upright original's."""
    save = _THUMBNAIL_SAVE if derivative == THUMBNAIL else _PREVIEW_SAVE
    return Rendered(_displayable(image).write_to_buffer(save), width, height)


def _displayable(image: pyvips.Image) -> pyvips.Image:
    """8-bit sRGB (or 8-bit grey), transparency flattened onto white: the same look in WebP and JPEG."""
    if image.hasalpha():
        image = image.flatten(background=[255] * (image.bands - 1))
    grey = image.bands == 1 or image.interpretation in ("b-w", "grey16")
    target = "b-w" if grey else "srgb"
    if image.format != "uchar" or image.interpretation != target:
        image = image.colourspace(target)
    if image.format != "uchar":
        image = image.cast("uchar")
    return image


def _check_pixels(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise RenderError(f"image declares no pixels ({width}x{height})")
    if width * height > MAX_PIXELS:
        raise RenderError(
            f"image too large: declares {width}x{height} ({width * height / 1e6:.0f} megapixels, "
            f"limit {MAX_PIXELS / 1e6:.0f})"
        )


def _field(image: pyvips.Image, name: str):
    return image.get(name) if image.get_typeof(name) != 0 else None


def _vips_has(operation: str) -> bool:
    try:
        pyvips.Operation.new_from_name(operation)
        return True
    except pyvips.Error:
        return False


def _vips_detail(error: pyvips.Error) -> str:
    lines = []
    for line in (error.detail or error.message or "").splitlines():
        line = line.strip()
        if line and line not in lines and not line.startswith("unable to call"):
            lines.append(line)
    text = "; ".join(lines[:2]) or "damaged data, or not really this format"
    return text if len(text) <= 300 else text[:297] + "..."


def _vips_reason(error: pyvips.Error) -> str:
    detail = _vips_detail(error)
    lowered = detail.lower()
    if any(mark in lowered for mark in ("premature end", "truncated", "read error", "unexpected end")):
        return f"truncated or damaged image: {detail}"
    return f"cannot decode image: {detail}"


# --- HEIC / HEIF through pillow-heif ------------------------------------------------------------------------

_hevc_probe_lock = threading.Lock()
_hevc_in_vips: bool | None = None


def _vips_decodes_hevc() -> bool:
    """Whether this process' libvips decodes HEVC (HEIC): pyvips-binary's bundled libheif reads HEIF
    headers and AV1 (AVIF) but carries no HEVC decoder. Found once by decoding a tiny HEIC made here."""
    global _hevc_in_vips
    if _hevc_in_vips is None:
        with _hevc_probe_lock:
            if _hevc_in_vips is None:
                _hevc_in_vips = _probe_vips_hevc()
    return _hevc_in_vips


def _probe_vips_hevc() -> bool:
    try:
        import pillow_heif
        from PIL import Image
    except ImportError:
        return True  # nothing else could decode it: let libvips try, and say why if it cannot
    try:
        sample = pillow_heif.from_pillow(Image.new("RGB", (64, 64), (200, 40, 40)))
        import io

        buffer = io.BytesIO()
        sample.save(buffer, quality=50)
        decoded = pyvips.Image.new_from_buffer(buffer.getvalue(), "")
        decoded.avg()
        return True
    except Exception:
        return False


def _render_heif(path: str, derivative: str) -> Rendered:
    try:
        import pillow_heif
    except ImportError:
        raise RenderError("unsupported for previews: no HEIC decoder installed (pillow-heif)") from None
    try:
        heif = pillow_heif.open_heif(path, convert_hdr_to_8bit=True)  # the primary image, not decoded yet
        width, height = heif.size  # after libheif's irot/imir transforms: the upright size
        _check_pixels(width, height)
        mode, stride, data = heif.mode, heif.stride, heif.data
        info = dict(heif.info)
    except RenderError:
        raise
    except MemoryError:
        raise
    except Exception as error:  # pillow-heif raises ValueError/RuntimeError/OSError with libheif's text
        if _vips_decodes_hevc() is False and _is_other_codec(error):
            return _render_with_vips(path, derivative)  # e.g. AV1 or JPEG inside a plain HEIF: libvips has those
        raise RenderError(f"cannot decode HEIF image: {_short(error)}") from None
    bands = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}.get(mode)
    if bands is None:
        raise RenderError(f"cannot decode HEIF image: unexpected pixel mode {mode}")
    row = width * bands
    if stride != row:  # libheif pads rows; pyvips wants them packed
        view = memoryview(data)
        data = b"".join(view[y * stride : y * stride + row] for y in range(height))
    image = pyvips.Image.new_from_memory(data, width, height, bands, "uchar")
    image = image.copy(interpretation="b-w" if bands <= 2 else "srgb")
    # No EXIF orientation here: libheif has already applied the transforms HEIF displays with.
    sized = _sized(image, derivative)
    # iPhones embed a Display P3 ICC profile; others describe the colour with an nclx box instead, of which
    # only Display P3 needs converting here.
    if not info.get("icc_profile") and bands >= 3 and _nclx_is_display_p3(info.get("nclx_profile")):
        return _encoded(sized.icc_transform("srgb", input_profile="p3"), derivative, width, height)
    return _encoded(_in_srgb(sized, info.get("icc_profile")), derivative, width, height)


def _in_srgb(sized: pyvips.Image, icc: bytes | None) -> pyvips.Image:
    """Decoded pixels converted from their ICC profile, on the derivative-sized image (cheaper)."""
    if not icc or sized.bands < 3:
        return sized
    sized = sized.copy()
    sized.set_type(pyvips.GValue.blob_type, "icc-profile-data", bytes(icc))
    try:
        return sized.icc_transform("srgb", embedded=True)
    except pyvips.Error:
        return sized  # an unusable profile: the pixels as they are, as libvips does for other formats


def _is_other_codec(error: Exception) -> bool:
    text = str(error).lower()
    return "unsupported codec" in text or "not been built in" in text or "no decoder" in text


def _nclx_is_display_p3(nclx) -> bool:
    # ISO/IEC 23091-2 colour primaries 12 is SMPTE EG 432-1 (P3 with a D65 white): Display P3.
    return isinstance(nclx, dict) and nclx.get("color_primaries") == 12


# --- video through PyAV -------------------------------------------------------------------------------------


def _render_video(path: str, derivative: str) -> Rendered:
    try:
        import av
    except ImportError:
        raise RenderError("unsupported for previews: no video decoder installed (PyAV)") from None
    try:
        frame = _poster_frame(av, path)
        rgb = frame.reformat(format="rgb24", dst_color_range="JPEG")
        width, height = rgb.width, rgb.height
        plane = rgb.planes[0]
        data = bytes(plane)
        rotation = _frame_rotation(frame)
    except RenderError:
        raise
    except MemoryError:
        raise
    except Exception as error:  # av.error.FFmpegError and friends
        raise RenderError(f"cannot decode video: {_short(error)}") from None  # FFmpeg's own words
    row = width * 3
    if plane.line_size != row:
        view = memoryview(data)
        data = b"".join(view[y * plane.line_size : y * plane.line_size + row] for y in range(height))
    image = pyvips.Image.new_from_memory(data, width, height, 3, "uchar").copy(interpretation="srgb")
    # The display matrix turns the decoded frame counter-clockwise by `rotation` degrees; libvips' rot
    # angles turn clockwise.
    clockwise = (360 - rotation) % 360
    if clockwise:
        image = image.rot({90: "d90", 180: "d180", 270: "d270"}[clockwise])
    return _encoded(_sized(image, derivative), derivative, image.width, image.height)


def _poster_frame(av, path: str):
    with av.open(path, mode="r", metadata_errors="ignore") as container:
        if not container.streams.video:
            kinds = sorted({stream.type for stream in container.streams})
            raise RenderError("no video stream" + (f" (only {', '.join(kinds)})" if kinds else ""))
        stream = container.streams.video[0]
        codec = stream.codec_context
        if _decoder_threads:
            codec.thread_count = _decoder_threads  # FFmpeg's default is a thread per core, plus one
        if codec.width and codec.height:
            _check_pixels(codec.width, codec.height)
        duration = _duration_seconds(container, stream)
        if duration is None or duration > POSTER_SECONDS:
            frame = _frame_near(container, stream, POSTER_SECONDS)
            if frame is not None:
                return frame
    with av.open(path, mode="r", metadata_errors="ignore") as container:  # short or unseekable: first frame
        stream = container.streams.video[0]
        if _decoder_threads:
            stream.codec_context.thread_count = _decoder_threads
        for frame in container.decode(stream):
            return frame
    raise RenderError("video has no decodable frame")


def _frame_near(container, stream, seconds: float):
    if stream.time_base is None:
        return None
    try:
        container.seek(int(Fraction(seconds) / stream.time_base), stream=stream, backward=True)
    except Exception:
        return None
    last = None
    for count, frame in enumerate(container.decode(stream)):
        last = frame
        if frame.time is None or frame.time >= seconds - 1e-3 or count >= _MAX_FRAMES_AFTER_SEEK:
            return frame
    return last


def _duration_seconds(container, stream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000  # AV_TIME_BASE
    return None


def _frame_rotation(frame) -> int:
    """Counter-clockwise degrees in 0, 90, 180, 270, from the display matrix FFmpeg attaches to decoded
    frames (phones record portrait video as landscape frames plus this matrix). Mirroring in the
    matrix is not applied: phones do not write it."""
    try:
        rotation = frame.rotation
    except Exception:
        rotation = 0
    if not rotation:
        return 0
    return int(round(rotation / 90.0)) * 90 % 360


def _short(error: Exception) -> str:
    # FFmpeg errors carry an errno and the file name besides the reason: keep the reason.
    text = getattr(error, "strerror", None) if hasattr(error, "errno") else None
    text = " ".join(str(text or error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."

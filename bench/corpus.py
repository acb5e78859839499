"""The benchmark's input files: 12 MP photos, one video-sized file and a tree of tiny JPEGs.

Each corpus is built once into bench/.cache/ and reused while its stamp (format version and
parameters) still matches, because the photos alone take minutes to make.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import multiprocessing
import os
import shutil
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageOps

# Bump when the way a corpus is made changes, so that stale caches are rebuilt.
CORPUS_VERSION = 1
STAMP_NAME = "STAMP.json"
CONTENT_DIR = "files"  # beside the stamp, so that uploading a corpus never uploads its stamp

PHOTO_SIZE = (4000, 3000)  # 12 megapixels, landscape pixel data as a phone sensor writes it
PHOTO_MIN_BYTES, PHOTO_MAX_BYTES = 2_000_000, 5_000_000
# Aim inside the allowed range so per-file jitter rarely needs a second encode.
PHOTO_AIM_LOW, PHOTO_AIM_HIGH = 2_300_000, 4_700_000
JPEG_QUALITY = 90
# Per-file crop offsets come from this margin: i -> (i % M, i // M % M) is unique for i < M*M.
OFFSET_MARGIN = 200
NOISE_SIGMA = 24  # the shared noise field; each photo blends in a fraction of it
MIN_SOURCE_SIDE = 400  # thumbnails of 100x75 pixels upscale into blur, not a photo
EXIF_ORIENTATION_ROTATED_90_CW = 6
FIRST_PHOTO_TIME = datetime(2022, 3, 1, 8, 0, 0)

TINY_JPEG_SIZE = (16, 12)
FILES_PER_FOLDER = 1000

# EXIF tag numbers (TIFF/EXIF 2.3).
TAG_MAKE, TAG_MODEL, TAG_ORIENTATION, TAG_SOFTWARE, TAG_DATETIME = 0x010F, 0x0110, 0x0112, 0x0131, 0x0132
TAG_EXIF_IFD = 0x8769
TAG_DATETIME_ORIGINAL, TAG_DATETIME_DIGITIZED = 0x9003, 0x9004
TAG_PIXEL_X, TAG_PIXEL_Y = 0xA002, 0xA003


@dataclass(frozen=True)
class Corpus:
    path: Path
    files: int
    bytes: int


# --- caching -------------------------------------------------------------------------------


def cached_corpus(cache_dir: Path, name: str, params: dict, build) -> Corpus:
    """The corpus `name` built by `build(folder)`, reused when its stamp matches `params`.

    It is built in a side folder and renamed into place after its stamp is written, so an
    interrupted build never passes for a complete one.
    """
    final = cache_dir / name
    wanted = {"version": CORPUS_VERSION, **params}
    stamp = _read_stamp(final)
    if stamp is not None and stamp.get("params") == wanted and (final / CONTENT_DIR).is_dir():
        return Corpus(final / CONTENT_DIR, stamp["files"], stamp["bytes"])

    print(f"  building corpus {name} (cached in {final}) ...", flush=True)
    partial = cache_dir / f"{name}.partial"
    for stale in (partial, final):
        shutil.rmtree(stale, ignore_errors=True)
    (partial / CONTENT_DIR).mkdir(parents=True)
    build(partial / CONTENT_DIR)
    files, total = count_files(partial / CONTENT_DIR)
    (partial / STAMP_NAME).write_text(json.dumps({"params": wanted, "files": files, "bytes": total}))
    partial.rename(final)
    return Corpus(final / CONTENT_DIR, files, total)


def _read_stamp(folder: Path) -> dict | None:
    try:
        return json.loads((folder / STAMP_NAME).read_text())
    except (OSError, ValueError):
        return None


def iter_files(folder: Path):
    for root, _dirs, names in os.walk(folder):
        for name in names:
            yield os.path.join(root, name)


def count_files(folder: Path) -> tuple[int, int]:
    """(number of files, total bytes) under `folder`."""
    sizes = [os.stat(path).st_size for path in iter_files(folder)]
    return len(sizes), sum(sizes)


def warm_page_cache(folder: Path) -> None:
    """Read every file once so that the first timed run does not pay for cold disk reads."""
    buffer = bytearray(8 << 20)
    for path in iter_files(folder):
        with open(path, "rb", buffering=0) as handle:
            while handle.readinto(buffer):
                pass


# --- photos --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoSource:
    """A real photo to derive from, or None for a synthetic scene."""

    path: str | None
    index: int
    make: str
    model: str


def photo_sources(source_dir: Path) -> list[PhotoSource]:
    """Real, readable photos of a usable size under `source_dir`, else synthetic scenes."""
    sources = []
    for path in sorted(source_dir.rglob("*.jpg")) if source_dir.is_dir() else []:
        try:
            with Image.open(path) as image:
                image.load()  # broken files fail here, not in a worker halfway through
                if min(image.size) < MIN_SOURCE_SIDE:
                    continue
                exif = image.getexif()
                make, model = _exif_text(exif, TAG_MAKE), _exif_text(exif, TAG_MODEL)
        except Exception:  # noqa: BLE001 - any unreadable sample is simply skipped
            continue
        sources.append(PhotoSource(str(path), len(sources), make or "phonecloud", model or "bench camera"))
    if not sources:
        sources = [PhotoSource(None, i, "phonecloud", f"synthetic scene {i}") for i in range(8)]
    return sources


def _exif_text(exif, tag: int) -> str:
    value = exif.get(tag)
    if not isinstance(value, str):
        return ""
    return value.strip("\x00 ").strip()


def build_photos(folder: Path, count: int, source_dir: Path) -> None:
    sources = photo_sources(source_dir)
    print(f"    {count} photos from {len(sources)} sources "
          f"({'real' if sources[0].path else 'synthetic'}), {os.cpu_count()} processes", flush=True)
    # Consecutive photos share a source so that each worker's small cache of resized sources hits.
    jobs = [(folder, i, sources[i * len(sources) // count]) for i in range(count)]
    with multiprocessing.Pool() as pool:
        made = pool.starmap(make_photo, jobs, chunksize=max(1, count // (len(sources) * 2)))
    digests = {digest for _size, digest in made}
    if len(digests) != count:
        raise RuntimeError(f"photo corpus has {count - len(digests)} duplicate files")


def make_photo(folder: Path, index: int, source: PhotoSource) -> tuple[int, str]:
    """Write photo number `index`; returns its size and SHA-256 so the caller can check uniqueness."""
    base, orientation = _resized_source(source)
    width, height = PHOTO_SIZE
    dx, dy = index % OFFSET_MARGIN, index // OFFSET_MARGIN % OFFSET_MARGIN
    clean = base.crop((dx, dy, dx + width, dy + height))
    noisy = ImageChops.add(clean, _noise_for(index), 1.0, -128)  # noise field is centred on 128
    exif = _photo_exif(index, source, orientation)
    # A per-file jitter spreads sizes over the range the way real photos spread.
    jitter = 0.8 + 0.4 * ((index * 7919) % 101) / 100
    strength = _calibrated_strength.get(source.index, 0.3)
    for _attempt in range(10):
        data = _encode(Image.blend(clean, noisy, min(1.0, strength * jitter)), exif)
        if len(data) < PHOTO_AIM_LOW and strength * jitter < 1.0:
            strength *= 1.4
        elif len(data) > PHOTO_AIM_HIGH:
            strength /= 1.4
        else:
            break
    if not PHOTO_MIN_BYTES <= len(data) <= PHOTO_MAX_BYTES:
        raise RuntimeError(f"photo {index} from {source.path} is {len(data)} bytes, outside 2-5 MB")
    _calibrated_strength[source.index] = strength
    _write_atomically(folder / f"IMG_{index:05d}.jpg", data)
    return len(data), hashlib.sha256(data).hexdigest()


# Per worker process: how much noise each source needs to land in the size range.
_calibrated_strength: dict[int, float] = {}


@functools.lru_cache(maxsize=2)
def _resized_source(source: PhotoSource) -> tuple[Image.Image, int]:
    """The source scaled to cover the photo size plus the offset margin, and its EXIF orientation.

    Portrait sources are stored rotated with Orientation=6, as phones store portrait shots.
    """
    image = _load_source(source)
    orientation = 1
    if image.height > image.width:
        image = image.transpose(Image.Transpose.ROTATE_90)  # counter-clockwise; Orientation 6 undoes it
        orientation = EXIF_ORIENTATION_ROTATED_90_CW
    width, height = PHOTO_SIZE
    covering = (width + OFFSET_MARGIN, height + OFFSET_MARGIN)
    return ImageOps.fit(image, covering, Image.Resampling.BILINEAR), orientation


def _load_source(source: PhotoSource) -> Image.Image:
    if source.path is None:
        return _synthetic_scene(source.index)
    with Image.open(source.path) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def _synthetic_scene(seed: int) -> Image.Image:
    """A stand-in photo when no real samples exist: colour gradients with a few shapes."""
    size = (1600, 1200)
    gradient = Image.linear_gradient("L").resize(size)
    radial = Image.radial_gradient("L").resize(size)
    channels = [gradient, radial, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    scene = Image.merge("RGB", channels[seed % 3:] + channels[:seed % 3])
    draw = ImageDraw.Draw(scene)
    for shape in range(6):
        x, y = (seed * 131 + shape * 257) % 1400, (seed * 71 + shape * 193) % 1000
        draw.ellipse((x, y, x + 200, y + 150), fill=((shape * 40) % 256, (seed * 60) % 256, 128))
    return scene


@functools.lru_cache(maxsize=1)
def _noise_field() -> Image.Image:
    """One grey Gaussian noise field per worker; photos take differently offset crops of it."""
    width, height = PHOTO_SIZE
    return Image.effect_noise((width + OFFSET_MARGIN, height + OFFSET_MARGIN), NOISE_SIGMA)


def _noise_for(index: int) -> Image.Image:
    """Colour noise unique to `index`: each channel is a crop of the field at its own offset."""
    field = _noise_field()
    width, height = PHOTO_SIZE
    dx, dy = index % OFFSET_MARGIN, index // OFFSET_MARGIN % OFFSET_MARGIN
    last = OFFSET_MARGIN - 1
    offsets = [(dy, dx), (last - dx, dy), (last - dy, last - dx)]
    return Image.merge("RGB", [field.crop((x, y, x + width, y + height)) for x, y in offsets])


def _photo_exif(index: int, source: PhotoSource, orientation: int) -> Image.Exif:
    taken = (FIRST_PHOTO_TIME + timedelta(minutes=97 * index, seconds=index % 60)).strftime("%Y:%m:%d %H:%M:%S")
    exif = Image.Exif()
    exif[TAG_MAKE] = source.make
    exif[TAG_MODEL] = source.model
    exif[TAG_ORIENTATION] = orientation
    exif[TAG_SOFTWARE] = f"phonecloud bench corpus v{CORPUS_VERSION}"
    exif[TAG_DATETIME] = taken
    details = exif.get_ifd(TAG_EXIF_IFD)
    details[TAG_DATETIME_ORIGINAL] = taken
    details[TAG_DATETIME_DIGITIZED] = taken
    details[TAG_PIXEL_X], details[TAG_PIXEL_Y] = PHOTO_SIZE
    return exif


def _encode(image: Image.Image, exif: Image.Exif) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, exif=exif)
    return out.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    temporary.rename(path)


# --- video-sized file ----------------------------------------------------------------------


def mp4_header(total_size: int) -> bytes:
    """An ftyp box and the header of an mdat box that runs to the end of a `total_size` file."""
    ftyp = struct.pack(">I4s4sI8s", 24, b"ftyp", b"mp42", 0, b"mp42isom")
    mdat_size = total_size - len(ftyp)
    if mdat_size < 2**32:
        mdat = struct.pack(">I4s", mdat_size, b"mdat")
    else:  # size 1 means a 64-bit size follows the box type
        mdat = struct.pack(">I4sQ", 1, b"mdat", mdat_size)
    return ftyp + mdat


def build_video(folder: Path, size: int) -> None:
    """One MP4-looking file of `size` bytes, written in chunks so memory stays constant."""
    header = mp4_header(size)
    chunk = 16 << 20
    with open(folder / "VID_00001.mp4", "wb") as out:
        out.write(header)
        remaining = size - len(header)
        while remaining:
            step = min(chunk, remaining)
            out.write(os.urandom(step))
            remaining -= step


# --- tree of tiny files --------------------------------------------------------------------


def tiny_jpeg(source_dir: Path) -> bytes:
    """A real, few-hundred-byte JPEG: the first usable source photo shrunk to a thumbnail."""
    source = photo_sources(source_dir)[0]
    image = _load_source(source).resize(TINY_JPEG_SIZE, Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=50)
    return out.getvalue()


def with_comment(jpeg: bytes, comment: bytes) -> bytes:
    """`jpeg` with a COM (FF FE) segment before its image data, making the file unique.

    The comment goes after the JFIF (APP0) segment when there is one, so the file still starts
    with FF D8 FF E0 for sniffers that look at the first four bytes.
    """
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    insert_at = 2
    if jpeg[2:4] == b"\xff\xe0":
        insert_at += 2 + struct.unpack(">H", jpeg[4:6])[0]
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return jpeg[:insert_at] + segment + jpeg[insert_at:]


def build_tree(folder: Path, files: int, source_dir: Path) -> None:
    """`files` distinct tiny JPEGs in folders of FILES_PER_FOLDER, as DCIM-style nested folders."""
    template = tiny_jpeg(source_dir)
    folders = (files + FILES_PER_FOLDER - 1) // FILES_PER_FOLDER
    jobs = [(folder / f"album_{n:03d}", n * FILES_PER_FOLDER, min(files, (n + 1) * FILES_PER_FOLDER), template)
            for n in range(folders)]
    with multiprocessing.Pool() as pool:
        pool.starmap(_write_tiny_files, jobs)


def _write_tiny_files(folder: Path, first: int, end: int, template: bytes) -> None:
    folder.mkdir(parents=True)
    for index in range(first, end):
        comment = f"phonecloud bench tree file {index}".encode()
        (folder / f"IMG_{index:06d}.jpg").write_bytes(with_comment(template, comment))


# --- entry points --------------------------------------------------------------------------


def photo_corpus(cache_dir: Path, count: int, source_dir: Path) -> Corpus:
    return cached_corpus(cache_dir, f"photos-{count}", {"count": count, "sources": str(source_dir)},
                         lambda folder: build_photos(folder, count, source_dir))


def video_corpus(cache_dir: Path, size: int) -> Corpus:
    return cached_corpus(cache_dir, f"video-{size}", {"size": size}, lambda folder: build_video(folder, size))


def tree_corpus(cache_dir: Path, files: int, source_dir: Path) -> Corpus:
    return cached_corpus(cache_dir, f"tree-{files}", {"files": files, "per_folder": FILES_PER_FOLDER},
                         lambda folder: build_tree(folder, files, source_dir))

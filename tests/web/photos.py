"""Photos for the web tests: generated JPEGs with known capture times (always there), and five files of
the real corpus (../shared, when present) with their capture times read independently with exifread."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import exifread
from PIL import ExifTags, Image

from conftest import SHARED_CORPUS

# Five files of the real corpus: two taken on one day (with GPS), the others on days of two more months.
LARGE = 17 << 20  # above the upload page's 16 MiB tus threshold: two full 8 MiB chunks and a short one
CORPUS_FILES = ["jpg/gps/DSCN0010.jpg", "jpg/gps/DSCN0012.jpg", "jpg/Canon_40D.jpg", "jpg/Pentax_K10D.jpg",
                "jpg/Nikon_D70.jpg"]


@dataclass(frozen=True)
class Photo:
    name: str
    body: bytes
    taken: dt.datetime  # the capture time the camera wrote (wall clock)

    @property
    def day(self) -> str:
        return self.taken.date().isoformat()


def generated_jpeg(seed: int, taken: dt.datetime, size: tuple[int, int] = (640, 480)) -> bytes:
    """A real JPEG with EXIF make, model and DateTimeOriginal; different seeds give different bytes."""
    image = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    for x in range(0, size[0], 32):
        for y in range(0, size[1], 32):
            image.putpixel((x, y), ((x + seed) % 256, (y * 3) % 256, (seed * 7) % 256))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Phonecloud"
    exif[ExifTags.Base.Model] = "Test Camera"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken.strftime("%Y:%m:%d %H:%M:%S")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=85)
    return buffer.getvalue()


def large_photo(seed: int = 900, name: str = "PXL_large.jpg") -> Photo:
    """A real JPEG followed by 17 MiB of trailing bytes (as phones append extra images after the end
    marker), which decoders ignore."""
    taken = dt.datetime(2022, 10, 14, 12, 34, 56)
    body = generated_jpeg(seed, taken)
    return Photo(name, body + bytes(range(256)) * ((LARGE - len(body)) // 256 + 1), taken)


def generated_photos(seed: int) -> list[Photo]:
    """Five photos over three days of two months and a day of another year; two share a day."""
    moments = [dt.datetime(2021, 7, 4, 18, 5), dt.datetime(2021, 7, 4, 10, 30), dt.datetime(2021, 7, 2, 8, 0),
               dt.datetime(2021, 6, 30, 21, 15), dt.datetime(2020, 12, 25, 9, 0)]
    return [Photo(f"IMG_{moment:%Y%m%d_%H%M%S}.jpg", generated_jpeg(seed + number, moment), moment)
            for number, moment in enumerate(moments)]


def corpus_photos() -> list[Photo]:
    photos = []
    for relative in CORPUS_FILES:
        path = SHARED_CORPUS / relative
        if not path.is_file():
            return []
        body = path.read_bytes()
        stated = exifread.process_file(io.BytesIO(body), details=False)["EXIF DateTimeOriginal"]
        photos.append(Photo(path.name, body, dt.datetime.strptime(str(stated).strip(), "%Y:%m:%d %H:%M:%S")))
    return sorted(photos, key=lambda photo: photo.taken, reverse=True)

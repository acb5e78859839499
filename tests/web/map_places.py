"""Photos with a place, for the map's tests (test_map_page.py, test_isolation.py): real JPEGs whose EXIF has a
GPS position, and stand-in rows (no bytes) with the GPS the media pipeline would have recorded."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid

from PIL import Image
from sqlalchemy import insert, select

from phonecloud.accounts.models import User
from phonecloud.gallery.models import Asset
from phonecloud.media.models import AssetMedia

PARIS, ROME, SYDNEY = (48.8566, 2.3522), (41.9028, 12.4964), (-33.8568, 151.2153)


def gps_jpeg(latitude: float, longitude: float, seed: int) -> bytes:
    """A real photo whose EXIF has a GPS position (degrees, minutes, seconds as cameras write them)."""
    def dms(value: float) -> tuple[float, float, float]:
        value = abs(value)
        return (float(int(value)), float(int(value * 60 % 60)), round(value * 3600 % 60, 2))

    exif = Image.Exif()
    exif[0x8825] = {1: "N" if latitude >= 0 else "S", 2: dms(latitude), 3: "E" if longitude >= 0 else "W",
                    4: dms(longitude)}
    picture = Image.new("RGB", (480, 360), ((seed * 53) % 256, (seed * 97) % 256, 140))
    data = io.BytesIO()
    picture.save(data, "JPEG", exif=exif.tobytes(), quality=80)
    return data.getvalue()


def add_rows(services, email: str, places: list[tuple[float, float]]) -> None:
    """Stand-in photos (rows only, no bytes) at these places, as the media pipeline would record their GPS."""
    with services.db.read() as session:
        owner = session.scalar(select(User.id).where(User.email == email))
    start, assets, media = dt.datetime(2023, 5, 1, tzinfo=dt.UTC), [], []
    for number, (latitude, longitude) in enumerate(places):
        asset_id, moment = uuid.uuid4(), start + dt.timedelta(minutes=number)
        assets.append(dict(id=asset_id, owner_id=owner, kind="photo", mime_type="image/jpeg",
                           original_filename=f"ROW_{number}.jpg", size_bytes=1000,
                           sha1=hashlib.sha1(f"{email}:{number}".encode()).hexdigest(), crc32=0,
                           blob_key=f"stand-in/{number}", file_modified_at=moment, uploaded_at=moment, sort_at=moment,
                           is_favorite=False, trashed_at=None))
        media.append(dict(asset_id=asset_id, state="ready", latitude=latitude, longitude=longitude, updated_at=moment))
    with services.db.write() as session:
        session.execute(insert(Asset), assets)
        session.execute(insert(AssetMedia), media)

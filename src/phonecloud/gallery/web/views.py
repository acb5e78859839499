"""What the gallery's pages show, shaped from the services' records: tiles grouped by month and day, and the
viewer's info panel. Presentation only: which items, in which order, is the services' business."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from dataclasses import dataclass, field, replace

from phonecloud.core.db import utcnow
from phonecloud.core.sizes import format_size
from phonecloud.gallery.models import Asset
from phonecloud.core.names import display_name
from phonecloud.gallery.moments import local_moment
from phonecloud.gallery.service import TRASH_RETENTION
from phonecloud.media import reasons
from phonecloud.media.models import FAILED, READY, AssetMedia

DATE_SOURCES = {
    "exif": "camera (EXIF)",
    "xmp": "XMP metadata",
    "quicktime": "video metadata (QuickTime)",
    "filename": "file name",
    "file_mtime": "file modification time",
}


@dataclass(frozen=True)
class Tile:
    id: uuid.UUID
    kind: str
    name: str
    alt: str
    state: str  # ready, damaged (shown as far as it decodes), pending (being processed) or failed (no preview)
    favorite: bool
    duration: str | None
    trashed_at: dt.datetime | None
    width: int | None = None  # as shown (upright), for the tile's aspect ratio; None: unknown, a square
    height: int | None = None


@dataclass
class Day:
    date: dt.date
    tiles: list[Tile] = field(default_factory=list)


@dataclass
class Month:
    year: int
    month: int
    days: list[Day] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def duration_text(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}" if whole >= 3600 else f"{whole // 60}:{whole % 60:02d}"


def shown_size(asset: Asset, media: AssetMedia | None) -> tuple[int | None, int | None]:
    """A photo's size as its thumbnail shows it: the stored size, a quarter turn for EXIF orientations 5 to 8.
    None for a video (its stored size is before the rotation its thumbnail applies, which is not recorded)
    and for what the pipeline has not measured."""
    if asset.kind == "video" or media is None or not media.width or not media.height:
        return None, None
    if media.orientation in (5, 6, 7, 8):
        return media.height, media.width
    return media.width, media.height


def tile(asset: Asset, media: AssetMedia | None) -> Tile:
    moment = local_moment(asset, media)
    state = media.state if media is not None and media.state in (READY, FAILED) else "pending"
    state = "damaged" if state == READY and media.damage else state
    what = "Video" if asset.kind == "video" else "Photo"
    name = display_name(asset.original_filename)
    return Tile(asset.id, asset.kind, name, f"{what} {name}, {moment:%-d %b %Y %H:%M}", state, asset.is_favorite,
                duration_text(media.duration_seconds if media else None), asset.trashed_at,
                *shown_size(asset, media))


def stage(asset: Asset, media: AssetMedia | None) -> tuple[Tile, str]:
    """The viewer's tile and what its failed state means: failed too when the preview could not be made
    (while the thumbnail, which the grid shows, could)."""
    shown = tile(asset, media)
    if media is not None and media.preview_error and shown.state != FAILED:
        shown = replace(shown, state=FAILED)
    return shown, reasons.failure(media.error or media.preview_error if media else None)


def months(assets: list[Asset], media: dict[uuid.UUID, AssetMedia]) -> list[Month]:
    """Tiles in the given (newest first) order, grouped into runs of the same month and day."""
    grouped: list[Month] = []
    for asset in assets:
        row = media.get(asset.id)
        day = local_moment(asset, row).date()
        if not grouped or (grouped[-1].year, grouped[-1].month) != (day.year, day.month):
            grouped.append(Month(day.year, day.month))
        if not grouped[-1].days or grouped[-1].days[-1].date != day:
            grouped[-1].days.append(Day(day))
        grouped[-1].days[-1].tiles.append(tile(asset, row))
    return grouped


@dataclass(frozen=True)
class InfoRow:
    label: str
    text: str
    field: str
    machine: str | None = None  # a machine-readable form (datetime attribute, geo: URI)
    details: str | None = None  # the decoder's own words, behind a toggle


def _taken(media: AssetMedia | None, asset: Asset) -> list[InfoRow]:
    if media is None or media.taken_at is None:
        moment = asset.sort_at.astimezone(dt.UTC)
        return [InfoRow("Taken", f"{moment:%a %-d %b %Y, %H:%M:%S} UTC", "taken", moment.isoformat()),
                InfoRow("Date from", "file modification time (metadata not read yet)", "date-source")]
    offset = media.taken_at_offset_minutes
    zone = "time zone unknown" if offset is None else f"UTC{'+' if offset >= 0 else '-'}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    return [InfoRow("Taken", f"{media.taken_at:%a %-d %b %Y, %H:%M:%S} ({zone})", "taken",
                    media.taken_at.isoformat(timespec="seconds")),
            InfoRow("Date from", DATE_SOURCES.get(media.date_source or "", media.date_source or "unknown"),
                    "date-source")]


def _place_row(label: str, latitude: float | None, longitude: float | None, altitude: float | None,
               field: str) -> list[InfoRow]:
    if latitude is None or longitude is None:
        return []
    text = (f"{abs(latitude):.5f}° {'N' if latitude >= 0 else 'S'}, "
            f"{abs(longitude):.5f}° {'E' if longitude >= 0 else 'W'}")
    if altitude is not None:
        text += f", {altitude:.0f} m"
    return [InfoRow(label, text, field, f"geo:{latitude:.6f},{longitude:.6f}")]


def _place(media: AssetMedia) -> list[InfoRow]:
    return _place_row("Place", media.latitude, media.longitude, media.altitude, "place")


def _described(asset: Asset) -> list[InfoRow]:
    """What an import (or the API) said of the photo beyond its bytes."""
    people = json.loads(asset.people)
    return ([InfoRow("Description", asset.description, "description")] if asset.description else []) + (
        [InfoRow("People", ", ".join(people), "people")] if people else []) + (
        [InfoRow("Archived", "yes (as it was in Google Photos)", "archived")] if asset.is_archived else []) + (
        _place_row("Place in Google Photos", asset.place_latitude, asset.place_longitude, asset.place_altitude,
                   "google-place"))


def info(asset: Asset, media: AssetMedia | None) -> list[InfoRow]:
    rows = _described(asset) + _taken(media, asset)
    if media is not None:
        camera = " ".join(part for part in (media.make, media.model) if part)
        if media.make and media.model and media.model.lower().startswith(media.make.lower()):
            camera = media.model  # "Canon Canon EOS 40D" reads better as the model alone
        rows += [InfoRow("Camera", camera, "camera")] if camera else []
        rows += [InfoRow("Lens", media.lens, "lens")] if media.lens else []
        rows += _place(media)
        if media.width and media.height:
            rows.append(InfoRow("Dimensions", f"{media.width} × {media.height} ({media.width * media.height / 1e6:.1f} MP)",
                                "dimensions"))
        if media.duration_seconds is not None:
            rows.append(InfoRow("Duration", duration_text(media.duration_seconds), "duration"))
    rows += [
        InfoRow("Size", f"{format_size(asset.size_bytes)} ({asset.size_bytes:,} bytes)", "size"),
        InfoRow("File name", display_name(asset.original_filename), "filename"),
        InfoRow("Type", asset.mime_type, "type"),
        InfoRow("Uploaded", f"{asset.uploaded_at.astimezone(dt.UTC):%-d %b %Y, %H:%M} UTC", "uploaded",
                asset.uploaded_at.isoformat()),
    ]
    if media is not None and (media.state == FAILED or media.preview_error):
        rows.append(InfoRow("Preview", "None: see above. The original is kept.", "preview",
                            details=media.error or media.preview_error))
    elif media is not None and media.damage:
        rows.append(InfoRow("Preview", f"Damaged but shown. {reasons.DAMAGE}", "preview", details=media.damage))
    return rows




def _month_name(month: Month) -> str:
    return dt.date(month.year, month.month, 1).strftime("%B %Y")


def _day_name(day: dt.date) -> str:
    return day.strftime("%a %-d")  # the month follows in the template (left out where the label is narrow)


def _days_left(trashed_at: dt.datetime | None) -> int:
    """Whole days before the trash purge deletes an item for good."""
    if trashed_at is None:
        return TRASH_RETENTION.days
    left = trashed_at + TRASH_RETENTION - utcnow()
    return max(0, math.ceil(left.total_seconds() / 86400))


FILTERS = {"month_name": _month_name, "day_name": _day_name, "days_left": _days_left}

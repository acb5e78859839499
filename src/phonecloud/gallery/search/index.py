"""Keeping an asset's search row (gallery/search/models.py) in step with what is known of it: the place of its
own GPS, else the place it was given (a Takeout's, or the API's), reverse-geocoded offline (places.py); its
camera; its file name. Written in the transaction that changes what it is made from."""

from __future__ import annotations

import re
import unicodedata
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from phonecloud.core.db import dialect_insert
from phonecloud.gallery.models import Asset
from phonecloud.gallery.search import places
from phonecloud.gallery.search.models import AssetSearch
from phonecloud.media.models import AssetMedia

_WORD = re.compile(r"\w+")
_MARKS = re.compile(r"[\u0300-\u036f]")  # combining accents, once a name is decomposed (NFKD)


def words(text: str) -> list[str]:
    """The words of a name or a search as they are compared: lower case, without accents, letters and digits
    only ("Île-de-France" → ile, de, france; "IMG_2041.JPG" → img, 2041, jpg)."""
    folded = _MARKS.sub("", unicodedata.normalize("NFKD", text)).casefold()
    return _WORD.findall(folded.replace("_", " "))


def key(text: str | None) -> str | None:
    """A name as the filters compare it: its words, one blank apart (None for no name, or one without words)."""
    return " ".join(words(text)) or None if text else None


def camera_name(make: str | None, model: str | None) -> str | None:
    """"Google Pixel 7"; the model alone where it starts with the make ("Canon EOS 40D", not "Canon Canon ...")."""
    make, model = (make or "").strip(), (model or "").strip()
    if make and model and model.casefold().startswith(make.casefold()):
        return model[:400]
    return " ".join(part for part in (make, model) if part)[:400] or None


def row_of(asset: Asset, media: AssetMedia | None) -> dict:
    """The search row's values for an asset and what the media pipeline read of it (None: not read yet)."""
    latitude, longitude = (media.latitude, media.longitude) if media is not None else (None, None)
    if latitude is None or longitude is None:
        latitude, longitude = asset.place_latitude, asset.place_longitude
    place = places.place_of(latitude, longitude) or places.Place(None, None, None)
    camera = camera_name(media.make, media.model) if media is not None else None
    return {
        "asset_id": asset.id, "owner_id": asset.owner_id,
        "city": place.city, "region": place.region, "country": place.country,
        "city_key": key(place.city), "region_key": key(place.region), "country_key": key(place.country),
        "camera": camera, "camera_key": key(camera),
        "file_words": " ".join(words(asset.original_filename)),
        "words": " ".join(words(" ".join(filter(None, (place.city, place.region, place.country, camera))))),
    }


def refresh(session: Session, asset_id: uuid.UUID) -> None:
    """Write the asset's search row anew from its row and its media row as this transaction sees them."""
    found = session.execute(select(Asset, AssetMedia).outerjoin(AssetMedia, AssetMedia.asset_id == Asset.id)
                            .where(Asset.id == asset_id)).first()
    if found is None:
        return  # deleted meanwhile: its search row went with it
    row = row_of(*found)
    statement = dialect_insert(session.get_bind().dialect.name, AssetSearch.__table__).values(row)
    session.execute(statement.on_conflict_do_update(
        index_elements=["asset_id"], set_={name: statement.excluded[name] for name in row if name != "asset_id"}))

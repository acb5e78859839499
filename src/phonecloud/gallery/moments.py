"""When an item was taken, as its owner remembers it: shared by the pages and the services that group or
pick items by day."""

from __future__ import annotations

import datetime as dt

from phonecloud.gallery.models import Asset
from phonecloud.media.models import AssetMedia


def local_moment(asset: Asset, media: AssetMedia | None) -> dt.datetime:
    """When the item was taken, on the clock of the place it was taken when known (what people remember),
    else the instant the library sorts by, in UTC."""
    return local_time(asset.sort_at, media.taken_at if media is not None else None)


def local_time(sort_at: dt.datetime, taken_at: dt.datetime | None) -> dt.datetime:
    """local_moment of the two columns it reads: the media pipeline's local capture time, else sort_at in UTC."""
    return taken_at if taken_at is not None else sort_at.astimezone(dt.UTC).replace(tzinfo=None)

"""When an item was taken, as its owner remembers it: shared by the pages and the services that group or
pick items by day."""

from __future__ import annotations

import datetime as dt

from phonecloud.gallery.models import Asset
from phonecloud.media.models import AssetMedia


def local_moment(asset: Asset, media: AssetMedia | None) -> dt.datetime:
    """When the item was taken, on the clock of the place it was taken when known (what people remember),
    else the instant the library sorts by, in UTC."""
    if media is not None and media.taken_at is not None:
        return media.taken_at
    return asset.sort_at.astimezone(dt.UTC).replace(tzinfo=None)

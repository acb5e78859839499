"""The search queries, every one scoped to an owner. Each filter is written so that an index can answer it:
the date range as a range of the timeline index (owner_id, sort_at); favourites and a kind from their own
indexes in the same order; an album from its own index (album_id, sort_at, asset_id); places and cameras
from (owner_id, key); words from each engine's full-text index (search/models.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Integer, Select, and_, column, false, func, or_, select, text, true, tuple_
from sqlalchemy.orm import Session

from phonecloud.gallery.models import AlbumAsset, Asset
from phonecloud.gallery.search.models import AssetSearch
from phonecloud.media.models import AssetMedia

# Zones' offsets from UTC run from -12:00 to +14:00: a day on the clock where a photo was taken lies within
# these bounds of the same day in UTC, which is how far the timeline index is read around a date range.
_EARLIEST_OFFSET = dt.timedelta(hours=14)
_LATEST_OFFSET = dt.timedelta(hours=12)


@dataclass(frozen=True)
class Criteria:
    """What a search asks for, checked and folded by the service (search/service.py)."""

    first_day: dt.date | None = None  # capture days, inclusive, on the clock where it was taken
    last_day: dt.date | None = None
    place: str | None = None  # a folded name (index.key) of a town, region or country
    camera: str | None = None  # a folded camera name
    file_words: tuple[str, ...] = ()  # each the start of a word of the file name
    words: tuple[str, ...] = ()  # each the start of a word of the place, camera, file name or an album's title
    word_albums: dict[str, tuple[uuid.UUID, ...]] = field(default_factory=dict)  # a word's albums, by their titles
    album_id: uuid.UUID | None = None
    favorite: bool | None = None
    kind: str | None = None


def search_page(session: Session, owner_id: int, criteria: Criteria, after: tuple[dt.datetime, uuid.UUID] | None,
                limit: int) -> Select:
    """The owner's items outside the trash that meet every criterion, newest first by (sort_at, id), after a
    position (keyset pagination, as the timeline)."""
    dialect = session.get_bind().dialect.name
    described = bool(criteria.place or criteria.camera or criteria.file_words or criteria.words)
    # SQLite's planner has no statistics of values: given the owner's timeline index, which gives the order,
    # it walks the whole library to find a rare place (2 s for 20 of 100,000). Where a search index narrows
    # the items down, the owner's term on assets is written so that SQLite does not take that index: the
    # query starts from the search index, and costs what it finds (both rows carry the owner).
    owner = Asset.owner_id + 0 if described and dialect == "sqlite" else Asset.owner_id
    query = select(Asset).where(owner == owner_id, Asset.trashed_at.is_(None))
    if criteria.album_id is None:
        key = tuple_(Asset.sort_at, Asset.id)
    else:  # in the album's own order, its copy of sort_at (gallery/models.py)
        query = query.join(AlbumAsset, AlbumAsset.asset_id == Asset.id).where(AlbumAsset.album_id == criteria.album_id)
        key = tuple_(AlbumAsset.sort_at, AlbumAsset.asset_id)
    if criteria.kind is not None:
        query = query.where(Asset.kind == criteria.kind)
    if criteria.favorite is not None:
        query = query.where(Asset.is_favorite == (true() if criteria.favorite else false()))
    query = _days(query, dialect, key.clauses[0], criteria)
    query = _described(query, dialect, owner_id, criteria)
    if after is not None:
        query = query.where(key < tuple_(*after))
    return query.order_by(*(part.desc() for part in key.clauses)).limit(limit)


def _days(query: Select, dialect: str, sort_at, criteria: Criteria) -> Select:
    """Taken on these days where it was taken (its camera's clock; UTC when unknown, as the timeline groups
    it): a range of sort_at widened by the zones' offsets, then the local day itself."""
    if criteria.first_day is None and criteria.last_day is None:
        return query
    utc = sort_at if dialect == "sqlite" else func.timezone("UTC", sort_at)  # naive UTC, as taken_at is naive
    local = func.coalesce(AssetMedia.taken_at, utc, type_=AssetMedia.taken_at.type)
    query = query.outerjoin(AssetMedia, AssetMedia.asset_id == Asset.id)
    if criteria.first_day is not None:
        start = dt.datetime.combine(criteria.first_day, dt.time())
        query = query.where(sort_at >= start.replace(tzinfo=dt.UTC) - _EARLIEST_OFFSET, local >= start)
    if criteria.last_day is not None:
        end = dt.datetime.combine(criteria.last_day + dt.timedelta(days=1), dt.time())
        query = query.where(sort_at < end.replace(tzinfo=dt.UTC) + _LATEST_OFFSET, local < end)
    return query


def _described(query: Select, dialect: str, owner_id: int, criteria: Criteria) -> Select:
    """Place, camera, file name and words: through the asset's search row."""
    plain_words = [word for word in criteria.words if not criteria.word_albums.get(word)]
    album_words = [word for word in criteria.words if criteria.word_albums.get(word)]
    if not (criteria.place or criteria.camera or criteria.file_words or criteria.words):
        return query
    needed = bool(criteria.place or criteria.camera or criteria.file_words or plain_words)
    joined = AssetSearch.asset_id == Asset.id
    query = query.join(AssetSearch, joined) if needed else query.outerjoin(AssetSearch, joined)
    mine = AssetSearch.owner_id == owner_id
    if criteria.place is not None:
        query = query.where(or_(*(and_(mine, column == criteria.place) for column in (
            AssetSearch.city_key, AssetSearch.region_key, AssetSearch.country_key))))
    if criteria.camera is not None:
        query = query.where(mine, AssetSearch.camera_key == criteria.camera)
    if criteria.file_words or plain_words:
        query = query.where(_matching(dialect, criteria.file_words, plain_words, "terms"))
    for number, word in enumerate(album_words):  # in the words, or in an album whose title has the word
        in_albums = Asset.id.in_(select(AlbumAsset.asset_id).where(AlbumAsset.album_id.in_(criteria.word_albums[word])))
        query = query.where(or_(_matching(dialect, (), [word], f"terms_{number}"), in_albums))
    return query


def _matching(dialect: str, file_words, words, name: str) -> ColumnElement[bool]:
    """Rows with every word as the start of one of theirs (file_words: of the file name's), from the engine's
    full-text index. The words are letters and digits only (index.words), so they need no quoting; `name`
    is the query's parameter, one for each such condition of a query."""
    if dialect == "postgresql":
        terms = " & ".join([f"{word}:*A" for word in file_words] + [f"{word}:*" for word in words])
        return text(f"asset_search.search_vector @@ to_tsquery('simple', :{name})").bindparams(**{name: terms})
    terms = " AND ".join([f'file_words : "{word}"*' for word in file_words] + [f'"{word}"*' for word in words])
    found = text(f"SELECT rowid FROM asset_search_words WHERE asset_search_words MATCH :{name}").bindparams(
        **{name: terms}).columns(column("rowid", Integer))
    return AssetSearch.id.in_(found)


def names_in_use(session: Session, owner_id: int, limit: int) -> tuple[list[str], list[str]]:
    """(places, cameras) of the owner's items, the most frequent first: each town, region and country as
    shown, and each camera; for suggestions as one types."""
    def most(name: str) -> list[tuple[str, int]]:
        shown, folded = getattr(AssetSearch, name), getattr(AssetSearch, f"{name}_key")
        rows = session.execute(select(func.max(shown), func.count()).where(
            AssetSearch.owner_id == owner_id, folded.is_not(None)).group_by(folded)
            .order_by(func.count().desc(), folded).limit(limit))
        return [(value, count) for value, count in rows]

    places = sorted(most("city") + most("region") + most("country"), key=lambda pair: -pair[1])
    return list(dict.fromkeys(name for name, _ in places))[:limit], [name for name, _ in most("camera")]

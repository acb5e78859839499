"""The map's land file (static/map/land.txt, made by tools/make_map_land.py from Natural Earth's data): it reads,
it is small, and its rings put places on land or in the sea where they are."""

from __future__ import annotations

from pathlib import Path

import phonecloud

LAND = Path(phonecloud.__file__).resolve().parent / "web" / "static" / "map" / "land.txt"


def shapes(tag: str) -> list[list[tuple[float, float]]]:
    out = []
    for row in LAND.read_text().splitlines():
        if row.startswith(tag + " "):
            numbers = [int(n) for n in row[2:].split()]
            x = y = 0
            points = []
            for i in range(0, len(numbers), 2):
                x += numbers[i]
                y += numbers[i + 1]
                points.append((x / 100, y / 100))
            out.append(points)
    return out


def on_land(longitude: float, latitude: float, rings: list[list[tuple[float, float]]]) -> bool:
    """Even-odd, as the map fills them: inside an odd number of rings."""
    crossings = 0
    for ring in rings:
        for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]):
            if (y0 > latitude) != (y1 > latitude) and longitude < x0 + (latitude - y0) * (x1 - x0) / (y1 - y0):
                crossings += 1
    return crossings % 2 == 1


def test_the_land_file_is_small_and_puts_places_where_they_are():
    assert LAND.stat().st_size < 150_000
    land, borders = shapes("L"), shapes("B")
    assert len(land) > 50 and len(borders) > 100
    assert all(-200 <= x <= 200 and -90 <= y <= 90 for ring in land + borders for x, y in ring)
    for place in [(134.0, -25.0), (2.35, 48.86), (22.0, 2.0), (-100.0, 40.0), (-60.0, -10.0), (80.0, 60.0),
                  (30.0, -80.0), (185.0, 67.0)]:  # Australia … Chukotka (past 180°)
        assert on_land(*place, land), place
    for place in [(-40.0, 35.0), (-150.0, 0.0), (80.0, -20.0), (0.0, 0.0), (150.0, 40.0)]:  # the oceans
        assert not on_land(*place, land), place

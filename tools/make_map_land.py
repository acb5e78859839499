"""Writes the map's land and borders (src/phonecloud/web/static/map/land.txt), drawn by js/map.js under the
markers when no tile server is configured, so that the plain map shows where things are with no request leaving
the server.

Data: `countries-110m.json` of the npm package world-atlas (https://github.com/topojson/world-atlas, ISC licence),
made from Natural Earth's 1:110m countries (https://www.naturalearthdata.com, public domain).

    cd /tmp && npm pack world-atlas && tar xzf world-atlas-*.tgz
    python tools/make_map_land.py /tmp/package/countries-110m.json

The file written is plain text, one line a ring or a line: "L" (a ring of the land: filled even-odd with the
others, so that a lake's ring makes a hole) or "B" (a border between two countries: a line), then the points as
integers in hundredths of a degree, longitude (beyond ±180° where a ring crosses the antimeridian) then latitude,
the first point whole and each next one as the difference from the one before it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "phonecloud" / "web" / "static" / "map" / "land.txt"


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """The arcs in degrees: TopoJSON's are quantized (the transform) and delta-encoded."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def stitch(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    """A ring or line of arcs by index, ~i for arc i backwards; each arc starts where the one before ended."""
    points: list[tuple[float, float]] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc[1:] if points else arc)
    return points


def rings(geometry: dict) -> list[list[int]]:
    if geometry["type"] == "Polygon":
        return geometry["arcs"]
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["arcs"] for ring in polygon]
    return []


def rounded(points: list[tuple[float, float]], closed: bool) -> list[tuple[int, int]]:
    """Hundredths of a degree, with no point twice in a row (nor a closed ring's last, the same as its first)."""
    out: list[tuple[int, int]] = []
    for x, y in points:
        point = (round(x * 100), round(y * 100))
        if not out or point != out[-1]:
            out.append(point)
    if closed and len(out) > 1 and out[0] == out[-1]:
        out.pop()
    return out


def unwrapped(points: list[tuple[int, int]], closed: bool) -> list[tuple[int, int]]:
    """The longitudes made continuous: a ring across the antimeridian (Chukotka, Fiji) goes on past 180° rather than
    jumping to -180° (the map draws it in the next copy of the world too); one around the pole (Antarctica) is
    closed by the pole's side of the map."""
    out = [points[0]]
    for x, y in points[1:]:
        previous = out[-1][0]
        while x - previous > 18000:
            x -= 36000
        while previous - x > 18000:
            x += 36000
        out.append((x, y))
    if closed and abs(out[-1][0] - out[0][0]) > 18000:
        pole = -9000 if out[0][1] < 0 else 9000
        out += [(out[-1][0], pole), (out[0][0], pole)]
    return out


def line(tag: str, points: list[tuple[int, int]]) -> str:
    numbers = [points[0][0], points[0][1]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        numbers += [x1 - x0, y1 - y0]
    return tag + " " + " ".join(map(str, numbers))


def build(topology: dict) -> str:
    arcs = decode_arcs(topology)
    lines = []
    for geometry in topology["objects"]["land"]["geometries"]:
        for ring in rings(geometry):
            points = rounded(stitch(arcs, ring), closed=True)
            if len(points) >= 3:
                points = unwrapped(points, closed=True)
                lines.append(line("L", points))
    # A border is an arc two countries share (what topojson.mesh(…, (a, b) => a !== b) draws).
    users: dict[int, set[int]] = {}
    for number, geometry in enumerate(topology["objects"]["countries"]["geometries"]):
        for ring in rings(geometry):
            for index in ring:
                users.setdefault(index if index >= 0 else ~index, set()).add(number)
    for index in sorted(users):
        if len(users[index]) > 1:
            points = rounded(arcs[index], closed=False)
            if len(points) >= 2:
                points = unwrapped(points, closed=False)
                lines.append(line("B", points))
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    topology = json.loads(Path(argv[1]).read_text())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(build(topology))
    print(f"{OUT}: {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv)

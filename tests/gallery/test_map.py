"""The map's clusters (gallery/map/, GET /api/v1/map/clusters) on both databases: every photo with a place in
the box counted once, a cluster of one is the photo itself, the newest stands for a cluster, the grid follows
the zoom (Web Mercator), the antimeridian is crossed, the trash, places of 0°, 0° and other people's photos are
left out, an import's place stands in for missing GPS, and bad boxes and zooms are refused with a 4xx naming
the parameter."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid

import pytest
from pydantic import ValidationError
from sqlalchemy import insert

from conftest import upload
from phonecloud.accounts.service import Principal
from phonecloud.core.errors import BadRequest
from phonecloud.core.settings import Settings
from phonecloud.gallery.map.service import MAX_CELLS, Box, TileSource, cell_of, clusters
from phonecloud.gallery.models import Asset
from phonecloud.gallery.web.map import content_security_policy
from phonecloud.media.models import AssetMedia

WORLD = Box(-180, -90, 180, 90)
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def member(services, name: str) -> Principal:
    user = services.accounts.create_user(f"{name}@example.org", "correct horse battery")
    return Principal(user_id=user.id, email=user.email, is_admin=False)


def add_places(services, owner: Principal, places, trashed: bool = False, imported: bool = False,
               start: dt.datetime = START) -> list[uuid.UUID]:
    """Stand-in rows (no bytes), one a minute from start, at (latitude, longitude): the file's GPS as the media
    pipeline records it, or with imported=True the place a Takeout import gave (no GPS in the file)."""
    ids, assets, media = [], [], []
    for number, (latitude, longitude) in enumerate(places):
        asset_id, moment = uuid.uuid4(), start + dt.timedelta(minutes=number)
        ids.append(asset_id)
        assets.append(dict(
            id=asset_id, owner_id=owner.user_id, kind="photo", mime_type="image/jpeg",
            original_filename=f"{asset_id}.jpg",
            size_bytes=1000, sha1=hashlib.sha1(asset_id.bytes).hexdigest(), crc32=0, blob_key=f"stand-in/{asset_id}",
            file_modified_at=moment, uploaded_at=moment, sort_at=moment, is_favorite=False,
            trashed_at=moment if trashed else None, place_latitude=latitude if imported else None,
            place_longitude=longitude if imported else None))
        media.append(dict(asset_id=asset_id, state="ready", updated_at=moment,
                          latitude=None if imported else latitude, longitude=None if imported else longitude))
    with services.db.write() as session:
        session.execute(insert(Asset), assets)
        session.execute(insert(AssetMedia), media)
    return ids


def test_counts_add_up_and_each_cluster_is_one_cell_of_the_zooms_grid(services):
    owner = member(services, "traveller")
    chance = random.Random(23)
    places = [(chance.uniform(-60, 70), chance.uniform(-170, 170)) for _ in range(300)]
    places += [(48.8566 + chance.uniform(-0.01, 0.01), 2.3522 + chance.uniform(-0.01, 0.01)) for _ in range(200)]
    ids = add_places(services, owner, places)
    newest_in_paris = ids[-1]
    for zoom in (0, 2, 5):
        found = clusters(services.db, owner, WORLD, zoom)
        assert sum(cluster.count for cluster in found) == 500, zoom
        expected: dict[tuple[int, int], list[int]] = {}
        for number, (latitude, longitude) in enumerate(places):
            expected.setdefault(cell_of(latitude, longitude, zoom), []).append(number)
        assert sorted(cluster.count for cluster in found) == sorted(len(members) for members in expected.values())
        for cluster in found:
            members = expected[cell_of(cluster.latitude, cluster.longitude, zoom)]
            assert cluster.asset_id == ids[max(members)]  # the newest
            assert cluster.south <= cluster.latitude <= cluster.north
            assert cluster.west <= cluster.longitude <= cluster.east
            assert cluster.latitude == pytest.approx(sum(places[m][0] for m in members) / len(members))
        paris = max(found, key=lambda cluster: cluster.count)
        assert paris.count >= 200 and paris.asset_id == newest_in_paris


def test_a_cluster_of_one_is_the_photo_and_close_zooms_split_a_city(services):
    owner = member(services, "walker")
    [alone] = add_places(services, owner, [(-33.8568, 151.2153)])
    ids = add_places(services, owner, [(51.5007, -0.1246), (51.5014, -0.1419)], start=START + dt.timedelta(days=1))
    found = clusters(services.db, owner, WORLD, 3)
    single = next(cluster for cluster in found if cluster.count == 1)
    assert (single.asset_id, single.latitude, single.longitude, single.kind) == (alone, -33.8568, 151.2153, "photo")
    assert (single.west, single.south, single.east, single.north) == (151.2153, -33.8568, 151.2153, -33.8568)
    london = Box(-0.2, 51.45, -0.05, 51.55)
    [together] = clusters(services.db, owner, london, 10)
    assert (together.count, together.asset_id) == (2, ids[1])
    assert sorted(cluster.asset_id for cluster in clusters(services.db, owner, london, 16)) == sorted(ids)


def test_the_box_is_kept_and_may_cross_the_antimeridian(services):
    owner = member(services, "pacific")
    fiji, samoa, tokyo, quito = add_places(services, owner, [(-17.7, 178.1), (-13.8, -171.8), (35.7, 139.7),
                                                             (-0.2, -78.5)])
    across = clusters(services.db, owner, Box(170, -30, -165, 0), 2)  # west > east: through 180°
    assert sorted(cluster.asset_id for cluster in across) == sorted([fiji, samoa])
    assert all(cluster.count == 1 for cluster in across)
    assert [cluster.asset_id for cluster in clusters(services.db, owner, Box(130, 30, 150, 40), 4)] == [tokyo]
    assert [cluster.asset_id for cluster in clusters(services.db, owner, Box(-80, -1, -78, 0), 8)] == [quito]
    assert clusters(services.db, owner, Box(-10, -10, 10, 10), 4) == []


def test_the_trash_null_island_other_people_and_no_place_are_left_out_and_an_imports_place_counts(services):
    owner, other = member(services, "owner"), member(services, "other")
    [kept] = add_places(services, owner, [(40.0, -3.7)])
    add_places(services, owner, [(40.0, -3.7)], trashed=True)
    add_places(services, owner, [(0.0, 0.0)])  # what a phone writes without a fix
    add_places(services, owner, [(None, None)])  # no place at all
    [imported] = add_places(services, owner, [(41.4, 2.17)], imported=True)
    add_places(services, other, [(40.0, -3.7), (41.4, 2.17), (1.0, 1.0)])
    found = clusters(services.db, owner, WORLD, 5)
    assert sorted(cluster.asset_id for cluster in found) == sorted([kept, imported])
    assert sum(cluster.count for cluster in clusters(services.db, other, WORLD, 5)) == 3
    assert clusters(services.db, member(services, "nobody"), WORLD, 0) == []
    # The file's own GPS wins over an import's place.
    with services.db.write() as session:
        session.get(Asset, kept).place_latitude, session.get(Asset, kept).place_longitude = -50.0, -50.0
    [madrid] = clusters(services.db, owner, Box(-4, 39, -3, 41), 9)
    assert madrid.asset_id == kept


def test_a_box_too_large_for_its_zoom_is_refused(services):
    owner = member(services, "zoomer")
    with pytest.raises(BadRequest) as refused:
        clusters(services.db, owner, WORLD, 10)
    assert refused.value.details == {"parameter": "zoom"} and str(MAX_CELLS) in refused.value.message
    assert clusters(services.db, owner, Box(2.0, 48.0, 2.5, 48.5), 13) == []


def test_many_photos_come_back_as_a_few_clusters(services):
    owner = member(services, "many")
    chance = random.Random(5)
    add_places(services, owner, [(chance.uniform(35, 60), chance.uniform(-10, 30)) for _ in range(10_000)])
    found = clusters(services.db, owner, WORLD, 2)
    assert sum(cluster.count for cluster in found) == 10_000 and len(found) <= 16


def test_the_api_answers_the_owner_only_and_names_a_bad_parameter(server, accounts):
    owner, stranger = accounts.create(name="mapper"), accounts.create(name="stranger")
    mine = upload(owner, b"\xff\xd8\xff\xe0" + uuid.uuid4().bytes * 300, filename="IMG_here.jpg").json()["id"]
    answer = owner.http.get("/map/clusters").json()  # no GPS in that file: nothing on the map
    assert answer == {"zoom": 0, "cell_px": 64, "total": 0, "clusters": []}
    assert stranger.http.get("/map/clusters", params={"zoom": 3}).json()["clusters"] == []
    assert mine not in owner.http.get("/map/clusters").text
    for params, named in (({"zoom": -1}, "zoom"), ({"zoom": 21}, "zoom"), ({"zoom": "x"}, "zoom"),
                          ({"west": 181}, "west"), ({"east": -200}, "east"), ({"north": 91}, "north"),
                          ({"south": "nan"}, "south"), ({"north": "inf"}, "north"),
                          ({"south": 10, "north": -10}, "south"), ({"zoom": 12}, "zoom")):
        refused = owner.http.get("/map/clusters", params=params)
        assert refused.status_code in (400, 422), (params, refused.text)
        assert named in refused.json()["message"], (params, refused.text)


def test_a_tile_url_must_be_http_with_z_x_y_and_opens_the_policy_to_its_server_only(tmp_path):
    assert TileSource.configured(Settings(data_dir=tmp_path)) is None
    for bad in ("ftp://tiles.example.org/{z}/{x}/{y}.png", "https://tiles.example.org/{z}/{x}.png", "/{z}/{x}/{y}.png",
                "https://tiles.example.org/{z}/{x}/{y}.png; script-src *", "javascript:{z}{x}{y}"):
        with pytest.raises(ValidationError, match="map_tile_url"):
            Settings(data_dir=tmp_path, map_tile_url=bad)
    tiles = TileSource.configured(Settings(data_dir=tmp_path, map_tile_url="https://{s}.tile.example.org/{z}/{x}/{y}.png"))
    assert (tiles.origin, tiles.attribution) == ("https://*.tile.example.org", "Map tiles: tile.example.org")
    policy = content_security_policy(tiles)
    assert "img-src 'self' https://*.tile.example.org;" in policy and policy.count("example.org") == 1
    osm = TileSource.configured(Settings(data_dir=tmp_path, map_tile_url="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                                         map_tile_attribution="© OpenStreetMap contributors"))
    assert (osm.origin, osm.attribution) == ("https://tile.openstreetmap.org", "© OpenStreetMap contributors")

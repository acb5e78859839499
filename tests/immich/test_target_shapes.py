"""The requests of phonecloud's Immich target (`phonecloud migrate --to immich`, and moves from the web app)
checked against Immich's API as Immich publishes it, at the two generations its clients speak (tests/immich/
immich_sdk.py: @immich/sdk 1.121.0, before Immich 1.133 replaced isArchived by visibility, and 3.2.2): each is
an operation of that API, a JSON body has only fields of its type and all its required ones, the upload's form
all the fields each generation requires, and what the target reads of an answer is in the answer's type.
The requests are those of a whole migration into phonecloud's own Immich-compatible API."""

from __future__ import annotations

import re

import pytest

from client.test_migrate import described_library
from immich import immich_sdk

from phonecloud.client.api import Api
from phonecloud.client.config import Connection
from phonecloud.client.migrate import to_immich
from phonecloud.client.migrate.engine import Migration
from phonecloud.client.migrate.record import MigrationRecord
from phonecloud.client.migrate.source import ApiSource
from phonecloud.client.progress import TransferReporter

ID = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Sent in the upload's form beyond a generation's own fields, as Immich's command-line clients send them: the
# other generation's fields, and fileSize; Immich's validation drops what its generation does not use.
FORM_EXTRAS = {"fileSize"}
# What the target reads of the answers: (method, path) → [(type, field)].
READS = {
    ("GET", "/server/version"): [("ServerVersionResponseDto", "major"), ("ServerVersionResponseDto", "minor")],
    ("POST", "/assets/bulk-upload-check"): [("AssetBulkUploadCheckResult", name) for name in ("id", "action",
                                                                                               "assetId")],
    ("POST", "/assets"): [("AssetMediaResponseDto", "id")],
    ("GET", "/assets/{}"): [("AssetResponseDto", "checksum"), ("AssetResponseDto", "exifInfo"),
                            ("ExifResponseDto", "fileSizeInByte")],
    ("POST", "/albums"): [("AlbumResponseDto", "id")],
}


@pytest.fixture(scope="module")
def apis():
    missing = [version for version in immich_sdk.VERSIONS if not immich_sdk.installed(version).is_dir()]
    if missing:
        pytest.skip(f"@immich/sdk {', '.join(missing)} not installed (make test installs it with npm)")
    return {version: immich_sdk.read(version) for version in immich_sdk.VERSIONS}


def requests_of_a_migration(server, user, target_user, tmp_path, monkeypatch, before_visibility: bool) -> list:
    """Every request the Immich target made moving the user's library: (method, path, json, form fields)."""
    # The server taken for one before Immich 1.133 (isArchived) or after it (visibility), whatever it says.
    monkeypatch.setattr(to_immich, "VISIBILITY_SINCE", (99, 0) if before_visibility else (0, 0))
    made = []
    send = to_immich.ImmichDestination._request

    def recording(destination, method, path, fresh=None, **kwargs):
        sent = {**kwargs, **(fresh() if fresh else {})}
        made.append((method, ID.sub("/{}", path), sent.get("json"), {*sent.get("data", {}), *sent.get("files", {})}))
        return send(destination, method, path, fresh, **kwargs)

    monkeypatch.setattr(to_immich.ImmichDestination, "_request", recording)
    api = Api(Connection(server.url, user.key), 2)
    source = ApiSource(api)
    destination = to_immich.ImmichDestination(source, f"{server.url}/api", target_user.key, 2,
                                              TransferReporter(rich=False))
    record = MigrationRecord(tmp_path / f"record-{before_visibility}.sqlite3")
    try:
        summary = Migration(source, destination, record, TransferReporter(rich=False)).run()
    finally:
        record.close()
        destination.close()
        api.close()
    assert (summary.verified, summary.failed) == (4, 0), summary
    return made


@pytest.mark.parametrize("version, before_visibility", [("1.121.0", True), ("3.2.2", False)])
def test_every_request_of_the_immich_target_is_one_of_immichs_api_with_its_shape(
        apis, server, user, other_user, tmp_path, monkeypatch, version, before_visibility):
    made = described_library(user, 5100)
    assert user.http.patch(f"/assets/{made['assets']['IMG_0002.jpg']['id']}",
                           json={"is_archived": True}).status_code == 200
    api = apis[version]
    requests = requests_of_a_migration(server, user, other_user, tmp_path, monkeypatch, before_visibility)
    assert {(method, path) for method, path, _, _ in requests} >= {
        ("POST", "/assets"), ("PUT", "/assets/{}"), ("DELETE", "/assets"), ("POST", "/albums")}
    for method, path, body, form in requests:
        assert (method, path) in api.operations, f"{method} {path} is no operation of Immich {version}'s API"
        shape = api.operations[(method, path)]
        if body is not None:
            fields = api.types[shape]
            assert set(body) <= set(fields), (method, path, set(body) - set(fields))
            assert {name for name, required in fields.items() if required} <= set(body), (method, path, body)
        if form:
            fields = api.types[shape]
            assert {name for name, required in fields.items() if required} <= form, (method, path, form)
            documented = {name for each in apis.values() for name in each.types[each.operations[(method, path)]]}
            assert form <= documented | FORM_EXTRAS, form - documented - FORM_EXTRAS
        if path == "/assets/bulk-upload-check":
            assert {key for item in body["assets"] for key in item} <= set(api.types["AssetBulkUploadCheckItem"])
    archived = [{key: body[key] for key in ("isArchived", "visibility") if key in body}
                for method, path, body, _ in requests if (method, path) == ("PUT", "/assets/{}")]
    expected = {"isArchived": True} if before_visibility else {"visibility": "archive"}
    assert [change for change in archived if change] == [expected]
    for (method, path), reads in READS.items():
        for type_name, field in reads:
            assert field in api.types[type_name], f"Immich {version}: {type_name} has no {field}"

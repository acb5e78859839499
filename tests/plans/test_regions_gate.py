"""Regions: every account's country, set at creation (CLI and API) and changeable; region groups of
countries; and per group the kinds of data its users may add, which the intake gate enforces on plain and
resumable uploads with a 403 `intake_closed` naming the region, shown in /me, and printed by the sync client
before it exits non-zero."""

from __future__ import annotations

import json

import pytest

from cli_runner import clean_env, phonecloud
from conftest import serving, upload
from plans.helpers import PASSWORD, assert_fails, assert_refused, cli, make_admin, new_email, ok, photo_of, unique
from tus_helpers import create as tus_create, metadata

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)


@pytest.fixture(scope="module")
def admin(accounts):
    return make_admin(accounts)


@pytest.fixture
def group(admin):
    """A region group's unique name; the group is deleted after the test (the server is shared)."""
    name = unique("G")
    yield name
    admin.http.delete("/admin/region-groups", params={"name": name})


def region_of(admin, email: str) -> str:
    users = admin.http.get("/admin/users").json()
    return next(row["region"] for row in users if row["email"] == email)


def groups_by_name(admin) -> dict[str, dict]:
    return {row["name"]: row for row in admin.http.get("/admin/region-groups").json()}


def in_country(accounts, admin, country: str):
    made = accounts.create()
    changed = admin.http.patch("/admin/users", json={"email": made.email, "region": country})
    assert changed.status_code == 200 and changed.json()["region"] == country.upper()
    return made


# -- a user's region --------------------------------------------------------------------------------------------


def test_the_cli_sets_the_region_at_creation_and_changes_it(server, admin):
    email = new_email("regional")
    # The region group's real processes: exit codes, output streams and no traceback as a shell sees them.
    created = ok(cli(server, "admin", "create-user", email, "--password", PASSWORD, "--region", "de",
                     "--locale", "de", "--name", "Erika Mustermann", process=True))
    assert created.stdout.startswith(f"created user {email} (DE) with a quota of ")
    assert region_of(admin, email) == "DE"
    changed = ok(cli(server, "admin", "set-region", email, "at", process=True))
    assert changed.stdout.strip() == f"{email}: region AT"
    assert region_of(admin, email) == "AT"
    assert_fails(cli(server, "admin", "set-region", email, "XX", process=True),
                 "not an ISO 3166-1 alpha-2 country code", "'XX'")
    assert_fails(cli(server, "admin", "set-region", "nobody@example.org", "FR", process=True), "no user with email")
    assert region_of(admin, email) == "AT"


def test_an_invalid_region_at_creation_is_refused_and_makes_no_user(server, admin):
    email = new_email("nowhere")
    done = cli(server, "admin", "create-user", email, "--password", PASSWORD, "--region", "XX")
    # a value the server refuses exits 1, as every refused value of `admin` does (2: an unreadable size or time)
    assert_fails(done, "not an ISO 3166-1 alpha-2 country code", "'XX'", code=1)
    assert done.stdout == ""
    assert email not in [row["email"] for row in admin.http.get("/admin/users").json()]


def test_without_a_region_an_account_is_of_the_unknown_region(user, admin):
    assert region_of(admin, user.email) == "ZZ"
    assert user.http.get("/me").json()["region"] == "ZZ"


def test_the_api_normalises_the_region_and_refuses_an_invalid_one(admin):
    email = new_email("api-regional")
    created = admin.http.post("/admin/users", json={"email": email, "password": PASSWORD, "region": " de "})
    assert created.status_code == 201, created.text
    assert created.json()["region"] == "DE"
    assert_refused(admin.http.post("/admin/users", json={"email": new_email("bad"), "password": PASSWORD,
                                                         "region": "XX"}), 400, "not an ISO 3166-1", "'XX'",
                   error="bad_request")
    changed = admin.http.patch("/admin/users", json={"email": email, "region": "fr"})
    assert changed.status_code == 200 and changed.json()["region"] == "FR"
    assert_refused(admin.http.patch("/admin/users", json={"email": email, "region": "EU"}), 400, "'EU'")
    assert region_of(admin, email) == "FR"


# -- region groups ----------------------------------------------------------------------------------------------


def test_region_groups_are_added_to_idempotently_listed_and_shrunk_by_the_cli(server, admin, group):
    added = ok(cli(server, "admin", "region-group", "add", group, "de", "AT"))
    assert added.stdout.strip().startswith(f"{group}\tAT DE\t")
    again = ok(cli(server, "admin", "region-group", "add", group, "DE", "FR"))  # DE again: no change; FR added
    assert again.stdout.strip().startswith(f"{group}\tAT DE FR\t") and again.stdout.strip().endswith("disabled: none")
    listed = {row["name"]: row for row in json.loads(ok(cli(server, "admin", "region-group", "list", "--json")).stdout)}
    assert (listed[group]["countries"], listed[group]["disabled_kinds"]) == (["AT", "DE", "FR"], [])
    assert any(line.startswith(f"{group}\tAT DE FR\t") for line in
               ok(cli(server, "admin", "region-group", "list")).stdout.splitlines())
    removed = ok(cli(server, "admin", "region-group", "remove", group, "AT"))
    assert removed.stdout.startswith(f"{group}\tDE FR\t")
    assert groups_by_name(admin)[group]["countries"] == ["DE", "FR"]
    assert_fails(cli(server, "admin", "region-group", "add", group, "XX"), "not an ISO 3166-1", "'XX'")
    assert_fails(cli(server, "admin", "region-group", "disable-kind", group, "videos"), "no kind of data 'videos'")
    assert_fails(cli(server, "admin", "region-group", "disable-kind", unique("None"), "gallery"), "no region group")
    deleted = ok(cli(server, "admin", "region-group", "delete", group))
    assert deleted.stdout.strip() == f"deleted region group {group}"
    assert group not in groups_by_name(admin)


def test_region_groups_through_the_api(accounts, admin, group):
    added = admin.http.post("/admin/region-groups", json={"name": group, "countries": ["it", "ES"]})
    assert added.status_code == 200, added.text
    assert (added.json()["countries"], added.json()["users"]) == (["ES", "IT"], 0)
    in_country(accounts, admin, "IT")
    again = admin.http.post("/admin/region-groups", json={"name": group, "countries": ["IT", "PT"]})
    assert (again.json()["countries"], again.json()["users"]) == (["ES", "IT", "PT"], 1)
    shrunk = admin.http.post("/admin/region-groups/remove-countries", json={"name": group, "countries": ["ES"]})
    assert shrunk.json()["countries"] == ["IT", "PT"]
    assert_refused(admin.http.post("/admin/region-groups", json={"name": group, "countries": ["XX"]}), 400, "'XX'")
    assert_refused(admin.http.post("/admin/region-groups", json={"name": "no/slashes", "countries": ["DE"]}), 400,
                   "region group's name")
    assert_refused(admin.http.post("/admin/region-groups/kinds", json={"name": group, "kind": "videos",
                                                                       "enabled": False}), 400, "no kind of data")
    assert admin.http.delete("/admin/region-groups", params={"name": group}).status_code == 204
    assert_refused(admin.http.delete("/admin/region-groups", params={"name": group}), 404, "no region group")


# -- the intake gate --------------------------------------------------------------------------------------------


def test_a_kind_disabled_for_a_group_refuses_plain_and_resumable_uploads_naming_the_region(server, accounts, admin,
                                                                                            group):
    inside, outside = in_country(accounts, admin, "LI"), in_country(accounts, admin, "MC")
    kept = photo_of(4_000)
    assert upload(inside, kept).status_code == 201  # before: open
    ok(cli(server, "admin", "region-group", "add", group, "LI", "CH"))
    disabled = ok(cli(server, "admin", "region-group", "disable-kind", group, "gallery"))
    assert disabled.stdout.strip().endswith("disabled: gallery")

    refused = upload(inside, photo_of(4_000))
    body = assert_refused(refused, 403, "Photos and videos cannot be added in your region", "LI", group,
                          "stays yours", error="intake_closed")
    assert (body["kind"], body["region"], body["group"]) == ("gallery", "LI", group)
    resumable = tus_create(inside, 4_000, **{"Upload-Metadata": metadata(filename="IMG_2.jpg")})
    assert_refused(resumable, 403, "your region (LI", group, error="intake_closed")
    assert inside.http.get("/me").json()["used_bytes"] == 4_000  # nothing was reserved
    assert inside.http.get("/me").json()["intake"]["gallery"] == body["message"]
    assert inside.http.get("/me").json()["intake"]["contacts"] is None
    # what they keep stays theirs
    (asset,) = inside.http.get("/assets").json()["items"]
    assert inside.http.get(f"/assets/{asset['id']}/original").content == kept

    # another country's user uploads as before
    assert upload(outside, photo_of(4_000)).status_code == 201
    assert outside.http.get("/me").json()["intake"]["gallery"] is None
    assert groups_by_name(admin)[group]["disabled_kinds"] == ["gallery"]

    enabled = ok(cli(server, "admin", "region-group", "enable-kind", group, "gallery"))
    assert enabled.stdout.strip().endswith("disabled: none")
    assert upload(inside, photo_of(4_000)).status_code == 201
    assert inside.http.get("/me").json()["intake"]["gallery"] is None


def test_the_gate_follows_the_users_region_and_the_groups_countries(accounts, admin, group):
    traveller = in_country(accounts, admin, "SM")
    closed = admin.http.post("/admin/region-groups", json={"name": group, "countries": ["AD"]})
    assert closed.status_code == 200
    assert admin.http.post("/admin/region-groups/kinds", json={"name": group, "kind": "contacts",
                                                               "enabled": False}).json()["disabled_kinds"] == ["contacts"]
    card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:r-1\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\nEND:VCARD\r\n"

    def import_card():
        return traveller.http.post("/contacts/imports", content=card, headers={"Content-Type": "text/vcard"})

    assert import_card().status_code == 201  # SM is not in the group
    assert admin.http.patch("/admin/users", json={"email": traveller.email, "region": "AD"}).status_code == 200
    assert_refused(import_card(), 403, "Contacts cannot be added in your region (AD", group, error="intake_closed")
    assert admin.http.post("/admin/region-groups/remove-countries",
                           json={"name": group, "countries": ["AD"]}).status_code == 200
    assert import_card().status_code == 201  # the country left the group
    admin.http.post("/admin/region-groups", json={"name": group, "countries": ["AD"]})
    assert import_card().status_code == 403
    assert admin.http.delete("/admin/region-groups", params={"name": group}).status_code == 204
    assert import_card().status_code == 201  # the group is gone


def test_the_sync_client_prints_the_refusal_and_exits_non_zero(tmp_path):
    with serving(tmp_path / "data") as (running, made):
        operator = make_admin(made)
        user = made.create()
        name = unique("SyncGate")
        assert operator.http.patch("/admin/users", json={"email": user.email, "region": "VA"}).status_code == 200
        assert operator.http.post("/admin/region-groups", json={"name": name, "countries": ["VA"]}).status_code == 200
        assert operator.http.post("/admin/region-groups/kinds",
                                  json={"name": name, "kind": "gallery", "enabled": False}).status_code == 200
        message = user.http.get("/me").json()["intake"]["gallery"]
        assert message and "VA" in message
        folder = tmp_path / "camera"
        folder.mkdir()
        for n in range(3):
            (folder / f"IMG_{n}.jpg").write_bytes(photo_of(5_000))
        env = clean_env(PHONECLOUD_CLIENT_DIR=str(tmp_path / "client"))
        done = phonecloud(env, "sync", str(folder), "--server", running.url, "--key", user.key)
        assert done.returncode != 0, (done.stdout, done.stderr)
        assert message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        assert user.http.get("/me").json()["used_bytes"] == 0

"""HEAD wherever GET is allowed (RFC 9110 §9.3.2), on every route of the route table: the same status and
headers as the GET, no body; and 405 answers name every method of their path."""

from __future__ import annotations

import pytest

from conftest import upload
from media_fixtures import jpeg
from route_table import endpoints, ready_export, settled
from security.test_isolation_matrix import FACTORIES

from phonecloud.web.session import FLASH_COOKIE

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)

HEADS = [endpoint for endpoint in endpoints() if endpoint.method == "HEAD" and endpoint.implied]
# Headers that belong to the body, so a HEAD must send them as its GET does.
ENTITY_HEADERS = ("content-type", "content-length", "etag", "content-disposition", "accept-ranges", "location")


@pytest.fixture(scope="module")
def owner_world(server, accounts):
    from phonecloud.web.session import SESSION_COOKIE, csrf_token_for

    owner = accounts.create(name="header")
    made: dict[str, object] = {}
    for name, factory in FACTORIES.items():
        made[name] = factory(owner, made)
    settled(owner, made["asset_id"])
    made["export_id"] = ready_export(owner)
    leaving = accounts.create(name="leaving")  # an account deletion's receipt, for its routes
    made["deletion_id"] = accounts.services.deletions.start(
        accounts.services.accounts.user_by_email(leaving.email).id, "admin", run_now=False).id
    token = owner.http.post("/auth/login", json={"email": owner.email, "password": owner.password}).json()["token"]
    browser = server.client(base="", cookies={SESSION_COOKIE: token},
                           headers={"X-CSRF-Token": csrf_token_for(token)})
    yield owner, made, browser
    browser.close()


def test_every_get_route_has_its_head():
    gets = {endpoint.path for endpoint in endpoints() if endpoint.method == "GET"}
    heads = {endpoint.path for endpoint in endpoints() if endpoint.method == "HEAD"}
    assert gets <= heads and len(HEADS) > 30


@pytest.mark.parametrize("endpoint", HEADS, ids=str)
def test_head_answers_as_get_without_the_body(endpoint, owner_world):
    owner, made, browser = owner_world
    client = owner.http if endpoint.is_api else browser
    url = endpoint.url(made)
    params = {"in": "library", "cursor": "x"} if endpoint.path == "/grid" else None
    got = client.get(url, params=params, follow_redirects=False)
    head = client.head(url, params=params, follow_redirects=False)
    client.cookies.delete(FLASH_COOKIE)  # a redirect's message (the Google sign-in's way back) is not the next page's
    assert head.status_code == got.status_code != 405, (head.status_code, got.status_code, got.text[:200])
    assert head.content == b""
    for name in ENTITY_HEADERS:
        if name == "content-length" and "content-length" not in got.headers:
            continue  # a streamed GET's length is only known at its end
        assert head.headers.get(name) == got.headers.get(name), name
    assert head.headers["x-content-type-options"] == "nosniff"


def test_head_of_a_large_original_reads_none_of_it(server, accounts):
    owner = accounts.create(name="big-head")
    body = jpeg(9700) + bytes(20 << 20)
    asset_id = upload(owner, body, filename="large.jpg").json()["id"]
    head = owner.http.head(f"/assets/{asset_id}/original")
    assert head.status_code == 200 and head.headers["content-length"] == str(len(body)) and head.content == b""
    assert owner.http.get("/health").json() == {"status": "ok"}  # the connection is still good to use


def test_405_names_every_method_of_the_path(user):
    answer = user.http.put("/assets")
    assert answer.status_code == 405 and answer.headers["allow"] == "GET, HEAD, POST"
    answer = user.http.head("/auth/login")
    assert answer.status_code == 405 and answer.headers["allow"] == "POST"


def test_another_users_object_is_404_to_head_too(user, other_user):
    asset_id = upload(user, jpeg(9701), filename="mine.jpg").json()["id"]
    assert other_user.http.head(f"/assets/{asset_id}/original").status_code == 404
    assert other_user.http.head(f"/assets/{asset_id}").status_code == 404
    assert user.http.head(f"/assets/{asset_id}").status_code == 200

"""Every endpoint that takes an object id, with every method it accepts, generated from the app's route
table: another user gets 404 (not 403, not the data), exactly as for an id that never existed, and the
owner's objects are unchanged afterwards. A new endpoint joins the matrix by itself; one whose id
parameter has no factory below fails the guard test instead of escaping the matrix."""

from __future__ import annotations

import base64
import datetime as dt
import io
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from conftest import User, upload
from inprocess import pause_embedded_workers
from media_fixtures import jpeg
from route_table import Endpoint, endpoints, form_body, holdings, json_body, ready_export, settled
from messages.backup_files import MESSAGES, MessageSpec, sbr_messages_xml
from messages.server_helpers import imported

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)

TUS = {"Tus-Resumable": "1.0.0"}


def _asset(owner: User, made: dict) -> str:
    asset_id = upload(owner, jpeg(7001), filename="owner-secret.jpg").json()["id"]
    settled(owner, asset_id)  # its derivatives stop changing, so the snapshots compare
    return asset_id


def _album(owner: User, made: dict) -> str:
    album = owner.http.post("/albums", json={"title": "owner-secret-album"}).json()
    owner.http.put(f"/albums/{album['id']}/assets", json={"asset_ids": [made["asset_id"]]})
    return album["id"]


def _device(owner: User, made: dict) -> int:
    return owner.http.post("/devices", json={"name": "owner-secret-tablet"}).json()["device_id"]


def _session(owner: User, made: dict) -> int:
    token = owner.http.post("/auth/login", json={"email": owner.email, "password": owner.password}).json()["token"]
    sessions = owner.http.get("/auth/sessions", headers={"Authorization": f"Bearer {token}"}).json()
    return next(session["id"] for session in sessions if session["current"])


def _upload(owner: User, made: dict) -> str:
    """An unfinished tus upload (creation extension), with some bytes received."""
    metadata = ",".join(f"{key} {base64.b64encode(value.encode()).decode()}"
                        for key, value in {"filename": "owner-secret.jpg", "modified_at": "2022-01-01T00:00:00Z"}.items())
    body = jpeg(7002)
    created = owner.http.post("/uploads/", headers={**TUS, "Upload-Length": str(len(body) * 2),
                                                   "Upload-Metadata": metadata})
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    patched = owner.http.patch(location, content=body, headers={
        **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert patched.status_code == 204, patched.text
    return location.rstrip("/").rsplit("/", 1)[1]


def _message_import(owner: User, made: dict) -> str:
    """A finished import of a messages backup: an SMS and an MMS with a photo."""
    secret = MessageSpec("sms", 1, 1700000000000, "owner-secret message", "+4915123456789",
                         contact_name="owner-secret contact")
    return imported(owner, sbr_messages_xml([secret, MESSAGES[5]]), "owner-secret.xml")["id"]


def _conversation(owner: User, made: dict) -> str:
    return owner.http.get("/messages/conversations").json()["items"][0]["id"]


def _message_part(owner: User, made: dict) -> str:
    """An MMS part with bytes (a photo)."""
    found = owner.http.get("/messages/search", params={"q": "Ausflug"}).json()["items"][0]
    return next(part["id"] for part in found["parts"] if part["data_url"])


def _address_book(owner: User, made: dict) -> int:
    return owner.http.post("/contacts/books", json={"name": "owner-secret-book"}).json()["id"]


def _contact(owner: User, made: dict) -> int:
    card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:owner-secret contact\r\nTEL:+4915123456789\r\nEND:VCARD\r\n"
    owner.http.post("/contacts/imports", content=card, headers={"Content-Type": "text/vcard"})
    return owner.http.get("/contacts").json()["contacts"][0]["id"]


def _takeout_zip(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"Takeout/Google Photos/Photos from 2019/{name}", jpeg(7005))
    return buffer.getvalue()


def _takeout_part(owner: User, made: dict) -> str:
    """An uploaded Takeout part that no import has taken."""
    return owner.http.post("/takeout/parts", params={"filename": "owner-secret-001.zip"},
                           content=_takeout_zip("owner-secret.jpg")).json()["id"]


def _takeout_import(owner: User, made: dict) -> str:
    """A finished Takeout import of a part of its own."""
    part = owner.http.post("/takeout/parts", params={"filename": "owner-secret-002.zip"},
                           content=_takeout_zip("owner-secret-2.jpg")).json()["id"]
    import_id = owner.http.post("/takeout/imports", json={"parts": [part]}).json()["id"]
    while not owner.http.get(f"/takeout/imports/{import_id}").json()["finished"]:
        time.sleep(0.05)
    imported = next(item for item in owner.http.get("/assets").json()["items"]
                    if item["original_filename"] == "owner-secret-2.jpg")
    settled(owner, imported["id"])  # its derivatives stop changing, so the snapshots compare
    return import_id


def _move(owner: User, made: dict) -> str:
    """A paused move of the library (the workers are held while it is made, so that it never starts)."""
    held = pause_embedded_workers()
    try:
        move = owner.http.post("/moves", json={"target": "immich", "url": "http://127.0.0.1:9",
                                               "key": "owner-secret-key"}).json()
        assert owner.http.post(f"/moves/{move['id']}/pause").json()["state"] == "paused"
    finally:
        for pool in held:
            pool.start()
    return move["id"]


def _link_id(owner: User, made: dict) -> str:
    """A live link of the owner's (its token is for the owner to give away: see _expired_link)."""
    return owner.http.post("/shares", json={"album_id": made["album_id"]}).json()["id"]


def _expired_link(owner: User, made: dict) -> str:
    """The token of a link of the owner's to the album, expired: whoever holds a link's token may open it
    while it lives (that is what it is for, tests/gallery/test_sharing_links.py), so what the matrix holds
    against every route of /s/{token} is a link that no longer lives: exactly the 404 of one never made."""
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1.5)
    url = owner.http.post("/shares", json={"album_id": made["album_id"], "expires_at": soon.isoformat()}).json()["url"]
    time.sleep(max(0.0, (soon - dt.datetime.now(dt.UTC)).total_seconds()) + 0.1)
    return url.rsplit("/", 1)[1]


# How to make an object of the owner's for each id parameter, in dependency order (an album holds the
# asset). A route whose id parameter is missing here fails test_every_id_parameter_has_a_factory.
FACTORIES: dict[str, Callable[[User, dict], object]] = {
    "asset_id": _asset,
    "album_id": _album,
    "device_id": _device,
    "session_id": _session,
    "upload_id": _upload,
    "export_id": lambda owner, made: ready_export(owner),
    "number": lambda owner, made: 1,  # an export's first part
    "import_id": _message_import,
    "conversation_id": _conversation,
    "part_id": _message_part,
    "book_id": _address_book,
    "contact_id": _contact,
    "takeout_part_id": _takeout_part,
    "takeout_id": _takeout_import,
    "move_id": _move,
    "share_id": _link_id,
    "token": _expired_link,
}
# What each kind of id looks like when no object has it: the intruder's request for one of these must
# be answered exactly as its request for the owner's.
NEVER_MADE: dict[str, object] = {
    "asset_id": uuid.UUID(int=1), "album_id": uuid.UUID(int=2), "device_id": 2_000_000_000,
    "session_id": 2_000_000_000, "upload_id": uuid.UUID(int=3).hex, "export_id": uuid.UUID(int=4), "number": 1,
    "import_id": uuid.UUID(int=5), "conversation_id": uuid.UUID(int=6), "part_id": uuid.UUID(int=7),
    "book_id": 2_000_000_000, "contact_id": 2_000_000_000, "takeout_part_id": uuid.UUID(int=8),
    "takeout_id": uuid.UUID(int=9), "move_id": uuid.UUID(int=10), "share_id": uuid.UUID(int=11), "token": "A" * 43,
}
# Requests that are only well-formed with a header saying what they mean: each variant is tried.
VARIANTS: dict[str, list[dict[str, str]]] = {
    "POST /api/v1/uploads/{upload_id}": [{"X-HTTP-Method-Override": method} for method in ("PATCH", "DELETE", "HEAD")],
}

# Addresses that are capabilities, not objects of a user: an account deletion's receipt is read by whoever
# has its unguessable address, since the account it was is gone (tests/test_account_deletion.py).
CAPABILITIES = {"deletion_id"}
ID_ENDPOINTS = [endpoint for endpoint in endpoints() if endpoint.params and not set(endpoint.params) & CAPABILITIES]


def test_every_id_parameter_has_a_factory():
    missing = sorted({f"{endpoint}: {{{name}}}" for endpoint in ID_ENDPOINTS for name in endpoint.params
                      if name not in FACTORIES or name not in NEVER_MADE})
    assert not missing, f"add a factory (and a never-made id) for: {missing}"


def test_the_matrix_covers_the_known_object_routes():
    covered = {str(endpoint) for endpoint in ID_ENDPOINTS}
    assert {"GET /api/v1/assets/{asset_id}/original", "DELETE /api/v1/albums/{album_id}",
            "DELETE /api/v1/devices/{device_id}", "DELETE /api/v1/shares/{share_id}",
            "PUT /api/v1/albums/{album_id}/members", "GET /s/{token}", "GET /s/{token}/assets/{asset_id}/original",
            "GET /s/{token}/download", "POST /s/{token}/unlock"} <= covered


@pytest.fixture(scope="module")
def owned(accounts):
    """The owner, one object of every kind, and a snapshot of everything the owner can read."""
    owner = accounts.create(name="owner")
    wanted = {name for endpoint in ID_ENDPOINTS for name in endpoint.params}
    made: dict[str, object] = {}
    for name, factory in FACTORIES.items():
        if name in wanted or name == "asset_id":
            made[name] = factory(owner, made)
    return owner, made, holdings(owner, made)


@dataclass
class Intruder:
    user: User
    browser: httpx.Client  # signed in to the web pages, as a browser is: session cookie and CSRF token


@pytest.fixture(scope="module")
def intruder(server, accounts):
    from phonecloud.web.session import SESSION_COOKIE, csrf_token_for

    user = accounts.create(name="intruder")
    upload(user, jpeg(7003), filename="intruder.jpg")  # an account with data of its own
    token = user.http.post("/auth/login", json={"email": user.email, "password": user.password}).json()["token"]
    browser = server.client(base="", cookies={SESSION_COOKIE: token},
                           headers={"X-CSRF-Token": csrf_token_for(token)})
    assert browser.get("/").status_code == 200  # signed in: a 404 below is not a sign-in page
    yield Intruder(user, browser)
    browser.close()


def attempt(intruder: Intruder, endpoint: Endpoint, ids: dict[str, object], extra: dict[str, str]) -> httpx.Response:
    """The request as a well-formed one: a valid body and protocol headers, so that nothing but the
    ownership of the ids can stop it."""
    if endpoint.is_immich:  # Immich's API at the server's root, with the key as its clients send it
        return intruder.browser.request(endpoint.method, endpoint.url(ids), json=json_body(endpoint, ids),
                                        headers={"x-api-key": intruder.user.key})
    if not endpoint.is_api:  # a web page: the form it expects
        return intruder.browser.request(endpoint.method, endpoint.url(ids), data=form_body(endpoint, ids))
    user = intruder.user
    body = json_body(endpoint, ids)
    headers = {**TUS, **extra}
    content = None
    if body is None and endpoint.method in ("PATCH", "POST", "PUT") and extra.get("X-HTTP-Method-Override") in (
            None, "PATCH"):
        content = jpeg(7004)  # a tus chunk for PATCH, raw bytes for any other id route taking them
        headers.update({"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    return user.http.request(endpoint.method, endpoint.url(ids), json=body, content=content, headers=headers)


def _cases():
    for endpoint in ID_ENDPOINTS:
        for extra in VARIANTS.get(str(endpoint), [{}]):
            label = str(endpoint) + "".join(f" {name}: {value}" for name, value in extra.items())
            yield pytest.param(endpoint, extra, id=label)


@pytest.mark.parametrize(("endpoint", "extra"), list(_cases()))
def test_another_users_object_is_404_and_left_unchanged(endpoint, extra, owned, intruder):
    owner, made, before = owned
    never_made = {**made, **{name: NEVER_MADE[name] for name in endpoint.params}}
    answer = attempt(intruder, endpoint, made, extra)
    never = attempt(intruder, endpoint, never_made, extra)
    for secret in ("owner-secret", owner.email):
        assert secret not in answer.text + str(answer.headers), answer.text
    if endpoint.method == "OPTIONS":
        # tus discovery: the server's capabilities, the same whatever the id, never the object.
        assert (answer.status_code, _without_date(answer.headers)) == (never.status_code, _without_date(never.headers))
    else:
        assert answer.status_code == 404, (answer.status_code, answer.text)
        # Indistinguishable from an id that never existed: the owner's object is not even confirmed.
        assert never.status_code == 404
        if not (endpoint.is_api or endpoint.is_immich):
            assert answer.headers["content-type"].startswith("text/html")  # the web's own not-found page
        elif endpoint.method != "HEAD" and extra.get("X-HTTP-Method-Override") != "HEAD":
            assert answer.json()["error"] == never.json()["error"] == "not_found"
    assert holdings(owner, made) == before


def _without_date(headers: httpx.Headers) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name != "date"}

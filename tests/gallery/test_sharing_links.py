"""Links (gallery/sharing): an album (live) or a selection, opened by anyone without an account at /s/{token}
(page, viewer, thumbnails, previews, originals, a zip of all), optionally with a password (throttled like
sign-ins) and an expiry, revocable. A link shows its owner's items that it shares and that are outside the
trash, and nothing else; a link that never existed, expired or was revoked is the same 404 everywhere."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
import zipfile
from urllib.parse import urlsplit

import httpx
import pytest

from conftest import serving, upload
from media_fixtures import jpeg
from route_table import settled

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)

FILES = ("thumbnail", "preview", "original")


def photos(user, seeds, settle: bool = False) -> list[str]:
    """A photo per seed, a day apart (newest last), by id; settled: with its thumbnail and preview made."""
    made = []
    for number, seed in enumerate(seeds):
        answer = upload(user, jpeg(seed), filename=f"IMG_{seed}.jpg", modified_at=f"2023-06-{1 + number:02d}T10:00:00Z")
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["id"])
    for asset_id in made if settle else ():
        settled(user, asset_id)
    return made


def album_of(user, asset_ids: list[str], title: str = "Trip") -> str:
    album = user.http.post("/albums", json={"title": title}).json()["id"]
    if asset_ids:
        assert user.http.put(f"/albums/{album}/assets", json={"asset_ids": asset_ids}).status_code == 200
    return album


def link(user, **body) -> tuple[dict, str]:
    """A new link: (its JSON, its path /s/{token})."""
    answer = user.http.post("/shares", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json(), urlsplit(answer.json()["url"]).path


def anonymous(server) -> httpx.Client:
    """A browser without an account (its own cookies)."""
    return server.client(base="")


def shown(visitor: httpx.Client, path: str) -> set[str]:
    """The ids of the items the link's page shows."""
    page = visitor.get(path)
    assert page.status_code == 200, page.text
    return set(re.findall(r'id="t-([0-9a-f-]{36})"', page.text))


def csrf_of(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', html).group(1)


def gone_everywhere(visitor: httpx.Client, path: str, asset_id: str) -> None:
    """Every page and file of the link answers 404, as for a link that never existed."""
    for url in (path, f"{path}/download", f"{path}/photos/{asset_id}",
                *(f"{path}/assets/{asset_id}/{name}" for name in FILES)):
        answer = visitor.get(url)
        assert answer.status_code == 404, (url, answer.status_code)
        assert answer.headers["content-type"].startswith("text/html")
        assert answer.headers["referrer-policy"] == "no-referrer"
    page = visitor.get(path)
    unlock = visitor.post(f"{path}/unlock", data={"password": "x", "csrf": csrf_of(page.text)})
    assert unlock.status_code == 404


def test_an_album_link_shows_its_items_to_anyone_and_follows_the_album(user, server):
    first, second, later = photos(user, range(7301, 7304), settle=True)
    album = album_of(user, [first, second])
    made, path = link(user, album_id=album)
    assert made["items"] == 2 and made["title"] == "Trip" and made["album_id"] == album
    assert made["url"].endswith(path) and len(path.rsplit("/", 1)[1]) == 43  # 256 random bits
    assert made["token_prefix"] == path.rsplit("/", 1)[1][:6] and made["has_password"] is False
    visitor = anonymous(server)
    page = visitor.get(path)
    assert page.headers["referrer-policy"] == "no-referrer" and "noindex" in page.headers["x-robots-tag"]
    assert "Trip" in page.text and user.email not in page.text
    assert shown(visitor, path) == {first, second}
    for asset_id in (first, second):
        for name in FILES:
            answer = visitor.get(f"{path}/assets/{asset_id}/{name}")
            assert answer.status_code == 200, (name, answer.text)
            assert answer.headers["cache-control"] == "private, no-cache"
        assert visitor.get(f"{path}/assets/{asset_id}/original").content == user.http.get(
            f"/assets/{asset_id}/original").content
        viewer = visitor.get(f"{path}/photos/{asset_id}")
        assert viewer.status_code == 200 and f"{path}/assets/{asset_id}/preview" in viewer.text
    # Live: what is added to the album later shows too; what is taken out no longer does.
    assert visitor.get(f"{path}/assets/{later}/original").status_code == 404
    user.http.put(f"/albums/{album}/assets", json={"asset_ids": [later]})
    assert shown(visitor, path) == {first, second, later}
    assert visitor.get(f"{path}/assets/{later}/thumbnail").status_code == 200
    user.http.request("DELETE", f"/albums/{album}/assets", json={"asset_ids": [first]})
    assert shown(visitor, path) == {second, later}
    assert visitor.get(f"{path}/assets/{first}/original").status_code == 404
    # The viewer steps through the link's items only.
    viewer = visitor.get(f"{path}/photos/{later}").text
    assert f'data-older="{path}/photos/{second}"' in viewer and 'data-newer=""' in viewer


def test_a_link_never_exposes_anything_but_what_it_shares(user, other_user, accounts, server):
    shared, unshared, in_other_album = photos(user, range(7311, 7314), settle=True)
    album = album_of(user, [shared])
    album_of(user, [in_other_album], title="Private")
    strangers = photos(other_user, range(7314, 7315), settle=True)[0]
    # A member who may add: their item shows to the album's members, never through the owner's link.
    member = accounts.create(name="member")
    user.http.put(f"/albums/{album}/members", json={"email": member.email, "role": "contributor"})
    contribution = photos(member, range(7315, 7316))[0]
    assert member.http.put(f"/albums/{album}/assets", json={"asset_ids": [contribution]}).json()["results"][0][
        "result"] == "added"
    _, path = link(user, album_id=album)
    visitor = anonymous(server)
    assert shown(visitor, path) == {shared}
    for other in (unshared, in_other_album, strangers, contribution, str(uuid.UUID(int=5))):
        for url in (f"{path}/photos/{other}", *(f"{path}/assets/{other}/{name}" for name in FILES)):
            answer = visitor.get(url)
            assert answer.status_code == 404, (url, answer.status_code)
            assert user.email not in answer.text and "Private" not in answer.text
    # The owner's other links and objects are nowhere in the link's pages; its path takes no other id.
    for url in (f"{path}/albums/{album}", f"{path}/assets", f"/s/{album}", f"{path}/photos/{album}"):
        assert visitor.get(url).status_code == 404
    archive = zipfile.ZipFile(io.BytesIO(visitor.get(f"{path}/download").content))
    assert archive.namelist() == ["IMG_7311.jpg"]


def test_trashed_items_are_hidden_and_come_back_when_restored(user, server):
    kept, binned = photos(user, range(7321, 7323))
    _, album_path = link(user, album_id=album_of(user, [kept, binned]))
    _, selection_path = link(user, asset_ids=[kept, binned])
    visitor = anonymous(server)
    user.http.post(f"/assets/{binned}/trash")
    for path in (album_path, selection_path):
        assert shown(visitor, path) == {kept}
        assert visitor.get(f"{path}/assets/{binned}/original").status_code == 404
        assert visitor.get(f"{path}/photos/{binned}").status_code == 404
        assert zipfile.ZipFile(io.BytesIO(visitor.get(f"{path}/download").content)).namelist() == ["IMG_7321.jpg"]
    assert {item["items"] for item in user.http.get("/shares").json()} == {1}
    user.http.post(f"/assets/{binned}/restore")
    for path in (album_path, selection_path):
        assert shown(visitor, path) == {kept, binned}
    # Deleted for good: gone from both, for good.
    user.http.post(f"/assets/{binned}/trash")
    assert user.http.delete(f"/assets/{binned}").status_code == 204
    for path in (album_path, selection_path):
        assert shown(visitor, path) == {kept}


def test_a_selection_link_shows_those_items_as_they_are(user, server):
    chosen, also_chosen, left = photos(user, range(7331, 7334))
    made, path = link(user, asset_ids=[chosen, also_chosen, chosen], title="  Birthday  ")
    assert (made["album_id"], made["title"], made["items"]) == (None, "Birthday", 2)
    visitor = anonymous(server)
    assert shown(visitor, path) == {chosen, also_chosen}
    album_of(user, [left, chosen])  # albums have nothing to do with it
    assert shown(visitor, path) == {chosen, also_chosen}
    assert "Birthday" in visitor.get(path).text


def test_an_expired_link_is_gone_everywhere(user, server, clock):
    asset = photos(user, range(7341, 7342))[0]
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    made, path = link(user, asset_ids=[asset], expires_at=soon)
    assert made["expires_at"] is not None and made["expired"] is False
    visitor = anonymous(server)
    assert shown(visitor, path) == {asset}
    clock(dt.timedelta(hours=2))
    gone_everywhere(visitor, path, asset)
    assert [(item["id"], item["expired"]) for item in user.http.get("/shares").json()] == [(made["id"], True)]


def test_a_revoked_link_is_gone_everywhere_like_one_that_never_existed(user, other_user, server):
    asset = photos(user, range(7351, 7352))[0]
    made, path = link(user, asset_ids=[asset])
    visitor = anonymous(server)
    assert shown(visitor, path) == {asset}
    assert other_user.http.delete(f"/shares/{made['id']}").status_code == 404  # only its owner revokes it
    assert shown(visitor, path) == {asset}
    assert user.http.delete(f"/shares/{made['id']}").status_code == 204
    gone_everywhere(visitor, path, asset)
    never = visitor.get("/s/" + "A" * 43)
    revoked = visitor.get(path)
    assert (revoked.status_code, revoked.text.replace(path, "")) == (never.status_code, never.text.replace(
        "/s/" + "A" * 43, ""))
    assert user.http.get("/shares").json() == []
    assert user.http.delete(f"/shares/{made['id']}").status_code == 404


def test_a_password_link_opens_only_with_its_password_and_guesses_are_throttled(user, server, clock):
    asset = photos(user, range(7361, 7362), settle=True)[0]
    made, path = link(user, asset_ids=[asset], title="Secret title", password="open sesame")
    assert made["has_password"] is True
    visitor = anonymous(server)
    locked = visitor.get(path)
    assert locked.status_code == 200 and 'name="password"' in locked.text
    assert "Secret title" not in locked.text and asset not in locked.text  # nothing of it before the password
    for url in (f"{path}/photos/{asset}", f"{path}/download", *(f"{path}/assets/{asset}/{name}" for name in FILES)):
        assert visitor.get(url).status_code == 403, url
    csrf = csrf_of(locked.text)
    wrong = visitor.post(f"{path}/unlock", data={"password": "guess", "csrf": csrf})
    assert wrong.status_code == 403 and "not the password" in wrong.text
    assert visitor.post(f"{path}/unlock", data={"password": "open sesame"}).status_code == 403  # no CSRF token
    right = visitor.post(f"{path}/unlock", data={"password": "open sesame", "csrf": csrf})
    assert right.status_code == 303 and right.headers["location"] == path
    cookie = right.headers["set-cookie"]
    assert f"Path={path};" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert shown(visitor, path) == {asset}
    assert visitor.get(f"{path}/assets/{asset}/original").status_code == 200
    # The cookie opens this link only, and only as the server signed it.
    _, other_path = link(user, asset_ids=[asset], password="open sesame")
    value = visitor.cookies.get("phonecloud_link")
    stranger = anonymous(server)
    sent = lambda cookie: {"Cookie": f"phonecloud_link={cookie}"}  # noqa: E731
    assert stranger.get(f"{other_path}/assets/{asset}/original", headers=sent(value)).status_code == 403
    seconds, _, mac = value.partition(".")
    forged = f"{int(seconds) + 3600}.{mac}"
    assert stranger.get(f"{path}/assets/{asset}/original", headers=sent(forged)).status_code == 403
    assert stranger.get(f"{path}/assets/{asset}/original", headers=sent(value)).status_code == 200
    # Guesses: as sign-ins, five wrong ones lock the link for a minute, the right password too meanwhile.
    guesser = anonymous(server)
    csrf = csrf_of(guesser.get(other_path).text)
    for _ in range(5):
        assert guesser.post(f"{other_path}/unlock", data={"password": "nope", "csrf": csrf}).status_code == 403
    refused = guesser.post(f"{other_path}/unlock", data={"password": "open sesame", "csrf": csrf})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "Too many wrong passwords" in refused.text
    clock(dt.timedelta(minutes=2))
    assert guesser.post(f"{other_path}/unlock", data={"password": "open sesame", "csrf": csrf}).status_code == 303


def test_download_all_is_a_zip_of_the_originals_that_resumes(user, server):
    assets = photos(user, range(7371, 7374))
    named_alike = upload(user, jpeg(7374), filename="IMG_7371.jpg", modified_at="2023-07-01T10:00:00Z").json()["id"]
    _, path = link(user, album_id=album_of(user, [*assets, named_alike], title="Summer 2023.06"))
    visitor = anonymous(server)
    whole = visitor.get(f"{path}/download")
    assert whole.status_code == 200 and whole.headers["content-type"] == "application/zip"
    assert int(whole.headers["content-length"]) == len(whole.content)
    assert "Summer 2023 06.zip" in whole.headers["content-disposition"].replace("%20", " ")
    archive = zipfile.ZipFile(io.BytesIO(whole.content))
    assert archive.testzip() is None
    assert archive.namelist() == ["IMG_7371.jpg", "IMG_7372.jpg", "IMG_7373.jpg", "IMG_7371(1).jpg"]  # oldest first
    for name, asset_id in zip(archive.namelist(), [*assets, named_alike]):
        assert archive.read(name) == user.http.get(f"/assets/{asset_id}/original").content
    assert archive.getinfo("IMG_7372.jpg").date_time[:3] == (2023, 6, 2)
    # Cut short, it resumes where it stopped, and a changed link's archive is not taken for the old one.
    cut = len(whole.content) // 3
    rest = visitor.get(f"{path}/download", headers={"Range": f"bytes={cut}-", "If-Range": whole.headers["etag"]})
    assert rest.status_code == 206 and whole.content[:cut] + rest.content == whole.content
    user.http.post(f"/assets/{assets[0]}/trash")
    changed = visitor.get(f"{path}/download", headers={"Range": f"bytes={cut}-", "If-Range": whole.headers["etag"]})
    assert changed.status_code == 200 and len(zipfile.ZipFile(io.BytesIO(changed.content)).namelist()) == 3


def test_anonymous_requests_are_rate_limited_per_address(tmp_path):
    env = {"PHONECLOUD_SHARE_REQUESTS_PER_MINUTE": "6", "PHONECLOUD_SHARE_REQUEST_BURST": "5"}
    with serving(tmp_path / "data", env, in_process=True) as (server, accounts):
        owner = accounts.create(name="limited")
        _, path = link(owner, asset_ids=photos(owner, range(7381, 7382)))
        visitor = anonymous(server)
        answers = [visitor.get(path).status_code for _ in range(5)]
        assert answers == [200] * 5
        limited = visitor.get(path)
        assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 10
        assert limited.headers["referrer-policy"] == "no-referrer"
        assert visitor.get("/s/" + "B" * 43).status_code == 429  # guessing tokens is limited too
        assert owner.http.get("/shares").status_code == 200  # the owner's API is not


def test_making_a_link_takes_only_the_callers_own_and_says_what_is_wrong(user, other_user):
    mine = photos(user, range(7391, 7392))[0]
    theirs = photos(other_user, range(7392, 7393))[0]
    their_album = album_of(other_user, [theirs])
    refusals = [
        ({"asset_ids": [mine, theirs]}, 404, "no asset"),
        ({"album_id": their_album}, 404, "no album"),
        ({"album_id": their_album, "asset_ids": [mine]}, 400, "either album_id"),
        ({}, 400, "either album_id"),
        ({"asset_ids": [mine], "expires_at": "2020-01-01T00:00:00Z"}, 400, "in the past"),
        ({"asset_ids": [mine], "title": "a\u0000b"}, 400, "without NUL"),
        ({"asset_ids": [mine], "password": ""}, 422, "body.password"),
        ({"asset_ids": []}, 422, "body.asset_ids"),
    ]
    for body, status, words in refusals:
        answer = user.http.post("/shares", json=body)
        assert answer.status_code == status, (body, answer.text)
        assert words in answer.json()["message"], (body, answer.text)
    assert user.http.get("/shares").json() == [] and other_user.http.get("/shares").json() == []
    made, _ = link(user, asset_ids=[mine])
    assert [item["id"] for item in user.http.get("/shares").json()] == [made["id"]]
    assert other_user.http.get("/shares").json() == []
    assert "url" not in user.http.get("/shares").json()[0]  # the link itself was given once


def test_deleting_an_account_removes_its_links_and_album_sharing(server, accounts):
    leaving, staying = accounts.create(name="leaving"), accounts.create(name="staying")
    asset = photos(leaving, range(7401, 7402))[0]
    album = album_of(leaving, [asset])
    _, path = link(leaving, album_id=album)
    link(leaving, asset_ids=[asset], password="pw-123456")
    leaving.http.put(f"/albums/{album}/members", json={"email": staying.email, "role": "viewer"})
    their_album = album_of(staying, [])
    staying.http.put(f"/albums/{their_album}/members", json={"email": leaving.email, "role": "contributor"})
    leaving.http.put(f"/albums/{their_album}/assets", json={"asset_ids": [asset]})
    assert len(staying.http.get(f"/albums/{their_album}/assets").json()["items"]) == 1
    services = accounts.services
    user_id = services.accounts.user_by_email(leaving.email).id
    started = leaving.http.request("DELETE", "/me", json={"password": leaving.password})
    assert started.status_code == 202, started.text
    deletion = services.deletions.run_here(services.deletions.receipt(uuid.UUID(started.json()["id"])))
    from phonecloud.accounts.deletion import receipt_json

    assert receipt_json(deletion)["final_scan"] == {"blobs_under_prefix": 0, "rows_left": {}, "clean": True}
    with services.db.read() as session:
        assert services.kind("gallery").rows_left(session, user_id) == 0
    assert anonymous(server).get(path).status_code == 404
    assert staying.http.get("/shared-albums").json() == []
    assert staying.http.get(f"/albums/{their_album}/members").json() == []
    assert staying.http.get(f"/albums/{their_album}/assets").json()["items"] == []


def test_the_gallerys_purge_of_a_retirement_removes_links_and_memberships(server, accounts):
    """A feature retirement purges the kind for each user (retirement/steps.py): their sharing goes with it."""
    retiring, friend = accounts.create(name="retiring"), accounts.create(name="friend")
    asset = photos(retiring, range(7411, 7412))[0]
    album = album_of(retiring, [asset])
    _, path = link(retiring, asset_ids=[asset])
    retiring.http.put(f"/albums/{album}/members", json={"email": friend.email, "role": "contributor"})
    friends_album = album_of(friend, [])
    friend.http.put(f"/albums/{friends_album}/members", json={"email": retiring.email, "role": "viewer"})
    services = accounts.services
    user_id = services.accounts.user_by_email(retiring.email).id
    removed = []
    services.kind("gallery").purge_user(user_id, lambda purged, session: removed.append(purged))
    with services.db.read() as session:
        assert services.kind("gallery").rows_left(session, user_id) == 0
    assert sum(purged.rows for purged in removed) >= 2 + 1 + 2  # links and their item, members, albums...
    assert anonymous(server).get(path).status_code == 404
    assert retiring.http.get("/shares").json() == [] and retiring.http.get("/shared-albums").json() == []
    assert friend.http.get("/shared-albums").json() == []
    assert friend.http.get(f"/albums/{friends_album}/members").json() == []


def test_a_zip_whose_original_went_missing_stops_there_rather_than_shift_what_follows():
    """An original lost between the plan and its turn ends the answer short of its length (as several originals
    in one answer do), so that no reader takes the next file's bytes for it."""
    import zlib

    from phonecloud.core.blobstore import BlobNotFound
    from phonecloud.gallery.models import Asset
    from phonecloud.gallery.sharing import archive
    from phonecloud.portability.zipformat import ZipFormat

    bodies = {key: jpeg(seed) for key, seed in (("a", 7421), ("b", 7422), ("c", 7423))}

    class Blobs:
        def __init__(self, keys):
            self.keys = keys

        def get(self, key, start=0, end=None, chunk_size=1 << 20):
            if key not in self.keys:
                raise BlobNotFound(key)
            yield bodies[key][start:end]

    plan = archive.plan([Asset(id=uuid.uuid4(), original_filename=f"{key}.jpg", mime_type="image/jpeg",
                               size_bytes=len(body), crc32=zlib.crc32(body), sha1="0" * 40, blob_key=key,
                               sort_at=dt.datetime(2023, 1, 1, tzinfo=dt.UTC)) for key, body in bodies.items()])
    whole = b"".join(plan.stream(Blobs(set(bodies)), 0, plan.size))
    assert len(whole) == plan.size and zipfile.ZipFile(io.BytesIO(whole)).read("c.jpg") == bodies["c"]
    lost = plan.placed[1]  # "b": its header goes, then nothing
    cut = lost.offset + ZipFormat().local_header_size(lost.entry)
    assert b"".join(plan.stream(Blobs({"a", "c"}), 0, plan.size)) == whole[:cut]

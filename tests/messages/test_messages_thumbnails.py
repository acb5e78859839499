"""MMS photos' thumbnails, in process: made by the media pipeline on the first request and kept as a blob of
the kind, read back afterwards; the owner's only; bytes the pipeline cannot read answered with a clear 404
while the conversation page and the original stay as they were; account deletion and recovery know the
thumbnails' blobs."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image

from media_fixtures import png_declaring
from messages.backup_files import MessageSpec, PartSpec, sbr_messages_xml
from messages.server_helpers import every, imported
from phonecloud.accounts.deletion import receipt_json
from phonecloud.maintenance.recovery import RecoveryService
from phonecloud.messages import blobs as message_blobs
from phonecloud.messages.kind import NAME
from phonecloud.messages.models import Attachment, MessagePart

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)


def photo(size: tuple[int, int] = (1200, 900)) -> bytes:
    """A real JPEG with detail in it, as a phone's camera sends over MMS."""
    grain = Image.effect_noise(size, 48).convert("RGB")
    buffer = io.BytesIO()
    grain.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


PHOTO = photo()
CUT_SHORT = PHOTO[:len(PHOTO) // 2]  # a photo cut off half way, as a failed download leaves it: half is shown
DAMAGED = PHOTO[:200]  # cut off before its first pixel: nothing of it can be shown
BOMB = png_declaring(30000, 30000)  # 900 megapixels declared in 100 bytes
NOT_AN_IMAGE = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:Wolf;Clara\r\nEND:VCARD\r\n"  # what its part says it is not


def mms(date_ms: int, content_type: str, data: bytes, name: str, text: str) -> MessageSpec:
    return MessageSpec("mms", 1, date_ms, sbr_address="+4915199990000", contact_name="Clara Wolf",
                       m_id=f"mid-{date_ms}@mms.example", addresses=[("+4915199990000", 137)],
                       parts=[PartSpec(0, content_type, data=data, name=name, cl=name),
                              PartSpec(1, "text/plain", text=text, cl="text_0.txt", chset="106")])


PHOTO_MMS = mms(1700000500000, "image/jpeg", PHOTO, "beach.jpg", "Sonnenuntergang am Meer")
DAMAGED_MMS = mms(1700000600000, "image/jpeg", DAMAGED, "broken.jpg", "Kaputtes Bild")
FALSE_MMS = mms(1700000700000, "image/png", NOT_AN_IMAGE, "clara.png", "Keine Grafik")
BOMB_MMS = mms(1700000800000, "image/png", BOMB, "huge.png", "Riesig")
CUT_SHORT_MMS = mms(1700000900000, "image/jpeg", CUT_SHORT, "half.jpg", "Halbes Bild")
# What the pipeline cannot render, by part name: (its bytes, what the reason says)
UNREADABLE = {"broken.jpg": (DAMAGED, "not a readable image"), "clara.png": (NOT_AN_IMAGE, "no image format"),
              "huge.png": (BOMB, "image too large")}


def photo_parts(user) -> dict[str, dict]:
    """The user's parts that are offered a thumbnail, by name."""
    parts = {}
    for conversation in every(user, "/messages/conversations"):
        for message in every(user, f"/messages/conversations/{conversation['id']}/messages"):
            parts.update({part["name"]: part for part in message["parts"] if part["thumbnail_url"]})
    return parts


def api_path(url: str) -> str:
    return url.removeprefix("/api/v1")


def owner_id(accounts, user) -> int:
    return accounts.services.accounts.user_by_email(user.email).id


def attachment_of(accounts, part_id: str) -> Attachment:
    with accounts.services.db.read() as session:
        part = session.get(MessagePart, uuid.UUID(part_id))
        return session.get(Attachment, part.attachment_id)


def pages_of(server, user):
    """A client of the web pages, signed in as the user."""
    from phonecloud.web.session import SESSION_COOKIE, csrf_token_for

    token = user.http.post("/auth/login", json={"email": user.email, "password": user.password}).json()["token"]
    return server.client(base="", cookies={SESSION_COOKIE: token}, headers={"X-CSRF-Token": csrf_token_for(token)})


@pytest.fixture
def renders(accounts, monkeypatch) -> list[str]:
    """The files the messages kind's thumbnails have sent to the renderer during the test."""
    thumbnails = accounts.services.kind(NAME).service.thumbnails
    sent, render = [], thumbnails._render

    def counted(path: str) -> bytes:
        sent.append(path)
        return render(path)

    monkeypatch.setattr(thumbnails, "_render", counted)
    return sent


def test_a_photo_gets_a_small_thumbnail_once_and_its_link_opens_the_original(user, accounts, renders):
    imported(user, sbr_messages_xml([PHOTO_MMS]))
    part = photo_parts(user)["beach.jpg"]
    assert part["thumbnail_url"] == f"/api/v1/messages/parts/{part['id']}/thumbnail"

    first = user.http.get(api_path(part["thumbnail_url"]))
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "image/webp"
    assert first.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert len(first.content) < len(PHOTO) / 10
    with Image.open(io.BytesIO(first.content)) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("WEBP", (333, 250))  # 250 px on the short side

    attachment = attachment_of(accounts, part["id"])
    key = message_blobs.thumbnail_key(owner_id(accounts, user), attachment.id)
    assert b"".join(accounts.services.blobs.get(key)) == first.content  # kept under the kind's prefix
    second = user.http.get(api_path(part["thumbnail_url"]))
    assert second.content == first.content and len(renders) == 1  # read back, not made again
    unchanged = user.http.get(api_path(part["thumbnail_url"]), headers={"If-None-Match": first.headers["etag"]})
    assert unchanged.status_code == 304 and not unchanged.content

    original = user.http.get(api_path(part["data_url"]))
    assert original.status_code == 200 and original.content == PHOTO
    me = user.http.get("/me").json()
    assert me["used_bytes"] == len(PHOTO)  # thumbnails stay outside the quota, as the gallery's derivatives


def test_another_users_part_has_no_thumbnail(user, other_user, accounts, renders):
    imported(user, sbr_messages_xml([PHOTO_MMS]))
    part = photo_parts(user)["beach.jpg"]
    for attempt in range(2):  # before the owner's thumbnail is made, and after
        answer = other_user.http.get(api_path(part["thumbnail_url"]))
        assert answer.status_code == 404 and answer.json()["error"] == "not_found", answer.text
        assert "state" not in answer.json()  # exactly as a part that never existed
        if not attempt:
            assert renders == []
            assert user.http.get(api_path(part["thumbnail_url"])).status_code == 200
    never = other_user.http.get(f"/messages/parts/{uuid.uuid4()}/thumbnail")
    assert never.status_code == 404 and never.json()["message"].startswith("no message part")


def test_bytes_that_are_no_image_get_a_clear_404_and_the_page_still_shows(server, user, accounts, renders):
    imported(user, sbr_messages_xml([PHOTO_MMS, DAMAGED_MMS, FALSE_MMS, BOMB_MMS]))
    parts = photo_parts(user)
    for name, (original, reason) in UNREADABLE.items():
        for _ in range(2):
            answer = user.http.get(api_path(parts[name]["thumbnail_url"]))
            assert answer.status_code == 404, answer.text
            body = answer.json()
            assert (body["error"], body["state"]) == ("not_found", "failed")
            assert reason in body["reason"] and body["reason"] in body["message"], body
        assert user.http.get(api_path(parts[name]["data_url"])).content == original  # untouched, downloadable
    assert len(renders) == len(UNREADABLE)  # each file failed once; the reason kept answers since
    assert user.http.get(api_path(parts["beach.jpg"]["thumbnail_url"])).status_code == 200

    conversation = user.http.get("/messages/conversations").json()["items"][0]["id"]
    with pages_of(server, user) as web:
        page = web.get(f"/messages/{conversation}")
    assert page.status_code == 200, page.text
    for name in ("beach.jpg", *UNREADABLE):
        part = parts[name]
        assert f'href="{part["data_url"]}" data-name="{name}"' in page.text  # a tap opens the original
        assert f'src="{part["thumbnail_url"]}"' in page.text
    assert all(text in page.text for text in ("Sonnenuntergang am Meer", "Kaputtes Bild", "Keine Grafik", "Riesig"))


def test_a_photo_cut_off_half_way_gets_a_thumbnail_of_what_arrived(user):
    """As the gallery (and a browser) shows a damaged photo: what decodes, the rest grey."""
    imported(user, sbr_messages_xml([CUT_SHORT_MMS]))
    answer = user.http.get(api_path(photo_parts(user)["half.jpg"]["thumbnail_url"]))
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/webp", answer.text
    with Image.open(io.BytesIO(answer.content)) as thumbnail:
        assert thumbnail.size == (333, 250)
        top, bottom = thumbnail.convert("L").crop((0, 0, 333, 40)), thumbnail.convert("L").crop((0, 210, 333, 250))
        assert top.getextrema()[1] - top.getextrema()[0] > 60  # the grain that arrived
        assert bottom.getextrema()[1] - bottom.getextrema()[0] < 30  # the even grey of what did not


def test_deleting_the_account_removes_the_thumbnails(accounts):
    leaving = accounts.create(name="leaving")
    imported(leaving, sbr_messages_xml([PHOTO_MMS, DAMAGED_MMS]))
    parts = photo_parts(leaving)
    made = leaving.http.get(api_path(parts["beach.jpg"]["thumbnail_url"]))
    assert made.status_code == 200
    assert leaving.http.get(api_path(parts["broken.jpg"]["thumbnail_url"])).status_code == 404
    services, user_id = accounts.services, owner_id(accounts, leaving)
    thumbnails = list(services.blobs.iterate(f"users/{user_id}/messages/thumbnails/"))
    assert sorted(key.rsplit(".", 1)[1] for key in thumbnails) == ["failed", "webp"]

    started = leaving.http.request("DELETE", "/me", json={"password": leaving.password})
    assert started.status_code == 202, started.text
    receipt = receipt_json(services.deletions.run_here(services.deletions.receipt(uuid.UUID(started.json()["id"]))))
    removed = receipt["removed"][NAME]
    assert removed["blobs"] == 2 + len(thumbnails)  # the two photos, their thumbnail and the kept reason
    assert removed["bytes"] >= len(PHOTO) + len(DAMAGED) + len(made.content)
    assert receipt["final_scan"] == {"blobs_under_prefix": 0, "rows_left": {}, "clean": True}
    assert list(services.blobs.iterate(f"users/{user_id}/")) == []


def test_recovery_keeps_a_photos_thumbnail_and_removes_one_whose_attachment_is_gone(user, accounts):
    imported(user, sbr_messages_xml([PHOTO_MMS, DAMAGED_MMS]))
    parts = photo_parts(user)
    assert user.http.get(api_path(parts["beach.jpg"]["thumbnail_url"])).status_code == 200
    assert user.http.get(api_path(parts["broken.jpg"]["thumbnail_url"])).status_code == 404
    services, user_id = accounts.services, owner_id(accounts, user)
    kept = sorted(services.blobs.iterate(f"users/{user_id}/messages/thumbnails/"))
    gone = uuid.uuid4()  # an attachment deleted since its thumbnail was made
    strays = [message_blobs.thumbnail_key(user_id, gone), message_blobs.thumbnail_failure_key(user_id, gone)]
    for key in strays:
        services.blobs.put(key, [b"left behind"])
    foreign = f"users/{user_id}/messages/thumbnails/zz/not-one-of-ours.webp"  # no kind's: never deleted
    services.blobs.put(foreign, [b"whose?"])
    kind = services.kind(NAME)
    with services.db.read() as session:
        orphans = kind.orphans(session, kept + strays + [foreign])
    assert sorted(orphan.key for orphan in orphans) == sorted(strays)
    assert {(orphan.owner_id, orphan.what) for orphan in orphans} == {(user_id, "message thumbnail")}
    assert all(kind.content_sha1(key) is None for key in kept)

    RecoveryService(services.db, services.blobs, list(services.kinds.values()), services.quota,
                    staging_max_age=1e9, orphan_min_age=0).sweep()
    left = sorted(services.blobs.iterate(f"users/{user_id}/messages/thumbnails/"))
    assert left == sorted(kept + [foreign])
    services.blobs.delete(foreign)
    assert user.http.get(api_path(parts["beach.jpg"]["thumbnail_url"])).status_code == 200

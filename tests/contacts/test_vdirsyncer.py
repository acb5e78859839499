"""A real CardDAV client, vdirsyncer, syncs an address book both ways with a `phonecloud serve` process:
new contacts each side, an update each side, deletions, a conflict and a photo, over ETags."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from contacts.dav_helpers import book_path, dav_client, vcard

VDIRSYNCER = str(Path(sys.executable).with_name("vdirsyncer"))


def photo_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 96), (200, 80, 40)).save(out, "JPEG", quality=80)
    return out.getvalue()


def folded(line: str) -> str:
    """A content line folded at 75 characters, as vCard writers do."""
    return "\r\n ".join(line[start:start + 74] for start in range(0, len(line), 74)) + "\r\n"


class Vdirsyncer:
    def __init__(self, folder: Path, url: str, email: str, secret: str, resolution: str = '"a wins"'):
        self.vdir = folder / "vdir"
        self.vdir.mkdir()
        self.config = folder / "config"
        self.config.write_text(f"""[general]
status_path = "{folder}/status/"

[pair contacts]
a = "phone"
b = "server"
collections = null
conflict_resolution = {resolution}

[storage phone]
type = "filesystem"
path = "{self.vdir}/"
fileext = ".vcf"

[storage server]
type = "carddav"
url = "{url}"
username = "{email}"
password = "{secret}"
""")

    def run(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run([VDIRSYNCER, "-c", str(self.config), *command], capture_output=True, text=True,
                              timeout=300)

    def sync(self) -> subprocess.CompletedProcess:
        if not (self.config.parent / "status").exists():
            discovered = self.run("discover")
            assert discovered.returncode == 0, discovered.stdout + discovered.stderr
        done = self.run("sync")
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def files(self) -> dict[str, str]:
        """Each local contact's text by its UID."""
        found = {}
        for path in self.vdir.glob("*.vcf"):
            text = path.read_text()
            uid = next(line[4:] for line in text.splitlines() if line.startswith("UID:"))
            found[uid] = text
        return found

    def path_of(self, uid: str) -> Path:
        return next(path for path in self.vdir.glob("*.vcf") if f"UID:{uid}" in path.read_text())


@pytest.fixture
def synced(server_process, user, tmp_path):
    url = f"{server_process.url}{book_path(user.email)}"
    client = Vdirsyncer(tmp_path, url, user.email, user.key)
    for number in range(5):
        (client.vdir / f"p{number}.vcf").write_text(vcard(f"uid-{number}", f"Person {number}", f"+4917{number:07d}"),
                                                   newline="")
    photo = base64.b64encode(photo_jpeg()).decode()
    (client.vdir / "photo.vcf").write_text(vcard("uid-photo", "Photo Person",
                                                 extra=folded(f"PHOTO;ENCODING=b;TYPE=JPEG:{photo}")), newline="")
    client.sync()
    return client


def names(user) -> list[str]:
    return sorted(contact["name"] for contact in user.http.get("/contacts", params={"limit": 1000}).json()["contacts"])


def test_the_first_sync_puts_every_contact_and_its_photo_on_the_server(synced, user):
    assert names(user) == ["Person 0", "Person 1", "Person 2", "Person 3", "Person 4", "Photo Person"]
    with_photo = next(contact for contact in user.http.get("/contacts").json()["contacts"] if contact["has_photo"])
    assert user.http.get(f"/contacts/{with_photo['id']}/photo").content == photo_jpeg()
    synced.sync()  # a second sync runs clean


def test_changes_on_both_sides_meet_deletions_travel_and_a_conflict_is_resolved(synced, server_process, user):
    path = book_path(user.email)
    with dav_client(server_process, user.email, user.key) as phone:  # the other device: a phone over CardDAV
        assert phone.put(f"{path}from-phone.vcf", content=vcard("uid-phone", "Added On Phone"),
                         headers={"Content-Type": "text/vcard"}).status_code == 201
        assert phone.delete(f"{path}{_href(phone, path, 'uid-3')}").status_code in (200, 204)
    contact = next(item for item in user.http.get("/contacts").json()["contacts"] if item["uid"] == "uid-1")
    edited = user.http.put(f"/contacts/{contact['id']}", json={"name": "Person One Edited On Web",
                                                             "phones": ["+4917000001"], "emails": []})
    assert edited.status_code == 200, edited.text
    local = synced.path_of("uid-2")
    local.write_text(local.read_text().replace("FN:Person 2", "FN:Person Two Edited Locally"), newline="")
    synced.path_of("uid-4").unlink()
    # the same contact changed on both sides: the pair's rule ("a wins") keeps the local one
    conflicted = synced.path_of("uid-0")
    conflicted.write_text(conflicted.read_text().replace("FN:Person 0", "FN:Local Side Of Conflict"), newline="")
    other = next(item for item in user.http.get("/contacts").json()["contacts"] if item["uid"] == "uid-0")
    assert user.http.put(f"/contacts/{other['id']}", json={"name": "Server Side Of Conflict",
                                                          "phones": ["+4917000000"]}).status_code == 200

    synced.sync()

    local_files = synced.files()
    assert sorted(local_files) == ["uid-0", "uid-1", "uid-2", "uid-phone", "uid-photo"]
    assert "FN:Person One Edited On Web" in local_files["uid-1"]
    assert "FN:Added On Phone" in local_files["uid-phone"]
    assert "FN:Local Side Of Conflict" in local_files["uid-0"]
    assert names(user) == ["Added On Phone", "Local Side Of Conflict", "Person One Edited On Web",
                           "Person Two Edited Locally", "Photo Person"]
    synced.sync()  # and a sync with nothing to do changes nothing
    assert sorted(synced.files()) == sorted(local_files)


def test_without_a_rule_vdirsyncer_reports_the_conflict_and_overwrites_nothing(server_process, user, tmp_path):
    url = f"{server_process.url}{book_path(user.email)}"
    client = Vdirsyncer(tmp_path, url, user.email, user.key, resolution="null")
    (client.vdir / "c.vcf").write_text(vcard("uid-c", "Common Person"), newline="")
    client.sync()
    client.path_of("uid-c").write_text(vcard("uid-c", "Changed Here"), newline="")
    contact = user.http.get("/contacts").json()["contacts"][0]
    user.http.put(f"/contacts/{contact['id']}", json={"name": "Changed There", "phones": ["+4930123456"]})
    done = client.run("sync")
    assert done.returncode != 0 and "conflict" in (done.stdout + done.stderr).lower()
    assert names(user) == ["Changed There"]
    assert "FN:Changed Here" in client.files()["uid-c"]


def _href(client, path: str, uid: str) -> str:
    """The name vdirsyncer gave the contact with this UID on the server."""
    from contacts.dav_helpers import propfind, responses

    for href in responses(propfind(client, path, "<d:getetag/>", depth="1")):
        if href != path and uid in client.get(href).text:
            return href.rsplit("/", 1)[1]
    raise AssertionError(f"no contact {uid} on the server")

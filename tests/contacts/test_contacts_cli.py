"""`phonecloud contacts import`, `export` and `books`, run as a person runs them, against a server process: .vcf
files of every dialect imported with what each held, a second run adding nothing, every file that cannot be
imported named with why (the line, for one the server cannot read) while the others still go, the
connection's failures said once, and an export in vCard 4.0 or 3.0 that brings the same contacts into
another account (names, numbers, emails, organisations, photos bit for bit)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_runner import client_env  # noqa: F401  (a fixture)
from cli_runner import phonecloud
from conftest import User, free_port
from contacts.vcard_samples import EXPECTED, all_dialects, photo_jpeg, plain_30
from phonecloud.client.contacts import CardCounter, looks_like_vcard

FILES = all_dialects()
CARDS = sum(len(cards) for cards in EXPECTED.values())
# A hostile file: a card that holds nested cards deeper than any program writes, from its line 18 on.
HOSTILE = (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Good One\r\nN:One;Good;;;\r\nEND:VCARD\r\n"
           b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:A;;;;\r\n" + b"AGENT:\r\nBEGIN:VCARD\r\nVERSION:2.1\r\nN:B;;;;\r\n" * 5
           + b"END:VCARD\r\n" * 6)


def connection(server, user: User) -> list[str]:
    return ["--server", server.url, "--key", user.key]


def write_files(folder: Path, files: dict[str, bytes]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / f"{name}.vcf").write_bytes(data)
    return [str(folder / f"{name}.vcf") for name in files]


def contacts_view(user: User) -> list[tuple]:
    """Every contact of the account as it must come back: name, numbers, emails, organisation and the photo's
    bytes (None without one), in a stable order."""
    listed = user.http.get("/contacts", params={"limit": 1000}).json()
    assert listed["total"] == len(listed["contacts"])
    view = []
    for contact in listed["contacts"]:
        photo = None
        if contact["has_photo"]:
            answer = user.http.get(f"/contacts/{contact['id']}/photo")
            assert answer.status_code == 200, answer.text
            photo = answer.content
        view.append((contact["name"], tuple(contact["phones"]), tuple(contact["emails"]), contact["organisation"],
                     photo))
    return sorted(view, key=repr)


def expected_view(names: list[str] | None = None) -> list[tuple]:
    return sorted(((card.name, card.phones, card.emails, card.organisation, card.photo)
                   for name, cards in EXPECTED.items() if names is None or name in names for card in cards), key=repr)


def test_every_dialect_is_imported_with_json_and_a_second_run_adds_nothing(server, user, client_env, tmp_path):
    paths = write_files(tmp_path / "vcf", FILES)
    run = phonecloud(client_env, "contacts", "import", *paths, "--json", *connection(server, user))
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("\n") == 1  # with --json, stdout is the summary alone
    assert run.summary == {"files": len(FILES), "cards": CARDS, "imported": CARDS, "updated": 0, "duplicates": 0,
                           "failed": 0}
    assert f"{paths[0]}: 3 contacts: imported 3, updated 0, already there 0" in run.stderr
    assert "outlook_21.vcf: 1 contact: imported 1, updated 0, already there 0" in run.stderr
    assert contacts_view(user) == expected_view()

    again = phonecloud(client_env, "contacts", "import", *paths, *connection(server, user))
    assert again.returncode == 0, again.stderr
    assert f"{paths[0]}: 3 contacts: imported 0, updated 0, already there 3" in again.stdout
    assert contacts_view(user) == expected_view()
    books = phonecloud(client_env, "contacts", "books", "--json", *connection(server, user))
    assert [(book["name"], book["contacts"]) for book in json.loads(books.stdout)] == [("Contacts", CARDS)]


def test_each_file_that_cannot_be_imported_is_named_with_why_and_the_others_still_go(server, user, client_env,
                                                                                     tmp_path):
    good, hostile = write_files(tmp_path, {"plain_30": plain_30(), "hostile": HOSTILE})
    photo = tmp_path / "photo.vcf"
    photo.write_bytes(photo_jpeg())
    (tmp_path / "folder.vcf").mkdir()
    missing = tmp_path / "missing.vcf"
    run = phonecloud(client_env, "contacts", "import", hostile, str(missing), str(tmp_path / "folder.vcf"), str(photo),
                     good, "--json", *connection(server, user))
    assert run.returncode == 1
    assert run.summary == {"files": 5, "cards": 3, "imported": 3, "updated": 0, "duplicates": 0, "failed": 4}
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: {hostile}: refused by the server: not a readable vCard file: line 18: vCards nested more than 3 deep",
        f"error: {missing}: no such file",
        f"error: {tmp_path / 'folder.vcf'}: a folder, not a .vcf file (name the files in it: FOLDER/*.vcf)",
        f"error: {photo}: not a vCard file (no BEGIN:VCARD in its first {len(photo_jpeg())} bytes)"]
    assert "Traceback" not in run.stderr
    assert contacts_view(user) == expected_view(["plain_30"])  # nothing of the hostile file, not even its good card


def test_a_wrong_key_or_an_unreachable_server_is_said_once_for_all_files(server, user, client_env, tmp_path):
    paths = write_files(tmp_path, {"plain_30": plain_30(), "plain_30b": plain_30()})
    wrong = phonecloud(client_env, "contacts", "import", *paths, "--server", server.url, "--key", "pck_wrong")
    assert wrong.returncode == 1
    assert wrong.stderr.strip().splitlines() == [
        f"error: {server.url} refused the API key (invalid, expired or revoked credentials); check it, or make a new "
        "one with `phonecloud admin create-key`"]
    nowhere = f"http://127.0.0.1:{free_port()}"
    unreachable = phonecloud(client_env, "contacts", "import", *paths, "--server", nowhere, "--key", user.key)
    assert unreachable.returncode == 1
    (line,) = unreachable.stderr.strip().splitlines()
    assert line.startswith("error: network error: ") and line.endswith(f"({nowhere}/api/v1/me)")
    out = tmp_path / "out.vcf"
    exported = phonecloud(client_env, "contacts", "export", "--out", str(out), "--server", server.url,
                          "--key", "pck_wrong")
    assert exported.returncode == 1 and "refused the API key" in exported.stderr
    assert not list(tmp_path.glob("out.vcf*"))
    assert user.http.get("/contacts").json()["total"] == 0


@pytest.mark.parametrize("version", ["4.0", "3.0"])
def test_an_export_imported_into_another_account_gives_the_same_contacts(server, user, accounts, client_env,
                                                                         tmp_path, version):
    paths = write_files(tmp_path / "vcf", FILES)
    assert phonecloud(client_env, "contacts", "import", *paths, *connection(server, user)).returncode == 0
    out = tmp_path / "export" / "all.vcf"  # a folder made for it
    run = phonecloud(client_env, "contacts", "export", "--out", str(out), "--version", version, "--json",
                     *connection(server, user))
    assert run.returncode == 0, run.stderr
    assert run.summary == {"file": str(out), "contacts": CARDS, "bytes": out.stat().st_size, "version": version}
    assert f"wrote {CARDS} contacts to {out} (vCard {version}, " in run.stderr
    text = out.read_bytes().decode("utf-8")
    assert text.count(f"VERSION:{version}\r\n") == CARDS and not list(out.parent.glob("*.partial"))

    other = accounts.create()
    moved = phonecloud(client_env, "contacts", "import", str(out), "--json", *connection(server, other))
    assert moved.returncode == 0, moved.stderr
    assert moved.summary["imported"] == CARDS
    assert contacts_view(other) == contacts_view(user) == expected_view()


def test_an_export_of_one_book_into_a_folder_takes_the_books_name(server, user, client_env, tmp_path):
    assert user.http.get("/contacts/books").status_code == 200  # the default book, made on first use, comes first
    made = user.http.post("/contacts/books", json={"name": "Work", "slug": "work"})
    assert made.status_code == 201, made.text
    write_files(tmp_path, {"gmail_30": FILES["gmail_30"], "plain_30": plain_30()})
    into_work = phonecloud(client_env, "contacts", "import", str(tmp_path / "gmail_30.vcf"), "--book", "Work",
                           *connection(server, user))
    into_default = phonecloud(client_env, "contacts", "import", str(tmp_path / "plain_30.vcf"),
                              *connection(server, user))
    assert into_work.returncode == into_default.returncode == 0, into_work.stderr + into_default.stderr
    folder = tmp_path / "out"
    folder.mkdir()
    run = phonecloud(client_env, "contacts", "export", "--out", str(folder), "--book", str(made.json()["id"]),
                     *connection(server, user))
    assert run.returncode == 0, run.stderr
    assert f"wrote 2 contacts to {folder / 'work.vcf'}" in run.stdout
    assert [path.name for path in folder.iterdir()] == ["work.vcf"]
    unknown = phonecloud(client_env, "contacts", "export", "--out", str(folder / "x.vcf"), "--book", "Home",
                         *connection(server, user))
    assert unknown.returncode == 1 and "no address book 'Home'; yours: " in unknown.stderr
    assert "(work: Work)" in unknown.stderr and not (folder / "x.vcf").exists()


# -- an export cut short -------------------------------------------------------------------------------------


class CutExport:
    """A stand-in server whose export stops inside a card: with a Content-Length it does not reach, or closed
    without one (as a proxy may pass a cut stream on)."""

    def __init__(self, with_length: bool):
        from client.loopback import Loopback, QuietHandler

        body = plain_30()
        cut = body[:len(body) // 2]

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if self.path == "/api/v1/me":
                    self.answer(200, {"Content-Type": "application/json"}, b'{"email": "a@example.org"}')
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/vcard; charset=utf-8")
                if with_length:
                    self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(cut)
                self.close_connection = True

        self.loopback = Loopback(Handler)

    def __enter__(self):
        self.loopback.__enter__()
        return self.loopback

    def __exit__(self, *exc_info):
        self.loopback.__exit__(*exc_info)


@pytest.mark.parametrize("with_length", [True, False], ids=["short-of-its-length", "closed-inside-a-card"])
def test_an_export_cut_short_leaves_no_file(client_env, tmp_path, with_length):
    out = tmp_path / "contacts.vcf"
    with CutExport(with_length) as standin:
        run = phonecloud(client_env, "contacts", "export", "--out", str(out), "--server", standin.url,
                         "--key", "pck_any")
    assert run.returncode == 1
    assert run.stderr.startswith("error: ") and "Traceback" not in run.stderr
    assert not list(tmp_path.glob("contacts.vcf*"))


class GivingUpProxy:
    """A stand-in for a proxy in front of a server still importing: it takes the whole file, then answers 504
    (what nginx says after its 60 s). Counts the files sent."""

    def __init__(self):
        from client.loopback import Loopback, QuietHandler

        self.sent: list[int] = []
        proxy = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                self.answer(200, {"Content-Type": "application/json"}, b'{"email": "a@example.org"}')

            def do_POST(self) -> None:
                proxy.sent.append(len(self.rfile.read(int(self.headers["Content-Length"]))))
                self.answer(504, {"Content-Type": "text/html"}, b"<html>504 Gateway Time-out</html>")

        self.loopback = Loopback(Handler)

    def __enter__(self):
        self.loopback.__enter__()
        return self

    def __exit__(self, *exc_info):
        self.loopback.__exit__(*exc_info)


def test_a_file_is_sent_once_even_when_the_answer_does_not_come(client_env, tmp_path):
    """A timeout or a proxy's 504 after the file went is no reason to send it again: the server may be importing
    it still, and a second copy would only race the first. The person is told to run the command later."""
    (path,) = write_files(tmp_path, {"plain_30": plain_30()})
    with GivingUpProxy() as proxy:
        run = phonecloud(client_env, "contacts", "import", path, "--server", proxy.loopback.url, "--key", "pck_any")
    assert run.returncode == 1
    assert proxy.sent == [len(plain_30())]
    assert run.stderr.strip() == (f"error: {path}: HTTP 504: <html>504 Gateway Time-out</html>; the server may still "
                                  "be importing it: run the command again later (what it has imported is then "
                                  "counted as already there)")


# -- the client's own reading --------------------------------------------------------------------------------


def test_cards_are_counted_wherever_the_stream_is_cut():
    data = b"".join(FILES.values()).replace(b"\x1a", b"")
    expected = sum(line.strip().upper() == b"BEGIN:VCARD" for line in data.replace(b"\r", b"\n").split(b"\n"))
    for size in (1, 2, 7, 11, 12, 13, 4096):
        counter = CardCounter()
        for start in range(0, len(data), size):
            counter.update(memoryview(data)[start:start + size])
        assert counter.cards == expected, size


def test_what_is_plainly_no_vcard_file_is_told_before_it_is_sent():
    assert all(looks_like_vcard(data[:65536]) for data in FILES.values())
    assert looks_like_vcard("\ufeffBEGIN:VCARD\r\nVERSION:3.0\r\n".encode("utf-16-le")[:-1])
    assert looks_like_vcard("BEGIN:VCARD\r\n".encode("utf-16-be"))  # no BOM: sent, for the server to say so
    assert looks_like_vcard(b"\xfe\xff" + "BEGIN:VCARD\r\n".encode("utf-16-be"))
    assert not looks_like_vcard(photo_jpeg()) and not looks_like_vcard(b"just some notes\n")

"""The sync client end to end: `phonecloud sync` as a subprocess against a real server on loopback."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import signal
import stat
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from cli_runner import Run, phonecloud
from conftest import PHONECLOUD, SHARED_CORPUS, Accounts, Server, User, upload
from media_fixtures import ACCEPTED, REFUSED, ftyp, image_bytes, jpeg

from .loopback import Loopback, QuietHandler


# -- running the client ------------------------------------------------------------------------------------


def sync(env: dict[str, str], url: str, user: User, *args: str) -> Run:
    return phonecloud(env, "sync", *args, "--server", url, "--key", user.key, "--json")


def assert_counts(run: Run, **expected: int) -> None:
    summary = run.summary
    assert {name: summary[name] for name in expected} == expected, f"{summary}\nstderr:\n{run.stderr}"


# -- files and the server's view of them ---------------------------------------------------------------------


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def distinct_photos(count: int) -> list[bytes]:
    photos = [image_bytes("JPEG", seed, size=(24, 18)) for seed in range(count)]
    assert len({sha1(photo) for photo in photos}) == count
    return photos


def server_assets(user: User) -> list[dict]:
    assets, cursor = [], None
    while True:
        page = user.http.get("/assets", params={"limit": 1000, **({"cursor": cursor} if cursor else {})})
        page.raise_for_status()
        assets += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            return assets


def server_sha1s(user: User) -> Counter:
    return Counter(asset["sha1"] for asset in server_assets(user))


def assert_originals_identical(user: User, local: dict[str, bytes]) -> None:
    """Every asset on the server is one of `local` (sha1 → bytes), once, and downloads bit-identical."""
    assets = server_assets(user)
    assert Counter(asset["sha1"] for asset in assets) == Counter(set(local))
    for asset in assets:
        original = user.http.get(f"/assets/{asset['id']}/original")
        assert original.status_code == 200
        assert original.content == local[asset["sha1"]], asset


def wait_for(condition, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"gave up after {timeout} s waiting for {what}")


# -- a first backup of a phone-like folder tree -------------------------------------------------------------

REFUSED_NAMES = {"text": "notes.txt", "pdf": "report.pdf", "zip": "backup.zip", "elf": "tool",
                 "html-named-jpg": "page.jpg", "ftyp-unknown-brand": "odd.mp4"}


def phone_tree(root: Path) -> tuple[dict[Path, bytes], dict[Path, bytes]]:
    """(media files, files that must not be uploaded), written below root."""
    media = {root / ("DCIM/Camera" if kind == "photo" else "Movies") / f"IMG_{name}.{name.split('-')[0]}": make()
             for name, (make, kind, _mime) in ACCEPTED.items()}
    ignored = {root / "Documents" / filename: REFUSED[name]() for name, filename in REFUSED_NAMES.items()}
    hidden = [root / "DCIM" / ".thumbnails" / "x.jpg", root / "DCIM" / "Camera" / ".trashed-1-IMG.jpg",
              root / ".pending-IMG.jpg", root / ".hidden" / "deep" / "IMG.jpg"]
    ignored |= {path: image_bytes("JPEG", 1000 + number, size=(30, 30)) for number, path in enumerate(hidden)}
    for path, data in (media | ignored).items():
        write(path, data)
    return media, ignored


def test_first_sync_uploads_every_photo_and_video_and_nothing_else(server, user, client_env, tmp_path):
    media, ignored = phone_tree(tmp_path / "phone")

    run = sync(client_env, server.url, user, str(tmp_path / "phone"))

    assert run.returncode == 0, run.stderr
    assert_counts(run, uploaded=len(media), duplicates=0, skipped=len(REFUSED_NAMES), failed=0,
                  bytes=sum(len(data) for data in media.values()))
    assert_originals_identical(user, {sha1(data): data for data in media.values()})
    on_server = server_sha1s(user)
    assert not [path for path, data in ignored.items() if sha1(data) in on_server]
    names = {asset["sha1"]: asset["original_filename"] for asset in server_assets(user)}
    assert {names[sha1(data)] for data in media.values()} == {path.name for path in media}


def test_files_are_picked_by_content_not_by_name(server, user, client_env, tmp_path):
    photo = write(tmp_path / "phone" / "photo.txt", jpeg(7)).read_bytes()
    write(tmp_path / "phone" / "x.jpg", b"I am a text file with a photo's name\n")

    run = sync(client_env, server.url, user, str(tmp_path / "phone"))

    assert run.returncode == 0, run.stderr
    assert_counts(run, uploaded=1, skipped=1, failed=0)
    [asset] = server_assets(user)
    assert (asset["sha1"], asset["original_filename"], asset["mime_type"]) == (sha1(photo), "photo.txt", "image/jpeg")


def test_unusual_but_valid_file_names_are_kept(server, user, client_env, tmp_path):
    name = "photo d'été #1 & co? 100% 🌞.jpg"
    photo = write(tmp_path / "phone" / "Été 🌞" / name, jpeg(61)).read_bytes()

    run = sync(client_env, server.url, user, str(tmp_path / "phone"))

    assert run.returncode == 0, run.stderr
    assert [(a["sha1"], a["original_filename"]) for a in server_assets(user)] == [(sha1(photo), name)]


def test_a_very_long_path_does_not_stop_the_backup(server, user, client_env, tmp_path):
    deep = write(tmp_path.joinpath("phone", *(letter * 200 for letter in "abcde"), "IMG_1.jpg"), jpeg(62))
    write(tmp_path / "phone" / "IMG_2.jpg", jpeg(63))
    assert len(str(deep)) > 1000

    run = sync(client_env, server.url, user, str(tmp_path / "phone"))

    assert run.returncode == 0, run.stderr
    assert_counts(run, uploaded=2, failed=0)


def test_names_that_are_not_utf8_do_not_stop_the_backup(server, user, client_env, tmp_path):
    write(tmp_path / "phone" / "Camera" / "IMG_1.jpg", jpeg(64))
    try:  # Latin-1, as old cameras and zip files wrote them
        write(tmp_path / "phone" / os.fsdecode(b"F\xeate") / os.fsdecode(b"IMG_\xe9t\xe9.jpg"), jpeg(65))
    except (OSError, UnicodeError):
        pytest.skip("this file system only takes UTF-8 names")

    run = sync(client_env, server.url, user, str(tmp_path / "phone"), "--album-from-folder")

    assert run.returncode == 0, run.stderr
    assert_counts(run, uploaded=2, failed=0)
    assert {asset["original_filename"][:4] for asset in server_assets(user)} == {"IMG_"}
    assert sorted(title[:1] for title in albums_by_title(user)) == ["C", "F"]
    again = sync(client_env, server.url, user, str(tmp_path / "phone"), "--album-from-folder")
    assert_counts(again, uploaded=0, unchanged=2, failed=0)


# -- later runs ----------------------------------------------------------------------------------------------

REQUEST_LINE = re.compile(r'"(GET|POST|PUT|PATCH|DELETE|HEAD) (\S+) HTTP/1\.[01]" \d{3}')


def requests_logged(server: Server, since: int) -> list[str]:
    """The requests in the server's access log after byte offset `since`, up to a marker request made now."""
    marker = uuid.uuid4().hex
    httpx.get(f"{server.url}/api/v1/health", params={"marker": marker}, timeout=10)
    wait_for(lambda: marker in server.log_text()[since:], 10, "the marker request in the access log")
    text = server.log_text()[since:]
    lines = text[:text.index(marker)].splitlines()
    return [f"{m.group(1)} {m.group(2)}" for line in lines if (m := REQUEST_LINE.search(line))]


def test_second_run_uploads_nothing_in_a_single_request(tmp_path, client_env):
    logged = Server(tmp_path / "data", access_log=True).start()
    accounts = Accounts(logged)
    try:
        user = accounts.create()
        phone_tree(tmp_path / "phone")
        assert sync(client_env, logged.url, user, str(tmp_path / "phone")).returncode == 0
        before = len(logged.log_text())

        again = sync(client_env, logged.url, user, str(tmp_path / "phone"))

        assert again.returncode == 0, again.stderr
        assert_counts(again, uploaded=0, duplicates=0, failed=0, bytes=0, unchanged=len(ACCEPTED))
        assert requests_logged(logged, before) == ["GET /api/v1/me"]
    finally:
        accounts.close()
        logged.stop()


def test_a_modified_file_is_uploaded_again(server, user, client_env, tmp_path):
    first = write(tmp_path / "phone" / "IMG_1.jpg", jpeg(1))
    write(tmp_path / "phone" / "IMG_2.jpg", jpeg(2))
    assert sync(client_env, server.url, user, str(tmp_path / "phone")).returncode == 0
    edited = write(first, image_bytes("JPEG", 3, size=(40, 30))).read_bytes()
    later = first.stat().st_mtime_ns + 10_000_000_000
    os.utime(first, ns=(later, later))

    run = sync(client_env, server.url, user, str(tmp_path / "phone"))

    assert run.returncode == 0, run.stderr
    assert_counts(run, uploaded=1, unchanged=1, duplicates=0, failed=0, bytes=len(edited))
    assert set(server_sha1s(user)) == {sha1(jpeg(1)), sha1(jpeg(2)), sha1(edited)}


def test_same_bytes_in_two_folders_are_stored_once(server, user, client_env, tmp_path):
    photo = jpeg(11)
    write(tmp_path / "phone" / "DCIM" / "IMG_1.jpg", photo)
    write(tmp_path / "phone" / "WhatsApp" / "IMG-WA0001.jpg", photo)

    run = sync(client_env, server.url, user, str(tmp_path / "phone"))

    assert run.returncode == 0, run.stderr
    assert_counts(run, uploaded=1, duplicates=1, failed=0, bytes=len(photo))
    assert server_sha1s(user) == Counter({sha1(photo): 1})


def test_bytes_already_on_the_server_are_a_duplicate_not_an_upload(server, user, client_env, tmp_path):
    photo = jpeg(12)
    assert upload(user, photo, filename="from-the-web.jpg").status_code == 201
    write(tmp_path / "phone" / "IMG_1.jpg", photo)

    run = sync(client_env, server.url, user, str(tmp_path / "phone"))

    assert run.returncode == 0, run.stderr
    assert_counts(run, uploaded=0, duplicates=1, failed=0, bytes=0)
    assert [asset["original_filename"] for asset in server_assets(user)] == ["from-the-web.jpg"]


# -- where the server and key come from ----------------------------------------------------------------------


def test_server_and_key_from_the_environment(server, user, client_env, tmp_path):
    write(tmp_path / "phone" / "IMG_1.jpg", jpeg(21))
    env = {**client_env, "PHONECLOUD_SERVER": server.url, "PHONECLOUD_KEY": user.key}

    run = phonecloud(env, "sync", str(tmp_path / "phone"), "--json")

    assert run.returncode == 0, run.stderr
    assert_counts(run, uploaded=1, failed=0)


def test_options_win_over_the_environment(server, user, client_env, tmp_path):
    write(tmp_path / "phone" / "IMG_1.jpg", jpeg(22))
    env = {**client_env, "PHONECLOUD_SERVER": "http://127.0.0.1:9", "PHONECLOUD_KEY": "pck_not-a-key"}

    run = sync(env, server.url, user, str(tmp_path / "phone"))

    assert run.returncode == 0, run.stderr
    assert_counts(run, uploaded=1, failed=0)


def test_login_saves_a_private_file_that_sync_then_uses(server, user, client_env, tmp_path):
    write(tmp_path / "phone" / "IMG_1.jpg", jpeg(23))

    login = phonecloud(client_env, "login", "--server", server.url, "--key", user.key)

    assert login.returncode == 0, login.stderr
    assert user.email in login.stdout
    saved = Path(client_env["PHONECLOUD_CLIENT_DIR"]) / "login.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    run = phonecloud(client_env, "sync", str(tmp_path / "phone"), "--json")
    assert run.returncode == 0, run.stderr
    assert_counts(run, uploaded=1, failed=0)


def test_login_with_a_wrong_key_fails_and_saves_nothing(server, client_env):
    login = phonecloud(client_env, "login", "--server", server.url, "--key", "pck_wrong")

    assert login.returncode != 0
    assert "login failed" in login.stderr and "credentials" in login.stderr, login.stderr
    assert not (Path(client_env["PHONECLOUD_CLIENT_DIR"]) / "login.json").exists()


def test_a_server_url_without_http_is_refused_with_the_reason(server, user, client_env, tmp_path):
    (tmp_path / "phone").mkdir()

    run = phonecloud(client_env, "sync", str(tmp_path / "phone"), "--server", server.url.removeprefix("http://"),
                     "--key", user.key)

    assert run.returncode != 0
    assert "'http://' or 'https://'" in run.stderr, run.stderr


def test_sync_with_a_wrong_key_fails_with_a_clear_message(server, client_env, tmp_path):
    write(tmp_path / "phone" / "IMG_1.jpg", jpeg(24))

    run = phonecloud(client_env, "sync", str(tmp_path / "phone"), "--server", server.url, "--key", "pck_wrong")

    assert run.returncode != 0
    assert re.search(r"^error: .*(invalid|revoked).*(credentials|key)", run.stderr, re.M), run.stderr
    assert "Traceback" not in run.stderr


def test_sync_without_server_or_key_exits_2_and_says_how_to_give_them(client_env, tmp_path):
    (tmp_path / "phone").mkdir()

    run = phonecloud(client_env, "sync", str(tmp_path / "phone"))

    assert run.returncode == 2
    for hint in ("--server", "--key", "PHONECLOUD_SERVER", "PHONECLOUD_KEY", "phonecloud login"):
        assert hint in run.stderr, run.stderr


# -- albums, quota, parallel transfers, retries -------------------------------------------------------------


def albums_by_title(user: User) -> dict[str, set[str]]:
    """Album title → the sha1s of its assets; fails if two albums share a title."""
    albums = user.http.get("/albums").json()
    titles = [album["title"] for album in albums]
    assert len(titles) == len(set(titles)), titles
    members = {}
    for album in albums:
        page = user.http.get(f"/albums/{album['id']}/assets", params={"limit": 1000}).json()
        members[album["title"]] = {asset["sha1"] for asset in page["items"]}
        assert album["asset_count"] == len(page["items"])
    return members


def test_album_from_folder_files_each_photo_into_its_folders_album_once(server, user, client_env, tmp_path):
    holidays = [jpeg(31), image_bytes("PNG", 32)]
    family = image_bytes("GIF", 33)
    write(tmp_path / "phone" / "Holidays 2023" / "IMG_1.jpg", holidays[0])
    write(tmp_path / "phone" / "Holidays 2023" / "IMG_2.png", holidays[1])
    write(tmp_path / "phone" / "Family" / "IMG_3.gif", family)
    write(tmp_path / "phone" / "Family" / "copy of IMG_1.jpg", holidays[0])
    expected = {"Holidays 2023": {sha1(holidays[0]), sha1(holidays[1])},
                "Family": {sha1(family), sha1(holidays[0])}}

    first = sync(client_env, server.url, user, str(tmp_path / "phone"), "--album-from-folder")
    assert first.returncode == 0, first.stderr
    assert_counts(first, uploaded=3, duplicates=1, failed=0)
    assert albums_by_title(user) == expected

    second = sync(client_env, server.url, user, str(tmp_path / "phone"), "--album-from-folder")
    assert second.returncode == 0, second.stderr
    assert_counts(second, uploaded=0, unchanged=4, failed=0)
    assert albums_by_title(user) == expected

    later = write(tmp_path / "phone" / "Holidays 2023" / "IMG_4.jpg", jpeg(34)).read_bytes()
    third = sync(client_env, server.url, user, str(tmp_path / "phone"), "--album-from-folder")
    assert third.returncode == 0, third.stderr
    assert_counts(third, uploaded=1, unchanged=4, failed=0)
    assert albums_by_title(user) == {**expected, "Holidays 2023": expected["Holidays 2023"] | {sha1(later)}}


def test_quota_stops_uploads_with_the_reason_and_later_runs_retry(server, accounts, client_env, tmp_path):
    videos = [write(tmp_path / "phone" / f"VID_{n}.mp4", ftyp(b"isom", b"mp42", body=2000)).read_bytes()
              for n in range(5)]
    size = len(videos[0])
    user = accounts.create(quota_bytes=2 * size + size // 2)  # room for two of the five

    run = sync(client_env, server.url, user, str(tmp_path / "phone"))

    assert run.returncode != 0
    assert_counts(run, uploaded=2, failed=3, bytes=2 * size)
    assert len(re.findall(r"^failed: .*VID_\d\.mp4: .*quota exceeded", run.stderr, re.M)) == 3, run.stderr
    me = user.http.get("/me").json()
    assert me["used_bytes"] == 2 * size <= me["quota_bytes"]

    accounts.services.accounts.set_quota(user.email, 10 * size)
    again = sync(client_env, server.url, user, str(tmp_path / "phone"))
    assert again.returncode == 0, again.stderr
    assert_counts(again, uploaded=3, unchanged=2, failed=0)
    assert server_sha1s(user) == Counter({sha1(video): 1 for video in videos})


def test_many_files_with_eight_transfers_are_each_uploaded_once(server, user, client_env, tmp_path):
    photos = distinct_photos(60)
    for number, photo in enumerate(photos):
        write(tmp_path / "phone" / f"folder{number % 4}" / f"IMG_{number:04}.jpg", photo)

    run = sync(client_env, server.url, user, str(tmp_path / "phone"), "--transfers", "8")

    assert run.returncode == 0, run.stderr
    assert_counts(run, uploaded=60, duplicates=0, failed=0, bytes=sum(map(len, photos)))
    assert server_sha1s(user) == Counter({sha1(photo): 1 for photo in photos})


class FlakyTestProxy(Loopback):
    """TEST ONLY: a reverse proxy on loopback that forwards everything to the real server, except that it
    answers `status` to `failures` requests whose method and path match, after letting `skip` of them through."""

    _HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "host", "content-length", "content-encoding"}

    def __init__(self, upstream: str, method: str, path: str, failures: int, status: int = 503, skip: int = 0):
        self.matched = self.refused = 0
        self._rule = (method, re.compile(path), skip, failures, status)
        self._lock = threading.Lock()
        self._upstream = httpx.Client(base_url=upstream, timeout=120)
        super().__init__(self._handler())

    def close(self) -> None:
        super().close()
        self._upstream.close()

    def _refusal(self, method: str, path: str) -> int | None:
        wanted_method, wanted_path, skip, failures, status = self._rule
        with self._lock:
            if method != wanted_method or not wanted_path.fullmatch(urlsplit(path).path):
                return None
            self.matched += 1
            if skip < self.matched <= skip + failures:
                self.refused += 1
                return status
            return None

    def _handler(self):
        proxy = self

        class Handler(QuietHandler):
            def forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if status := proxy._refusal(self.command, self.path):
                    self.answer(status, {"Content-Type": "application/json"},
                                b'{"error": "test_proxy", "message": "refused by the test proxy"}')
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in proxy._HOP_HEADERS}
                reply = proxy._upstream.request(self.command, self.path, headers=headers, content=body)
                self.answer(reply.status_code,
                            {k: v for k, v in reply.headers.items() if k.lower() not in proxy._HOP_HEADERS},
                            reply.content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = forward

        return Handler


def test_transient_server_errors_are_retried(server, user, client_env, tmp_path):
    photos = distinct_photos(3)
    for number, photo in enumerate(photos):
        write(tmp_path / "phone" / f"IMG_{number}.jpg", photo)

    with FlakyTestProxy(server.url, "POST", "/api/v1/assets", failures=3, status=503) as proxy:
        run = sync(client_env, proxy.url, user, str(tmp_path / "phone"))

    assert proxy.refused == 3
    assert run.returncode == 0, run.stderr
    assert_counts(run, uploaded=3, failed=0)
    assert server_sha1s(user) == Counter({sha1(photo): 1 for photo in photos})


def test_albums_not_updated_are_reported_and_filed_on_the_next_run(server, user, client_env, tmp_path):
    photo = write(tmp_path / "phone" / "Garden" / "IMG_1.jpg", jpeg(51)).read_bytes()

    with FlakyTestProxy(server.url, "PUT", "/api/v1/albums/[^/]+/assets", failures=1, status=403) as proxy:
        first = sync(client_env, proxy.url, user, str(tmp_path / "phone"), "--album-from-folder")
        assert proxy.refused == 1
        assert first.returncode != 0
        assert_counts(first, uploaded=1, failed=1)
        assert "failed: (albums): albums not updated: refused by the test proxy" in first.stderr.splitlines()

        second = sync(client_env, proxy.url, user, str(tmp_path / "phone"), "--album-from-folder")

    assert second.returncode == 0, second.stderr
    assert_counts(second, uploaded=0, unchanged=1, failed=0)
    assert albums_by_title(user) == {"Garden": {sha1(photo)}}


# -- watching, output --------------------------------------------------------------------------------------


def stderr_lines(process: subprocess.Popen) -> queue.Queue:
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in process.stderr:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def drain(lines: queue.Queue) -> str:
    text = ""
    while not lines.empty():
        text += lines.get()
    return text


def wait_for_run_summary(lines: queue.Queue, timeout: float = 60) -> str:
    """The next end-of-run line ("uploaded N, duplicates N, ...") the client writes to stderr."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if re.match(r"uploaded \d+, duplicates", line):
            return line
    raise AssertionError(f"no end-of-run line within {timeout} s")


def start_watching(env: dict[str, str], url: str, user: User, folder: Path) -> subprocess.Popen:
    return subprocess.Popen(
        # A short quiet spell (default 2 s): the test writes each file in one step.
        [PHONECLOUD, "sync", str(folder), "--watch", "--quiet", "0.3", "--json", "--server", url, "--key", user.key],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def stop_watching(process: subprocess.Popen, stop_signal: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(stop_signal)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"still running 30 s after {signal.Signals(stop_signal).name}") from None


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_watch_uploads_new_photos_until_stopped(server, user, client_env, tmp_path, stop_signal):
    first = write(tmp_path / "phone" / "IMG_1.jpg", jpeg(41)).read_bytes()
    process = start_watching(client_env, server.url, user, tmp_path / "phone")
    try:
        lines = stderr_lines(process)
        assert wait_for_run_summary(lines).startswith("uploaded 1,")
        assert set(server_sha1s(user)) == {sha1(first)}

        new = write(tmp_path / "phone" / "Camera" / "IMG_2.jpg", jpeg(42)).read_bytes()
        wait_for(lambda: sha1(new) in server_sha1s(user), 30, "the new photo on the server", interval=0.5)
        assert wait_for_run_summary(lines).startswith("uploaded 1,")
    finally:
        stop_watching(process, stop_signal)
    assert process.returncode == 0
    assert json.loads(process.stdout.read().strip().splitlines()[-1])["uploaded"] == 2


def test_watch_survives_a_failed_run(server, user, client_env, tmp_path):
    write(tmp_path / "phone" / "IMG_1.jpg", jpeg(43))
    with FlakyTestProxy(server.url, "GET", "/api/v1/me", skip=1, failures=1, status=403) as proxy:
        process = start_watching(client_env, proxy.url, user, tmp_path / "phone")
        try:
            lines = stderr_lines(process)
            wait_for_run_summary(lines)
            write(tmp_path / "phone" / "IMG_2.jpg", jpeg(44))
            wait_for(lambda: proxy.refused == 1, 30, "the second run to be refused")
            later = write(tmp_path / "phone" / "IMG_3.jpg", jpeg(45)).read_bytes()

            # The run after the failed one uploads both files in parallel, in either order.
            wait_for(lambda: process.poll() is not None or {sha1(jpeg(44)), sha1(later)} <= set(server_sha1s(user)),
                     30, "the watcher to exit or to upload the photos added around the failed run", interval=0.5)

            assert process.poll() is None, f"the watcher exited: {drain(lines)}"
            assert set(server_sha1s(user)) == {sha1(jpeg(43)), sha1(jpeg(44)), sha1(later)}
        finally:
            stop_watching(process)


def test_output_without_a_terminal_is_plain_lines(server, user, client_env, tmp_path):
    photos = distinct_photos(3)
    paths = [write(tmp_path / "phone" / f"IMG_{n}.jpg", photo) for n, photo in enumerate(photos)]
    write(tmp_path / "phone" / "notes.txt", b"not a photo\n")
    env = {**client_env, "TERM": "xterm-256color", "COLUMNS": "120"}

    run = sync(env, server.url, user, str(tmp_path / "phone"))

    assert run.returncode == 0, run.stderr
    assert "\x1b" not in run.stderr and "\r" not in run.stderr, repr(run.stderr)
    lines = run.stderr.splitlines()
    for path in paths:
        assert f"uploaded: {path.resolve()}" in lines, lines
    assert "uploaded 3, duplicates 0, unchanged 0, skipped 1, failed 0, " + f"{sum(map(len, photos))} bytes" in lines
    assert run.stdout.count("\n") == 1  # with --json, stdout is the JSON line alone


# -- a real-world corpus -----------------------------------------------------------------------------------


def looks_like_an_image(head: bytes) -> bool:
    """An independent check (not the project's sniffer) for the formats the corpus holds."""
    return (head.startswith((b"\xff\xd8\xff", b"\x89PNG", b"II*\x00", b"MM\x00*"))
            or (head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"avif")))


@pytest.mark.skipif(not SHARED_CORPUS.is_dir(), reason=f"{SHARED_CORPUS} is not here")
def test_real_exif_corpus_is_backed_up_bit_identical(server, user, client_env):
    files = [path for path in SHARED_CORPUS.rglob("*") if path.is_file()]
    images = {path: path.read_bytes() for path in files if looks_like_an_image(path.read_bytes()[:16])}
    assert images, "no image found in the corpus"
    by_sha1 = {sha1(data): data for data in images.values()}

    run = sync(client_env, server.url, user, str(SHARED_CORPUS))

    assert run.returncode == 0, run.stderr
    assert_counts(run, uploaded=len(by_sha1), duplicates=len(images) - len(by_sha1),
                  skipped=len(files) - len(images), failed=0)
    assert_originals_identical(user, by_sha1)


def test_notices_are_shown_and_a_closed_intake_stops_the_sync_with_its_reason(server, accounts, client_env, tmp_path):
    from phonecloud.notices.service import Audience

    user, services = accounts.create(), accounts.services
    services.regions.set_region(user.email, "TV")  # a country no other test's users live in
    notice = services.notices.post("Gallery backup moves to a new server on 1 March", audience=Audience(region="TV"))
    group = f"sync-{uuid.uuid4().hex[:8]}"
    try:
        write(tmp_path / "phone" / "IMG_1.jpg", image_bytes("JPEG", 7101, size=(20, 20)))
        run = sync(client_env, server.url, user, str(tmp_path / "phone"))
        assert run.returncode == 0, run.stderr
        assert "notice (info): Gallery backup moves to a new server on 1 March" in run.stderr  # --json: on stderr

        services.regions.add_group(group, ["TV"])
        services.regions.set_kind(group, "gallery", enabled=False)
        write(tmp_path / "phone" / "IMG_2.jpg", image_bytes("JPEG", 7102, size=(20, 20)))
        refused = sync(client_env, server.url, user, str(tmp_path / "phone"))
        assert refused.returncode == 1
        assert f"Photos and videos cannot be added in your region (TV, region group {group})" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert len(server_assets(user)) == 1  # nothing more was sent
    finally:
        if group in {row.name for row in services.regions.groups()}:
            services.regions.delete_group(group)
        services.notices.withdraw(notice.id)

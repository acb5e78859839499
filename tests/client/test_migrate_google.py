"""`phonecloud migrate --to google-photos` as a subprocess against a real phonecloud server and a STAND-IN for
Google's OAuth endpoints and Photos Library API (google_standin.py, written from Google's documentation):
the installed-app sign-in through the browser's redirect, uploads then batchCreate in groups of 50 made one
after another, albums and favourites, the trash and oversized files skipped, the daily quota's stop and the
next day's run, 429s waited out, a missing scope and expired upload tokens; and the stand-in's own rules."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from cli_runner import Run, phonecloud
from conftest import PHONECLOUD, User, upload
from media_fixtures import jpeg

from phonecloud.client.migrate.to_google import API_ENV, _untransferable
from phonecloud.portability.takeout import AssetInfo

from .google_standin import APPEND_ONLY, GoogleStandIn
from .test_migrate import DESCRIPTION, described_library

SIGN_IN = "open this address in a browser: "


@pytest.fixture
def google():
    with GoogleStandIn() as standin:
        yield standin


def migrate_to_google(env: dict[str, str], server, user: User, google: GoogleStandIn, tmp_path: Path,
                      sign_in: bool = True) -> Run:
    """The command run to its end; when it asks, the person opens the sign-in address (and agrees)."""
    client = tmp_path / "client_secret.json"
    google.client_file(client)
    process = subprocess.Popen(
        [PHONECLOUD, "migrate", "--to", "google-photos", "--google-client", str(client), "--server", server.url,
         "--key", user.key, "--json"], env={**env, API_ENV: google.url}, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []

    def read_stderr() -> None:
        for line in process.stderr:
            lines.append(line)
            if SIGN_IN in line:
                assert sign_in, f"asked to sign in again: {line}"
                agreed = httpx.get(line.split(SIGN_IN, 1)[1].strip(), follow_redirects=True, timeout=30)
                assert agreed.status_code == 200, agreed.text

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    stdout = process.stdout.read()
    process.wait(timeout=300)
    reader.join(30)
    return Run(process.returncode, stdout, "".join(lines))


def test_the_library_moves_to_google_photos_with_albums_and_favourites_and_the_trash_skipped(
        server, user, client_env, google, tmp_path):
    made = described_library(user, 4100)
    run = migrate_to_google(client_env, server, user, google, tmp_path)
    assert run.returncode == 0, run.stderr
    summary = run.summary
    assert (summary["sent"], summary["verified"], summary["skipped"], summary["failed"]) == (3, 3, 1, 0), run.stdout
    assert "skipped IMG_0004.jpg" in run.stderr and "trash" in run.stderr
    state = google.state
    assert sorted(item["filename"] for item in state.items.values()) == ["IMG_0001.jpg", "IMG_0002.jpg",
                                                                          "VID_0003.mp4"]
    by_name = {item["filename"]: item for item in state.items.values()}
    assert by_name["IMG_0001.jpg"]["description"] == DESCRIPTION
    for name in by_name:
        assert by_name[name]["size"] == len(made["bodies"][name])
    albums = {album["title"]: {state.items[media]["filename"] for media in album["items"]}
              for album in state.albums.values()}
    assert albums == {"Summer: Brittany/2019": {"IMG_0001.jpg", "VID_0003.mp4"}, "Favourites": {"IMG_0002.jpg"}}
    assert state.overlapping_creates == 0 and max(state.batch_sizes) <= 50

    again = migrate_to_google(client_env, server, user, google, tmp_path, sign_in=False)  # the token was kept
    assert again.returncode == 0, again.stderr
    assert (again.summary["sent"], again.summary["already_there"], again.summary["skipped"]) == (0, 3, 1)
    assert len(state.items) == 3 and len(state.albums) == 2  # nothing made twice


def test_a_large_library_goes_in_batches_of_50_one_after_another_and_waits_out_429s(
        server, user, client_env, google, tmp_path):
    for number in range(120):
        assert upload(user, jpeg(4200 + number), filename=f"IMG_{number:03}.jpg").status_code == 201
    google.state.throttle_every = 37  # a per-minute 429 now and then
    google.state.revoke_after = 60  # and the access token revoked half-way: renewed with the refresh token
    run = migrate_to_google(client_env, server, user, google, tmp_path)
    assert run.returncode == 0, run.stderr
    assert (run.summary["sent"], run.summary["failed"]) == (120, 0), run.stdout
    assert sum(google.state.batch_sizes) == 120 and max(google.state.batch_sizes) == 50
    assert google.state.overlapping_creates == 0
    assert len(google.state.items) == 120


def test_a_spent_daily_quota_stops_the_run_and_the_next_day_goes_on(server, user, client_env, google, tmp_path):
    for number in range(30):
        assert upload(user, jpeg(4400 + number), filename=f"IMG_{number:03}.jpg").status_code == 201
    google.state.daily_quota = 12
    first = migrate_to_google(client_env, server, user, google, tmp_path)
    assert first.returncode == 1 and "daily quota" in first.stderr and "tomorrow" in first.stderr, first.stderr
    made_first = len(google.state.items)
    assert first.summary["verified"] == made_first < 30
    google.next_day()
    google.state.daily_quota = 10_000
    second = migrate_to_google(client_env, server, user, google, tmp_path, sign_in=False)
    assert second.returncode == 0, second.stderr
    assert (second.summary["sent"], second.summary["already_there"]) == (30 - made_first, made_first)
    assert len(google.state.items) == 30  # none twice


def test_a_sign_in_without_the_append_scope_is_refused_with_what_to_do(server, user, client_env, google, tmp_path):
    described_library(user, 4500)
    google.state.granted = "openid"  # the person unticked "add to your Google Photos library"
    run = migrate_to_google(client_env, server, user, google, tmp_path)
    assert run.returncode == 1 and "did not allow adding to Google Photos" in run.stderr, run.stderr
    assert google.state.items == {}


def test_expired_upload_tokens_fail_their_items_with_the_reason_and_the_next_run_sends_them(
        server, user, client_env, google, tmp_path):
    described_library(user, 4600)
    google.state.upload_lifetime = 0.0
    run = migrate_to_google(client_env, server, user, google, tmp_path)
    assert run.returncode == 1 and run.summary["failed"] == 3 and run.summary["sent"] == 3, run.stdout
    assert "Invalid or expired upload token" in run.stderr
    google.state.upload_lifetime = 86_400.0
    again = migrate_to_google(client_env, server, user, google, tmp_path, sign_in=False)
    assert (again.returncode, again.summary["verified"]) == (0, 3), again.stderr


def test_photos_over_200_mb_and_videos_over_20_gb_are_not_transferable():
    def asset(kind: str, size: int) -> AssetInfo:
        moment = dt.datetime(2022, 1, 1, tzinfo=dt.UTC)
        return AssetInfo("a", "IMG.jpg", kind, "image/jpeg", "jpg", size, "0" * 40, None, moment, moment, moment,
                         None, None, None, None, None, None, False, False, "")

    assert _untransferable(asset("photo", 200 * 10**6)) is None
    assert "over 200 MB" in _untransferable(asset("photo", 200 * 10**6 + 1))
    assert _untransferable(asset("video", 20 * 10**9)) is None
    assert "over 20 GB" in _untransferable(asset("video", 20 * 10**9 + 1))


# -- the stand-in's own rules, as the real service has them ---------------------------------------------------

def signed_in(google: GoogleStandIn, scope: str = APPEND_ONLY) -> httpx.Client:
    token = "t-" + scope[-8:]
    google.state.access_tokens[token] = (scope, time.monotonic() + 3600)
    return httpx.Client(base_url=google.url, headers={"Authorization": f"Bearer {token}"})


def uploaded(client: httpx.Client, body: bytes = b"\xff\xd8photo") -> str:
    answer = client.post("/v1/uploads", content=body, headers={"X-Goog-Upload-Protocol": "raw",
                                                               "Content-Type": "application/octet-stream"})
    assert answer.status_code == 200, answer.text
    return answer.text


def test_the_stand_in_refuses_what_google_refuses(google):
    with signed_in(google) as client, signed_in(google, "https://www.googleapis.com/auth/photoslibrary") as old:
        assert old.post("/v1/albums", json={"album": {"title": "x"}}).status_code == 403  # a scope gone since 2025
        assert client.post("/v1/uploads", content=b"x").status_code == 400  # not raw
        items = [{"simpleMediaItem": {"uploadToken": uploaded(client), "fileName": f"{n}.jpg"}} for n in range(51)]
        too_many = client.post("/v1/mediaItems:batchCreate", json={"newMediaItems": items})
        assert too_many.status_code == 400 and "1 to 50" in too_many.json()["error"]["message"]
        long = client.post("/v1/mediaItems:batchCreate", json={"newMediaItems": [
            {"description": "x" * 1001, "simpleMediaItem": {"uploadToken": uploaded(client), "fileName": "a.jpg"}}]})
        assert long.json()["newMediaItemResults"][0]["status"]["code"] == 3
        answers = []
        threads = [threading.Thread(target=lambda: answers.append(client.post("/v1/mediaItems:batchCreate", json={
            "newMediaItems": [{"simpleMediaItem": {"uploadToken": uploaded(client), "fileName": "p.jpg"}}]})))
            for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert 409 in {answer.status_code for answer in answers} and google.state.overlapping_creates >= 1
        strange = client.post("/v1/albums/nope:batchAddMediaItems", json={"mediaItemIds": ["x"]})
        assert strange.status_code == 404
    google.state.daily_quota = google.state.requests_today
    with signed_in(google) as client:
        spent = client.post("/v1/albums", json={"album": {"title": "late"}})
        assert spent.status_code == 429 and "per day" in spent.json()["error"]["message"]
    refused = httpx.get(f"{google.url}/o/oauth2/v2/auth", params={
        "client_id": google.state.client_id, "redirect_uri": "https://example.org/", "response_type": "code",
        "code_challenge": "x", "code_challenge_method": "S256"})
    assert refused.status_code == 400  # a redirect that is not loopback
    no_pkce = httpx.get(f"{google.url}/o/oauth2/v2/auth", params={
        "client_id": google.state.client_id, "redirect_uri": "http://127.0.0.1:9/", "response_type": "code"})
    assert no_pkce.status_code == 400
    assert json.loads(httpx.post(f"{google.url}/token", data={
        "grant_type": "authorization_code", "code": "never-issued", "client_id": google.state.client_id,
        "client_secret": google.state.client_secret}).text) == {"error": "invalid_grant"}


def test_a_sign_in_anew_may_be_another_account_so_its_record_starts_empty(server, user, client_env, google,
                                                                           tmp_path):
    described_library(user, 4700)
    assert migrate_to_google(client_env, server, user, google, tmp_path).summary["sent"] == 3
    for token in (Path(client_env["PHONECLOUD_CLIENT_DIR"]) / "google").iterdir():
        token.unlink()  # signed out: the next sign-in may be to another Google account
    again = migrate_to_google(client_env, server, user, google, tmp_path)
    assert (again.returncode, again.summary["sent"], again.summary["already_there"]) == (0, 3, 0), again.stderr


def test_a_missing_or_wrong_client_file_is_named_in_one_line(client_env, tmp_path):
    (tmp_path / "web.json").write_text('{"web": {}}')
    (tmp_path / "cut.json").write_text('{"installed": ')
    for client, why in [(None, "needs --google-client FILE"), (tmp_path / "none.json", "No such file"),
                        (tmp_path / "web.json", 'no "installed" or "web" credentials'),
                        (tmp_path / "cut.json", "not JSON")]:
        run = phonecloud(client_env, "migrate", "--to", "google-photos", "--server", "http://127.0.0.1:9", "--key",
                         "k", *(["--google-client", str(client)] if client else []))
        assert run.returncode in (1, 2) and why in run.stderr and "Traceback" not in run.stderr, run.stderr
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr

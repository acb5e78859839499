"""A library moved to Google Photos by a job on the server: signed in on Google's consent page as a web
application is (the operator's OAuth client, PKCE, the state in a cookie of the browser and bound to its
session, the callback on the server's public address), against the strict stand-in of Google's endpoints
(tests/client/google_standin.py); a spent daily quota leaves the move queued until the quota is back, and the
deferred job goes on by itself then; a sign-in answer that is not this browser's session's (another browser, a
planted cookie), or a refusal, starts nothing."""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest

from client.google_standin import GoogleStandIn
from client.test_migrate import described_library
from conftest import serving, upload
from media_fixtures import jpeg

from phonecloud.client.migrate.to_google import API_ENV
from phonecloud.jobs.models import Job
from phonecloud.web.session import SESSION_COOKIE, csrf_token_for

PUBLIC_URL = "http://phonecloud.test"  # the in-process app's address (tests/inprocess.py)


@pytest.fixture
def google():
    with GoogleStandIn() as standin:
        yield standin


@pytest.fixture
def moving(tmp_path, google, monkeypatch):
    """A server (the app in this process) whose operator set up Google: its users, and a browser for each."""
    client = tmp_path / "web_client.json"
    google.web_client_file(client, f"{PUBLIC_URL}/move/google/callback")
    monkeypatch.setenv(API_ENV, google.url)
    with serving(tmp_path / "data", {"PHONECLOUD_GOOGLE_CLIENT": str(client), "PHONECLOUD_PUBLIC_URL": PUBLIC_URL,
                                     "PHONECLOUD_LOGIN_ADDRESS_FAILURES": "1000000"}, in_process=True) as running:
        yield running


def browser_of(server, user) -> httpx.Client:
    token = user.http.post("/auth/login", json={"email": user.email, "password": user.password}).json()["token"]
    return server.client(base="", cookies={SESSION_COOKIE: token}, headers={"X-CSRF-Token": csrf_token_for(token)})


def sign_in_to_google(browser: httpx.Client) -> httpx.Response:
    """The page's button, Google's consent (given at once by the stand-in), and the way back to the server."""
    sent = browser.post("/move/google")
    assert sent.status_code == 303, sent.text
    consent = httpx.get(sent.headers["location"])
    assert consent.status_code == 302, consent.text
    back = urlsplit(consent.headers["location"])
    assert f"{back.scheme}://{back.netloc}" == PUBLIC_URL
    return browser.get(f"{back.path}?{back.query}")


def settled(user, states=("done", "failed", "paused"), timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while (found := user.http.get("/moves").json()[0])["state"] not in states:
        assert time.monotonic() < deadline, found
        time.sleep(0.05)
    return found


def test_a_library_moves_to_google_photos_after_the_consent_given_on_googles_page(moving, google):
    server, accounts = moving
    user = accounts.create()
    described_library(user, 3900)
    with browser_of(server, user) as browser:
        page = browser.get("/move")
        assert "Sign in to Google and move" in page.text
        came_back = sign_in_to_google(browser)
        assert came_back.status_code == 303 and came_back.headers["location"] == "/move"
        assert "phonecloud_move_google=" in came_back.headers.get("set-cookie", "")  # the cookie is cleared
    done = settled(user)
    assert done["state"] == "done" and done["label"] == "Google Photos", done
    report = done["report"]
    assert (report["verified"], report["skipped"], report["failed"]) == (3, 1, 0), report  # the trash is skipped
    assert len(google.state.items) == 3
    assert {album["title"] for album in google.state.albums.values()} == {"Summer: Brittany/2019", "Favourites"}
    with server.services.db.read() as session:
        from phonecloud.gallery.moving.models import LibraryMove

        assert session.query(LibraryMove).one().credentials is None  # the refresh token is gone with the move


def test_a_spent_daily_quota_leaves_the_move_queued_until_the_quota_is_back(moving, google):
    server, accounts = moving
    user = accounts.create()
    for number in range(12):
        assert upload(user, jpeg(4500 + number), filename=f"IMG_{number:03}.jpg").status_code == 201
    google.state.daily_quota = 6
    with browser_of(server, user) as browser:
        assert sign_in_to_google(browser).status_code == 303
    deadline = time.monotonic() + 120
    while "daily quota" not in ((found := user.http.get("/moves").json()[0])["error"] or ""):
        assert time.monotonic() < deadline and found["state"] in ("queued", "running"), found
        time.sleep(0.05)
    assert found["state"] == "queued" and "goes on by itself at" in found["error"]
    with server.services.db.read() as session:
        job = session.query(Job).filter(Job.kind == "gallery.move").one()
        waits_until = job.run_after.astimezone(ZoneInfo("America/Los_Angeles"))
    assert (waits_until.hour, waits_until.minute) == (0, 5)
    assert dt.timedelta(0) < waits_until - dt.datetime.now(dt.UTC) <= dt.timedelta(days=1, minutes=5)
    sent_first = len(google.state.items)
    assert sent_first < 12 and found["report"]["verified"] == sent_first
    assert all("daily quota" in failure["reason"] for failure in found["report"]["failures"])

    google.next_day()
    google.state.daily_quota = 10_000
    with server.services.db.write() as session:  # the night passes
        session.query(Job).filter(Job.kind == "gallery.move").update({"run_after": dt.datetime.now(dt.UTC)})
    server.services.jobs.wake()
    done = settled(user)
    assert done["state"] == "done", done
    assert (done["report"]["sent"], done["report"]["already_there"]) == (12 - sent_first, sent_first)
    assert len(google.state.items) == 12  # none twice


def test_a_sign_in_answer_that_is_not_this_browsers_or_a_refusal_starts_nothing(moving, google):
    server, accounts = moving
    user, other = accounts.create(), accounts.create(name="other")
    with browser_of(server, user) as browser, browser_of(server, other) as stranger:
        sent = browser.post("/move/google")
        consent = urlsplit(httpx.get(sent.headers["location"]).headers["location"])
        replayed = stranger.get(f"{consent.path}?{consent.query}")  # another browser, without the cookie
        assert replayed.status_code == 303
        refused = browser.get("/move/google/callback", params={"error": "access_denied", "state": "x"})
        assert refused.status_code == 303
        # an attacker's own sign-in (to their Google account), its cookie planted in the user's browser
        planted = stranger.post("/move/google")
        attackers = urlsplit(httpx.get(planted.headers["location"]).headers["location"])
        browser.cookies.set("phonecloud_move_google", stranger.cookies.get("phonecloud_move_google"),
                            domain=browser.base_url.host, path="/move/google")
        assert browser.get(f"{attackers.path}?{attackers.query}").status_code == 303
    assert user.http.get("/moves").json() == [] and other.http.get("/moves").json() == []


def test_a_server_without_a_google_client_offers_no_google_move(server_in_process, accounts_in_process):
    user = accounts_in_process.create()
    with browser_of(server_in_process, user) as browser:
        assert "Sign in to Google" not in browser.get("/move").text
        answer = browser.post("/move/google")
        assert answer.status_code == 303 and answer.headers["location"] == "/move"

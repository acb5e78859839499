"""The web app's defences, checked over HTTP: the Content-Security-Policy and no inline script or style
on any page, alt text on every image, the session cookie's flags, CSRF on every state-changing request
(forms and the API through the cookie), sign-in throttling, and no redirect off the site."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest

from conftest import Accounts, Server, upload
from media_fixtures import jpeg

from phonecloud.web.pages import CONTENT_SECURITY_POLICY


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    """A server of this module's own: its sign-in throttling counts start from zero."""
    running = Server(tmp_path_factory.mktemp("web-security") / "data").start()
    made = Accounts(running)
    yield running, made
    made.close()
    running.stop()


def csrf_of(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', html).group(1)


def signed_in(server: Server, user) -> httpx.Client:
    browser = httpx.Client(base_url=server.url, timeout=30)
    token = csrf_of(browser.get("/signin").text)
    answer = browser.post("/signin", data={"email": user.email, "password": user.password, "csrf": token})
    assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text
    return browser


class PageScan(HTMLParser):
    """What the policy forbids in markup (inline scripts, style and event attributes) and images without alt."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        if "style" in names:
            self.problems.append(f"style attribute on <{tag}>")
        self.problems += [f"{name} handler on <{tag}>" for name in names if name.startswith("on")]
        if tag == "img" and "alt" not in names:
            self.problems.append(f"<img> without alt: {dict(attrs).get('src')}")


def test_every_page_has_the_policy_and_nothing_inline(own_server):
    server, accounts = own_server
    user = accounts.create(name="pages")
    asset = upload(user, jpeg(9001)).json()["id"]
    album = user.http.post("/albums", json={"title": "A"}).json()["id"]
    user.http.put(f"/albums/{album}/assets", json={"asset_ids": [asset]})
    from sqlalchemy import update

    from phonecloud.accounts.models import User as UserRow

    with accounts.services.db.write() as session:  # an administrator, to see the console's pages too
        session.execute(update(UserRow).where(UserRow.email == user.email).values(is_admin=True))
    browser = signed_in(server, user)
    link = user.http.post("/shares", json={"album_id": album}).json()["url"].removeprefix(server.url)
    locked = user.http.post("/shares", json={"asset_ids": [asset], "password": "pw"}).json()["url"]
    pages = ["/", "/trash", "/albums", f"/albums/{album}", f"/photos/{asset}", "/upload", "/account", "/admin",
             "/admin/jobs", "/map", "/photos/00000000-0000-0000-0000-000000000000", "/shared", link,
             f"{link}/photos/{asset}", locked.removeprefix(server.url)]
    for path in pages:
        answer = browser.get(path)
        assert answer.status_code in (200, 404), path
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        scan = PageScan()
        scan.feed(answer.text)
        assert scan.problems == [], (path, scan.problems)
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY and "script-src 'self'" in CONTENT_SECURITY_POLICY
    for asset_file in ("/static/app.css", "/static/js/app.js"):
        answer = browser.get(asset_file)
        assert answer.status_code == 200 and answer.headers["etag"]
        assert browser.get(asset_file, headers={"If-None-Match": answer.headers["etag"]}).status_code == 304
    assert browser.get("/static/../pages.py").status_code == 404


def test_the_session_cookie_is_httponly_and_samesite(own_server):
    server, accounts = own_server
    user = accounts.create(name="cookie")
    browser = httpx.Client(base_url=server.url)
    token = csrf_of(browser.get("/signin").text)
    answer = browser.post("/signin", data={"email": user.email, "password": user.password, "csrf": token})
    cookie = next(header for header in answer.headers.get_list("set-cookie") if header.startswith("phonecloud_session="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= flags
    assert "secure" not in flags  # plain HTTP on loopback; see the HTTPS test below
    assert "pcs_" not in browser.get("/").text  # the page never shows the session token to scripts


@pytest.mark.filterwarnings("ignore:Using .httpx. with .starlette.testclient.")  # its own deprecation notice
def test_the_session_cookie_is_secure_over_https(tmp_path):
    """In-process (Starlette's test client speaks HTTPS without a certificate); the same app and services."""
    from starlette.testclient import TestClient

    from phonecloud.server.app import create_app
    from phonecloud.core.settings import Settings

    app = create_app(Settings(data_dir=tmp_path / "data", embedded_workers=0))
    with TestClient(app, base_url="https://testserver") as client:
        app.state.services.accounts.create_user("tls@example.org", "correct horse battery")
        token = csrf_of(client.get("/signin").text)
        answer = client.post("/signin", data={"email": "tls@example.org", "password": "correct horse battery",
                                               "csrf": token}, follow_redirects=False)
        cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("phonecloud_session="))
        assert "secure" in {part.strip().lower() for part in cookie.split(";")}


@pytest.mark.parametrize("trusted_proxies, secure", [(0, False), (1, True)])
def test_behind_a_trusted_tls_proxy_cookies_are_secure(tmp_path, trusted_proxies, secure):
    """X-Forwarded-Proto counts only from a proxy the settings trust; anyone can send the header.
    (The sign-in form's pre-session cookie is set the same way as the session's.)"""
    from starlette.testclient import TestClient

    from phonecloud.server.app import create_app
    from phonecloud.core.settings import Settings

    app = create_app(Settings(data_dir=tmp_path / "data", embedded_workers=0, trusted_proxies=trusted_proxies))
    with TestClient(app, base_url="http://testserver", headers={"X-Forwarded-Proto": "https"}) as client:
        answer = client.get("/signin")
        cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("phonecloud_presession="))
        assert ("secure" in {part.strip().lower() for part in cookie.split(";")}) is secure


def test_state_changes_need_the_csrf_token(own_server):
    server, accounts = own_server
    user = accounts.create(name="csrf")
    asset = upload(user, jpeg(9002)).json()["id"]
    browser = signed_in(server, user)
    token = csrf_of(browser.get("/").text)
    form = {"action": "trash", "asset_id": asset, "back": "/"}

    for forged in ({}, {"csrf": "0" * 64}, {"csrf": csrf_of(signed_in(server, user).get("/").text)}):
        answer = browser.post("/selection", data={**form, **forged})
        assert answer.status_code == 403, forged
        assert "did not come from this site" in answer.text
    assert browser.put(f"/api/v1/assets/{asset}/favorite").status_code == 403  # the cookie alone is not enough
    unchanged = user.http.get(f"/assets/{asset}").json()
    assert (unchanged["trashed"], unchanged["is_favorite"]) == (False, False)

    assert browser.post("/selection", data={**form, "csrf": token}).status_code == 303
    favorite = browser.put(f"/api/v1/assets/{asset}/favorite", headers={"X-CSRF-Token": token})
    assert favorite.status_code == 200 and favorite.json()["is_favorite"] is True
    assert user.http.get(f"/assets/{asset}").json()["trashed"] is True
    assert browser.post("/signin", data={"email": user.email, "password": user.password}).status_code == 403
    huge = browser.post("/selection", data={**form, "csrf": token, "back": "/" + "x" * (2 << 20)})
    assert huge.status_code == 413  # refused before the body is read: a page's form is a few fields


def test_sign_in_is_throttled_like_the_api(own_server):
    server, accounts = own_server
    user = accounts.create(name="throttled")
    browser = httpx.Client(base_url=server.url)
    token = csrf_of(browser.get("/signin").text)
    for _ in range(5):
        wrong = browser.post("/signin", data={"email": user.email, "password": "not it", "csrf": token})
        assert wrong.status_code == 401 and "wrong email or password" in wrong.text
    refused = browser.post("/signin", data={"email": user.email, "password": user.password, "csrf": token})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "too many failed sign-ins" in refused.text
    api = httpx.post(f"{server.url}/api/v1/auth/login", json={"email": user.email, "password": user.password})
    assert api.status_code == 429  # one throttle for the web and the API


def test_sign_in_never_redirects_off_the_site(own_server):
    server, accounts = own_server
    user = accounts.create(name="redirect")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        browser = httpx.Client(base_url=server.url)
        token = csrf_of(browser.get("/signin", params={"next": target}).text)
        answer = browser.post("/signin", data={"email": user.email, "password": user.password, "csrf": token,
                                               "next": target})
        assert answer.status_code == 303 and answer.headers["location"] == "/", target
    browser = httpx.Client(base_url=server.url)
    assert browser.get("/albums").headers["location"] == "/signin?next=/albums"
    token = csrf_of(browser.get("/signin?next=/albums").text)
    answer = browser.post("/signin", data={"email": user.email, "password": user.password, "csrf": token,
                                           "next": "/albums"})
    assert answer.headers["location"] == "/albums"

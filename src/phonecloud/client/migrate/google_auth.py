"""Signing in to Google for the Photos Library API, as an installed app does it (OAuth 2.0 for desktop apps,
with PKCE and a loopback redirect): the person opens the address printed, agrees to let phonecloud add to
their library (the `photoslibrary.appendonly` scope, nothing more), and Google's answer comes back to a
one-shot HTTP server on 127.0.0.1. The refresh token is kept in the client's folder (readable by its owner
only), so the next run (the next day, once the daily quota is back) signs in by itself.

The OAuth client is the person's own (Google gives no shared one to open-source tools): the JSON file a
Google Cloud project's "Desktop app" credentials download as, whose `auth_uri` and `token_uri` say where to
sign in."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import threading
import time
import webbrowser
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from phonecloud.client.errors import NO_STATUS, ServerError

APPEND_ONLY = "https://www.googleapis.com/auth/photoslibrary.appendonly"
SIGN_IN_WAIT = 600.0  # seconds the loopback server waits for the person to agree
EARLY = 60  # seconds before its expiry an access token is renewed


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str
    auth_uri: str
    token_uri: str

    @classmethod
    def from_file(cls, path: Path) -> OAuthClient:
        """A client secret file as Google Cloud downloads it ({"installed": {...}})."""
        def refuse(why: str) -> ServerError:
            return ServerError(NO_STATUS, "bad_client", f"{path} is not a Google OAuth client file (the JSON of a "
                                                        f"Desktop app's credentials): {why}")

        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise refuse(error.strerror or str(error)) from None
        except (UnicodeDecodeError, ValueError) as error:
            raise refuse(f"not JSON ({error})") from None
        # "installed": a Desktop app's (the command line); "web": a Web application's (a server's moves)
        installed = next((document[kind] for kind in ("installed", "web") if isinstance(document, dict)
                          and isinstance(document.get(kind), dict)), None)
        if installed is None or not isinstance(installed.get("client_id"), str):
            raise refuse('it holds no "installed" or "web" credentials with a client_id')
        return cls(installed["client_id"], str(installed.get("client_secret", "")),
                   str(installed.get("auth_uri", "https://accounts.google.com/o/oauth2/auth")),
                   str(installed.get("token_uri", "https://oauth2.googleapis.com/token")))


class GoogleSession:
    """Access tokens for one OAuth client and the Google account that agreed, renewed as they expire."""

    def __init__(self, client: OAuthClient, token_file: Path, tell, interactive: bool = True):
        """interactive: sign in through a browser when no saved sign-in works (a job on a server cannot)."""
        self.client, self.token_file, self.tell, self.interactive = client, token_file, tell, interactive
        self._lock = threading.Lock()
        self._access, self._expires = "", 0.0
        self._http = httpx.Client(timeout=httpx.Timeout(60.0, connect=15.0))

    def close(self) -> None:
        self._http.close()

    def access_token(self) -> str:
        with self._lock:
            if time.monotonic() < self._expires - EARLY:
                return self._access
            saved = self._saved()
            answer = self._refresh(saved["refresh_token"]) if saved else None
            if answer is None and not self.interactive:
                raise ServerError(401, "sign_in", "Google no longer accepts this sign-in (it was withdrawn, or "
                                                  "has expired): sign in to Google again")
            if answer is None:
                answer = self._sign_in()
            self._access, self._expires = answer["access_token"], time.monotonic() + float(answer["expires_in"])
            return self._access

    def sign_in_id(self) -> str:
        """Which sign-in the saved token is of (signed in first when none is saved): a sign-in anew may be to
        another Google account, whose library holds none of what the last one was given."""
        self.access_token()
        saved = self._saved() or {}
        return str(saved.get("sign_in", "first"))

    def renew(self) -> None:
        """The access token was refused (revoked, expired early): the next call gets another."""
        with self._lock:
            self._expires = 0.0

    def _saved(self) -> dict | None:
        try:
            saved = json.loads(self.token_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return saved if isinstance(saved, dict) and saved.get("refresh_token") else None

    def _refresh(self, refresh_token: str) -> dict | None:
        answer = self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})
        if answer is None:
            self.token_file.unlink(missing_ok=True)  # revoked or expired: ask the person again
        return answer

    def _token(self, form: dict[str, str]) -> dict | None:
        form = {**form, "client_id": self.client.client_id, "client_secret": self.client.client_secret}
        try:
            answer = self._http.post(self.client.token_uri, data=form)
        except httpx.TransportError as error:
            raise ServerError(NO_STATUS, "network", f"cannot reach Google's sign-in ({self.client.token_uri}): "
                                                    f"{error}") from error
        if answer.status_code == 400 and _error_of(answer) == "invalid_grant":
            return None
        if answer.status_code != 200:
            raise ServerError(answer.status_code, "sign_in", f"Google refused the sign-in: {answer.text[:300]}")
        return answer.json()

    def _sign_in(self) -> dict:
        verifier, challenge = pkce()
        state = secrets.token_urlsafe(24)
        catcher = _RedirectCatcher(state)
        redirect = f"http://127.0.0.1:{catcher.port}"
        address = consent_address(self.client, redirect, state, challenge)
        self.tell(f"To let phonecloud add to your Google Photos, open this address in a browser: {address}")
        if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
            webbrowser.open(address)
        answer = self.exchange(catcher.wait(SIGN_IN_WAIT), redirect, verifier, "run the command again")
        save_sign_in(self.token_file, answer)
        return answer

    def exchange(self, code: str, redirect: str, verifier: str, again: str) -> dict:
        """The consent's code for tokens (with a refresh token), checked to allow adding to Google Photos."""
        answer = self._token({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
                              "code_verifier": verifier})
        if answer is None:
            raise ServerError(400, "sign_in", f"Google did not accept the sign-in's answer; {again}")
        if APPEND_ONLY not in answer.get("scope", "").split():
            raise ServerError(403, "scope", f"the sign-in did not allow adding to Google Photos: {again} and tick "
                                            "that box")
        return answer


def pkce() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(64)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def consent_address(client: OAuthClient, redirect: str, state: str, challenge: str) -> str:
    """Google's consent page for adding to the person's library, answering to `redirect`."""
    return client.auth_uri + "?" + urlencode({
        "response_type": "code", "client_id": client.client_id, "redirect_uri": redirect, "scope": APPEND_ONLY,
        "state": state, "code_challenge": challenge, "code_challenge_method": "S256", "access_type": "offline",
        "prompt": "consent"})


def save_sign_in(token_file: Path, answer: dict, sign_in: str | None = None) -> None:
    """The refresh token kept, readable by its owner only, with an id of this sign-in."""
    token_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(token_file.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:  # private from the start: it holds a secret
        json.dump({"refresh_token": answer["refresh_token"], "scope": answer["scope"],
                   "sign_in": sign_in or secrets.token_hex(8)}, handle)
    os.replace(token_file.with_suffix(".tmp"), token_file)


def _error_of(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("error", ""))
    except ValueError:
        return ""


class _RedirectCatcher:
    """A one-shot HTTP server on 127.0.0.1 that takes the browser's redirect from Google's consent page."""

    def __init__(self, state: str):
        self.code: str | None = None
        self.problem: str | None = None
        self._done = threading.Event()
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                if query.get("state", [""])[0] != state:
                    self._answer(400, "This is not the answer to phonecloud's sign-in.")
                    return
                catcher.code = query.get("code", [None])[0]
                catcher.problem = None if catcher.code else query.get("error", ["no code"])[0]
                self._answer(200, "phonecloud is signed in to Google Photos: you can close this page."
                             if catcher.code else f"The sign-in did not go through ({catcher.problem}).")
                catcher._done.set()

            def _answer(self, status: int, text: str) -> None:
                body = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def wait(self, seconds: float) -> str:
        try:
            if not self._done.wait(seconds):
                raise ServerError(NO_STATUS, "sign_in", f"nobody signed in within {seconds:.0f} s")
        finally:
            self._server.shutdown()
            self._server.server_close()
        if self.code is None:
            raise ServerError(403, "sign_in", f"the sign-in was not allowed: {self.problem}")
        return self.code

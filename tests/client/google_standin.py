"""A STAND-IN for Google's OAuth 2.0 endpoints and the Photos Library API (Google's servers cannot be reached
from here), written from Google's published documentation of them as they stand since the Library API's
March 2025 changes, not from Google's code:

- OAuth 2.0 for installed apps: the authorization endpoint (consent is given at once; `granted` says which
  scopes the person ticked), a loopback redirect URI only, PKCE with S256 required; for web server
  applications, only a redirect URI registered with the client (`web_redirects`), exactly; the token endpoint for the
  authorization code (its verifier checked, the code used once) and for a refresh token.
- The Library API's writes that `photoslibrary.appendonly` allows, each refused without that scope (403
  PERMISSION_DENIED): raw uploads (`X-Goog-Upload-Protocol: raw`; photos up to 200 MB, videos up to 20 GB)
  answered by an upload token that expires (a day; shorter here when asked); `mediaItems:batchCreate` with
  1 to 50 items, refused while another for the same user is still running; albums made by the app and
  `batchAddMediaItems` of at most 50 items the app made; descriptions of at most 1,000 characters.
- An access token may be revoked before it expires (`revoke_after`): the API answers 401 until the client
  renews it with its refresh token.
- Quotas: every API request counts against the project's daily quota (10,000 unless asked otherwise), then 429
  RESOURCE_EXHAUSTED "... per day"; `throttle_every` answers every n-th request with a per-minute 429.

What the tests read back: `items`, `albums`, `batch_sizes` and `overlapping_creates`."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

from .loopback import Loopback, QuietHandler

APPEND_ONLY = "https://www.googleapis.com/auth/photoslibrary.appendonly"
PHOTO_LIMIT, VIDEO_LIMIT = 200 * 10**6, 20 * 10**9
CREATE_TAKES = 0.05  # seconds a batchCreate holds the user's write turn: long enough to see two overlap


@dataclass
class Upload:
    sha1: str
    size: int
    made: float
    used: bool = False


@dataclass
class StandInState:
    client_id: str = "phonecloud-test.apps.googleusercontent.com"
    client_secret: str = "test-secret"
    granted: str = APPEND_ONLY  # the scopes the person ticks on the consent page
    daily_quota: int = 10_000
    throttle_every: int = 0
    upload_lifetime: float = 86_400.0
    revoke_after: int = 0  # after this many API requests, every access token is revoked once (0: never)
    web_redirects: tuple = ()  # the redirect URIs registered for the client as a Web application's
    requests_today: int = 0
    codes: dict = field(default_factory=dict)
    refresh_tokens: dict = field(default_factory=dict)
    access_tokens: dict = field(default_factory=dict)
    uploads: dict = field(default_factory=dict)
    items: dict = field(default_factory=dict)  # media item id → {filename, description, sha1, ...}
    albums: dict = field(default_factory=dict)  # album id → {title, items: [ids]}
    batch_sizes: list = field(default_factory=list)
    overlapping_creates: int = 0
    creating: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class GoogleStandIn(Loopback):
    def __init__(self, **settings):
        self.state = StandInState(**settings)
        state = self.state

        class Handler(_Handler):
            shared = state

        super().__init__(Handler)

    def client_file(self, path) -> None:
        """The OAuth client file a Google Cloud project's Desktop app credentials download as."""
        path.write_text(json.dumps({"installed": {
            "client_id": self.state.client_id, "client_secret": self.state.client_secret,
            "auth_uri": f"{self.url}/o/oauth2/v2/auth", "token_uri": f"{self.url}/token",
            "redirect_uris": ["http://localhost"]}}))

    def web_client_file(self, path, redirect: str) -> None:
        """The OAuth client file a Google Cloud project's Web application credentials download as, with this
        redirect URI registered."""
        self.state.web_redirects = (*self.state.web_redirects, redirect)
        path.write_text(json.dumps({"web": {
            "client_id": self.state.client_id, "client_secret": self.state.client_secret,
            "auth_uri": f"{self.url}/o/oauth2/v2/auth", "token_uri": f"{self.url}/token",
            "redirect_uris": [redirect]}}))

    def next_day(self) -> None:
        with self.state.lock:
            self.state.requests_today = 0


def _error(code: int, status: str, message: str) -> tuple[int, dict]:
    return code, {"error": {"code": code, "message": message, "status": status}}


class _Handler(QuietHandler):
    shared: StandInState
    protocol_version = "HTTP/1.1"

    # -- plumbing ----------------------------------------------------------------------------------------

    def _json(self, status: int, body: dict) -> None:
        self.answer(status, {"Content-Type": "application/json"}, json.dumps(body).encode())

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/o/oauth2/v2/auth":
            self._consent(parse_qs(parts.query))
        else:
            self._json(*_error(404, "NOT_FOUND", f"no such method {parts.path}"))

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path == "/token":
            self._token(parse_qs(self._body().decode()))
            return
        scopes = self._scopes()
        if scopes is None:
            self._body()
            self._json(*_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."))
            return
        if APPEND_ONLY not in scopes:
            self._body()
            self._json(*_error(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes."))
            return
        refused = self._count_request()
        if refused is None and self._scopes() is None:  # revoked by the request just counted
            refused = _error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        if refused is not None:
            self._body()
            self._json(*refused)
            return
        if path == "/v1/uploads":
            self._upload()
        elif path == "/v1/mediaItems:batchCreate":
            self._batch_create(json.loads(self._body() or b"{}"))
        elif path == "/v1/albums":
            self._create_album(json.loads(self._body() or b"{}"))
        elif path.startswith("/v1/albums/") and path.endswith(":batchAddMediaItems"):
            self._add_to_album(path.removeprefix("/v1/albums/").removesuffix(":batchAddMediaItems"),
                               json.loads(self._body() or b"{}"))
        else:
            self._body()
            self._json(*_error(404, "NOT_FOUND", f"no such method {path}"))

    def _scopes(self) -> set[str] | None:
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        with self.shared.lock:
            found = self.shared.access_tokens.get(token)
        if found is None or found[1] < time.monotonic():
            return None
        return set(found[0].split())

    def _count_request(self) -> tuple[int, dict] | None:
        state = self.shared
        with state.lock:
            state.requests_today += 1
            if state.revoke_after and state.requests_today == state.revoke_after:
                state.access_tokens.clear()
            if state.requests_today > state.daily_quota:
                return _error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'All requests' and limit "
                                                         "'All requests per day' of service "
                                                         "'photoslibrary.googleapis.com'.")
            if state.throttle_every and state.requests_today % state.throttle_every == 0:
                return _error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Write requests' and "
                                                         "limit 'Write requests per minute per user'.")
        return None

    # -- OAuth 2.0 for installed apps --------------------------------------------------------------------

    def _consent(self, query: dict) -> None:
        one = {name: values[0] for name, values in query.items()}
        redirect = one.get("redirect_uri", "")
        loopback = redirect.startswith(("http://127.0.0.1:", "http://localhost:", "http://[::1]:"))
        registered = redirect in self.shared.web_redirects
        if one.get("client_id") != self.shared.client_id or not (loopback or registered) or \
                one.get("response_type") != "code":
            self.answer(400, {"Content-Type": "text/plain"}, b"Error 400: invalid_request")
            return
        if one.get("code_challenge_method") != "S256" or not one.get("code_challenge"):
            self.answer(400, {"Content-Type": "text/plain"}, b"Error 400: invalid_request (PKCE S256 required)")
            return
        code = secrets.token_urlsafe(16)
        with self.shared.lock:
            self.shared.codes[code] = (redirect, one["code_challenge"], self.shared.granted)
        target = f"{redirect}?{urlencode({'code': code, 'state': one.get('state', ''), 'scope': self.shared.granted})}"
        self.answer(302, {"Location": target})

    def _token(self, form: dict) -> None:
        one = {name: values[0] for name, values in form.items()}
        state = self.shared
        if (one.get("client_id"), one.get("client_secret")) != (state.client_id, state.client_secret):
            self._json(401, {"error": "invalid_client"})
            return
        with state.lock:
            if one.get("grant_type") == "authorization_code":
                redirect, challenge, scope = state.codes.pop(one.get("code", ""), (None, None, None))
                verifier = one.get("code_verifier", "").encode()
                computed = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
                if redirect is None or redirect != one.get("redirect_uri") or computed != challenge:
                    self._json(400, {"error": "invalid_grant"})
                    return
                refresh = secrets.token_urlsafe(24)
                state.refresh_tokens[refresh] = scope
            elif one.get("grant_type") == "refresh_token" and one.get("refresh_token") in state.refresh_tokens:
                refresh, scope = None, state.refresh_tokens[one["refresh_token"]]
            else:
                self._json(400, {"error": "invalid_grant"})
                return
            access = secrets.token_urlsafe(24)
            state.access_tokens[access] = (scope, time.monotonic() + 3599)
        self._json(200, {"access_token": access, "expires_in": 3599, "scope": scope, "token_type": "Bearer",
                         **({"refresh_token": refresh} if refresh else {})})

    # -- the Library API ---------------------------------------------------------------------------------

    def _upload(self) -> None:
        if self.headers.get("X-Goog-Upload-Protocol") != "raw":
            self._body()
            self._json(*_error(400, "INVALID_ARGUMENT", "X-Goog-Upload-Protocol must be raw"))
            return
        body = self._body()
        kind = self.headers.get("X-Goog-Upload-Content-Type", "")
        if len(body) > (VIDEO_LIMIT if kind.startswith("video/") else PHOTO_LIMIT):
            self._json(*_error(400, "INVALID_ARGUMENT", "The file is too large"))
            return
        token = secrets.token_urlsafe(32)
        with self.shared.lock:
            self.shared.uploads[token] = Upload(hashlib.sha1(body).hexdigest(), len(body), time.monotonic())
        self.answer(200, {"Content-Type": "text/plain"}, token.encode())

    def _batch_create(self, body: dict) -> None:
        state = self.shared
        items = body.get("newMediaItems") or []
        if not 1 <= len(items) <= 50:
            self._json(*_error(400, "INVALID_ARGUMENT", f"newMediaItems holds {len(items)} items: 1 to 50"))
            return
        with state.lock:
            if state.creating:
                state.overlapping_creates += 1
                refused = True
            else:
                state.creating, refused = 1, False
        if refused:  # Google asks for one batchCreate at a time per user; overlapping ones fail
            self._json(*_error(409, "ABORTED", "Concurrent write request for this user"))
            return
        try:
            time.sleep(CREATE_TAKES)
            results = [self._create_one(item) for item in items]
        finally:
            with state.lock:
                state.creating = 0
                state.batch_sizes.append(len(items))
        self._json(200, {"newMediaItemResults": results})

    def _create_one(self, item: dict) -> dict:
        simple = item.get("simpleMediaItem") or {}
        token, name = simple.get("uploadToken", ""), simple.get("fileName", "")
        description = item.get("description", "")
        with self.shared.lock:
            upload = self.shared.uploads.get(token)
            expired = upload is None or upload.used or time.monotonic() - upload.made > self.shared.upload_lifetime
            if len(description) > 1000:
                return {"uploadToken": token, "status": {"code": 3, "message": "Description too long"}}
            if expired:
                return {"uploadToken": token, "status": {"code": 3, "message": "Invalid or expired upload token"}}
            upload.used = True
            media_id = uuid.uuid4().hex
            made = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            self.shared.items[media_id] = {"filename": name, "description": description, "sha1": upload.sha1,
                                           "size": upload.size}
        return {"uploadToken": token, "status": {"message": "Success"}, "mediaItem": {
            "id": media_id, "description": description, "filename": name,
            "productUrl": f"https://photos.google.com/lr/photo/{media_id}",
            "mediaMetadata": {"creationTime": made}}}

    def _create_album(self, body: dict) -> None:
        title = (body.get("album") or {}).get("title", "")
        if not 1 <= len(title) <= 500:
            self._json(*_error(400, "INVALID_ARGUMENT", "An album's title is 1 to 500 characters"))
            return
        album_id = uuid.uuid4().hex
        with self.shared.lock:
            self.shared.albums[album_id] = {"title": title, "items": []}
        self._json(200, {"id": album_id, "title": title, "isWriteable": True,
                         "productUrl": f"https://photos.google.com/lr/album/{album_id}"})

    def _add_to_album(self, album_id: str, body: dict) -> None:
        ids = body.get("mediaItemIds") or []
        with self.shared.lock:
            album = self.shared.albums.get(album_id)
            if album is None:
                refusal = _error(404, "NOT_FOUND", "No album of this app has this id")
            elif not 1 <= len(ids) <= 50:
                refusal = _error(400, "INVALID_ARGUMENT", f"mediaItemIds holds {len(ids)} ids: 1 to 50")
            elif any(media_id not in self.shared.items for media_id in ids):
                refusal = _error(400, "INVALID_ARGUMENT", "Only media items the app made can be added")
            else:
                refusal = None
                album["items"] += [media_id for media_id in ids if media_id not in album["items"]]
        self._json(*(refusal or (200, {})))

"""The hostile input corpus: requests a broken or malicious client sends, each with the one answer the
server must give. Sent over real sockets: through httpx when the request is valid HTTP, byte by byte
when it is not (httpx would refuse to send it).

Kinds of answer:
- "json": the app answers with the status and a JSON error whose message names the problem.
- "parser": the request is not valid HTTP (RFC 9112), so uvicorn's parser refuses it before the app sees
  anything: its own plain-text 400 and the connection closed. No JSON is possible at that level.
- "closed": the client stopped in the middle of its body; the server drops the connection without an
  answer (there is nobody left to read one) and keeps nothing of the partial body.
- "bare": a HEAD answer, status only (HEAD has no body).
"""

from __future__ import annotations

import base64
import json
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx

from media_fixtures import jpeg

PHOTO = jpeg(9001)
TUS = "1.0.0"
PARSER_REFUSAL = b"Invalid HTTP request received."


@dataclass
class World:
    """Where the cases are sent, as whom, and the requester's own objects they aim at."""
    url: str
    key: str
    ids: dict[str, object] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: the connection closed without an answer
    headers: dict[str, str]
    body: bytes
    closed: bool  # the server closed the connection after answering


@dataclass(frozen=True)
class Case:
    name: str
    send: Callable[[World], Answer]
    status: int | None
    kind: str = "json"
    error: str | None = None  # the JSON "error" code
    mentions: str = ""  # words the message must contain: it names the problem
    tus: bool = False  # needs the tus routes
    bug: str = ""  # a known bug of another module, reported: the case is expected to fail until it is fixed


# -- sending -----------------------------------------------------------------------------------------


Body = bytes | Callable[[], bytes]  # a callable for the big ones, made only when sent


def api(method: str, path: str, *, params: dict | None = None, json_body=None, content: Body | None = None,
        headers: dict[str, str] | None = None, auth: str | None = "key") -> Callable[[World], Answer]:
    """A valid HTTP request through httpx; path and params may use {asset_id}-style fields of world.ids."""
    def send(world: World) -> Answer:
        sent_headers = dict(headers or {})
        if auth == "key":
            sent_headers.setdefault("Authorization", f"Bearer {world.key}")
        elif auth is not None:
            sent_headers["Authorization"] = auth
        filled = {key: str(value).format(**world.ids) for key, value in (params or {}).items()}
        with httpx.Client(base_url=f"{world.url}/api/v1", timeout=120) as client:
            response = client.request(method, path.format(**world.ids), params=filled, json=json_body,
                                      content=content() if callable(content) else content, headers=sent_headers)
        return Answer(response.status_code, dict(response.headers), response.content,
                      response.headers.get("connection") == "close")
    return send


def site(method: str, path: str, *, data: dict | None = None, content: bytes | None = None,
         headers: dict[str, str] | None = None) -> Callable[[World], Answer]:
    """A request to the server's root without credentials (what a link opens: /s/{token}); path may use
    {share_token}-style fields of world.ids."""
    def send(world: World) -> Answer:
        with httpx.Client(base_url=world.url, timeout=120) as client:
            response = client.request(method, path.format(**world.ids), data=data, content=content, headers=headers)
        return Answer(response.status_code, dict(response.headers), response.content,
                      response.headers.get("connection") == "close")
    return send


def raw_site(target: bytes) -> Callable[[World], Answer]:
    """A GET of a hand-written target at the server's root, closing after the answer."""
    return raw(lambda world: request_bytes("GET", target, [(b"Connection", b"close")]))


def raw(build: Callable[[World], bytes], half_close: bool = False) -> Callable[[World], Answer]:
    """Bytes written to a socket as they are: for requests that are not valid HTTP, or cut short."""
    def send(world: World) -> Answer:
        return exchange(world.port, build(world), half_close)
    return send


def exchange(port: int, data: bytes, half_close: bool = False, timeout: float = 30) -> Answer:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        try:
            connection.sendall(data)
            if half_close:
                connection.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking everything: read what it said
        received = b""
        try:
            while chunk := connection.recv(1 << 16):
                received += chunk
        except ConnectionResetError:
            pass
    return parse_answer(received)


def parse_answer(received: bytes) -> Answer:
    """The first response in what the server sent before closing."""
    if not received:
        return Answer(None, {}, b"", True)
    head, _, rest = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", len(rest)))
    return Answer(int(status_line.split()[1]), headers, rest[:length], True)


def request_bytes(method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> bytes:
    lines = [b"%s %s HTTP/1.1" % (method.encode(), target), b"Host: 127.0.0.1"]
    lines += [name + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def raw_request(method: str, target: str | bytes, extra: list[tuple[bytes, bytes]] = (), body: Body = b"",
                half_close: bool = False, authenticated: bool = True) -> Callable[[World], Answer]:
    """A hand-written request, closing after the answer; target relative to /api/v1."""
    def build(world: World) -> bytes:
        path = target.encode() if isinstance(target, str) else target
        credentials = [(b"Authorization", f"Bearer {world.key}".encode())] if authenticated else []
        headers = [*credentials, (b"Connection", b"close"), *extra]
        return request_bytes(method, b"/api/v1" + path, headers, body() if callable(body) else body)
    return raw(build, half_close)


UPLOAD_TARGET = "/assets?" + urlencode({"filename": "a.jpg", "modified_at": "2022-01-01T00:00:00Z"})


def upload(params: dict | None = None, body: bytes = PHOTO, **kwargs) -> Callable[[World], Answer]:
    query = {"filename": "IMG_0001.jpg", "modified_at": "2022-01-01T00:00:00Z", **(params or {})}
    query = {key: value for key, value in query.items() if value is not None}
    return api("POST", "/assets", params=query, content=body,
               headers={"Content-Type": "application/octet-stream", **kwargs.pop("headers", {})}, **kwargs)


def raw_upload(content_length: bytes | None, body: bytes = PHOTO, extra: list[tuple[bytes, bytes]] = (),
               half_close: bool = False) -> Callable[[World], Answer]:
    headers = [(b"Content-Type", b"application/octet-stream"), *extra]
    if content_length is not None:
        headers.append((b"Content-Length", content_length))
    return raw_request("POST", UPLOAD_TARGET, headers, body, half_close)


BACKUP = (b"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<smses count=\"1\">\n"
          b'<sms address="+491511234567" date="1700000000000" type="1" body="hostile" /></smses>\n')
ENTITY_BOMB = (b'<?xml version="1.0"?>\n<!DOCTYPE smses [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
               b'<!ENTITY c "&b;&b;&b;&b;&b;&b;">]>\n<smses><sms address="1" date="1" type="1" body="&c;" /></smses>')
EXTERNAL_ENTITY = (b'<?xml version="1.0"?>\n<!DOCTYPE smses [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                   b'<smses><sms address="1" date="1" type="1" body="&x;" /></smses>')


def backup(body: bytes, **params) -> Callable[[World], Answer]:
    """A messages backup uploaded plainly (POST /messages/imports); a param given as None is left out."""
    query = {key: value for key, value in {"filename": "sms.xml", **params}.items() if value is not None}
    return api("POST", "/messages/imports", params=query, content=body,
               headers={"Content-Type": "application/octet-stream"})


def post_json(path: str, body: Body, content_type: str = "application/json") -> Callable[[World], Answer]:
    return api("POST", path, content=body, headers={"Content-Type": content_type})


def unauthenticated_json(path: str, body: Body) -> Callable[[World], Answer]:
    """A JSON body sent without credentials, over a raw socket: the server may answer before reading it."""
    def length(world: World) -> bytes:
        return b"%d" % len(body() if callable(body) else body)
    return lambda world: raw_request("POST", path, [(b"Content-Type", b"application/json"),
                                                    (b"Content-Length", length(world))], body,
                                     authenticated=False)(world)


def chunked(body: bytes, piece: int = 1 << 16) -> bytes:
    pieces = [body[i:i + piece] for i in range(0, len(body), piece)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def multipart(payload: bytes, boundary: bytes = b"hostileboundary") -> bytes:
    return (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n"
            b"Content-Type: image/jpeg\r\n\r\n" + payload + b"\r\n--" + boundary + b"--\r\n")


def tus_metadata(**values: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


GOOD_METADATA = tus_metadata(filename="tus.jpg", modified_at="2022-01-01T00:00:00Z")


def tus_create(headers: dict[str, str]) -> Callable[[World], Answer]:
    return api("POST", "/uploads/", headers=headers)


def tus_patch(headers: dict[str, str], body: bytes = PHOTO[:1000]) -> Callable[[World], Answer]:
    """A PATCH to the requester's own unfinished upload, whose offset is 0."""
    return api("PATCH", "/uploads/{upload_id}", content=body, headers=headers)


PATCH_OK = {"Tus-Resumable": TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
CREATE_OK = {"Tus-Resumable": TUS, "Upload-Length": "5000", "Upload-Metadata": GOOD_METADATA}

MEGABYTE = "a" * (1 << 20)
TOO_DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_WITHIN_LIMITS = b"[" * 10_000 + b"]" * 10_000
EDGE_DATES = {  # each overflows when turned into UTC or moved a day, or lies beyond what the system keeps
    "9999-minus-14h": "9999-12-31T23:59:59-14:00", "year-1-plus-14h": "0001-01-01T00:00:00+14:00",
    "2300": "2300-01-01T00:00:00Z", "1899": "1899-12-31T23:59:59Z",
}


def json_of_20_mib() -> bytes:
    return b'{"items": [' + b" " * (20 << 20) + b"]}"


def padding_of_15_mib() -> bytes:
    """Five million empty objects in a field no model has: 338 MiB of Python objects when parsed whole."""
    return b'{"pad": [' + b"{}," * 5_000_000 + b"{}]}"


def _cases() -> list[Case]:
    c = Case
    return [
        # -- the plain upload: lengths, declared values, names, bodies -----------------------------------
        c("upload-size-negative", upload({"size": -1}), 400, error="bad_request", mentions="positive"),
        c("upload-size-zero", upload({"size": 0}), 400, error="bad_request", mentions="positive"),
        c("upload-size-huge", upload({"size": 10**30}), 413, error="too_large", mentions="server's limit"),
        c("upload-size-not-a-number", upload({"size": "abc"}), 422, error="invalid_request", mentions="query.size"),
        c("upload-size-fractional", upload({"size": "1.5"}), 422, error="invalid_request", mentions="query.size"),
        c("upload-size-differs-from-body", upload({"size": 5}), 400, error="bad_request", mentions="does not match"),
        c("upload-sha1-not-hex", upload({"sha1": "z" * 40}), 400, error="bad_request", mentions="40 hexadecimal"),
        c("upload-sha1-too-long", upload({"sha1": "a" * 41}), 400, error="bad_request", mentions="40 hexadecimal"),
        c("upload-sha1-differs-from-body", upload({"sha1": "a" * 40}), 400, error="bad_request",
          mentions="does not match"),
        c("upload-modified-at-garbage", upload({"modified_at": "yesterday"}), 422, error="invalid_request",
          mentions="query.modified_at"),
        c("upload-modified-at-year-99999", upload({"modified_at": "99999-01-01T00:00:00Z"}), 422,
          error="invalid_request", mentions="query.modified_at"),
        *[c(f"upload-modified-at-{name}", upload({"modified_at": moment}), 422, error="invalid_request",
            mentions="outside years 1900 to 2200") for name, moment in EDGE_DATES.items()],
        *[c(f"album-created-at-{name}", api("POST", "/albums", json_body={"title": "t", "created_at": moment}),
            422, error="invalid_request", mentions="body.created_at: value error, created_at") for name, moment in
          EDGE_DATES.items()],
        c("upload-modified-at-missing", upload({"modified_at": None}), 422, error="invalid_request",
          mentions="query.modified_at: Field required"),
        c("upload-filename-missing", upload({"filename": None}), 422, error="invalid_request",
          mentions="query.filename: Field required"),
        c("upload-filename-empty", upload({"filename": ""}), 400, error="bad_request", mentions="filename must be"),
        c("upload-filename-5000-chars", upload({"filename": "x" * 5000}), 400, error="bad_request",
          mentions="filename must be"),
        c("upload-empty-body", upload(body=b""), 400, error="bad_request", mentions="empty body"),
        c("upload-text-not-media", upload(body=b"just some text\n" * 100), 415, error="unsupported_media",
          mentions="not a photo or video"),
        c("upload-multipart-wrapped-photo", upload(body=multipart(PHOTO)), 415, error="unsupported_media",
          mentions="not a photo or video"),
        c("upload-content-length-beyond-server-limit", raw_upload(b"%d" % 10**15, b""), 413, error="too_large",
          mentions="server's limit"),
        c("upload-content-length-beyond-quota", raw_upload(b"%d" % (6 << 30), b""), 413, error="quota_exceeded",
          mentions="quota exceeded"),
        c("upload-content-length-negative", raw_upload(b"-5"), 400, kind="parser"),
        c("upload-content-length-not-a-number", raw_upload(b"abc"), 400, kind="parser"),
        c("upload-content-length-overflows-64-bits", raw_upload(b"9" * 26), 400, kind="parser"),
        c("upload-content-length-twice", raw_upload(b"5", extra=[(b"Content-Length", b"6")]), 400, kind="parser"),
        c("upload-content-length-and-chunked", raw_upload(b"5", chunked(PHOTO),
                                                          extra=[(b"Transfer-Encoding", b"chunked")]),
          400, kind="parser"),
        c("upload-chunk-size-not-hex", raw_upload(None, b"zz\r\nab\r\n0\r\n\r\n",
                                                  extra=[(b"Transfer-Encoding", b"chunked")]), 400, kind="parser"),
        c("upload-truncated-body", raw_upload(b"%d" % (len(PHOTO) + 1000), half_close=True), None, kind="closed"),
        c("upload-truncated-chunked-body", raw_upload(None, chunked(PHOTO)[:-20],
                                                      extra=[(b"Transfer-Encoding", b"chunked")], half_close=True),
          None, kind="closed"),
        c("upload-truncated-multipart-body",
          raw_upload(b"%d" % (len(multipart(PHOTO)) + 500), multipart(PHOTO)[:-30],
                     extra=[(b"Content-Type", b"multipart/form-data; boundary=hostileboundary")], half_close=True),
          None, kind="closed"),
        c("upload-without-credentials", upload(auth=None), 401, error="unauthorized", mentions="missing credentials"),
        c("upload-basic-auth", upload(auth="Basic YTpi"), 401, error="unauthorized", mentions="missing credentials"),
        c("upload-unknown-key", upload(auth="Bearer pck_not-a-key"), 401, error="unauthorized", mentions="invalid"),
        # -- search: query strings (gallery/search): a 400 naming the parameter, never a 500 ---------------
        c("search-to-before-from", api("GET", "/search", params={"from": "2023-07-15", "to": "2023-07-14"}), 400,
          error="bad_request", mentions="before from"),
        c("search-date-garbage", api("GET", "/search", params={"from": "2023-13-45"}), 400, error="bad_request",
          mentions="not a date"),
        c("search-date-year-99999", api("GET", "/search", params={"to": "99999-01-01"}), 400, error="bad_request",
          mentions="to"),
        c("search-kind-unknown", api("GET", "/search", params={"kind": "<script>"}), 400, error="bad_request",
          mentions="photo or video"),
        c("search-favorite-garbage", api("GET", "/search", params={"favorite": "2"}), 400, error="bad_request",
          mentions="true or false"),
        c("search-album-not-a-uuid", api("GET", "/search", params={"album": "../../etc"}), 400, error="bad_request",
          mentions="UUID"),
        c("search-album-never-made", api("GET", "/search", params={"album": "00000000-0000-0000-0000-000000000099"}),
          404, error="not_found", mentions="no album"),
        c("search-limit-huge", api("GET", "/search", params={"limit": 10**12}), 400, error="bad_request",
          mentions="limit"),
        c("search-q-fts-syntax", api("GET", "/search", params={"q": 'a" OR NEAR(* -', "filename": "x*:A | !"}), 200,
          kind="answer"),
        c("search-q-nul-and-controls", raw_request("GET", "/search?q=%00%01%7f&place=%00"), 400, error="bad_request",
          mentions="no letters or digits"),
        c("search-q-100k", api("GET", "/search", params={"q": "w " * 400}), 400, error="bad_request",
          mentions="longer than 500"),
        c("search-cursor-forged", api("GET", "/search", params={"cursor": base64.urlsafe_b64encode(
            b"9999-99-99|zz").decode()}), 400, error="bad_request", mentions="invalid cursor"),
        # -- listing: query strings ---------------------------------------------------------------------
        c("list-limit-zero", api("GET", "/assets", params={"limit": 0}), 422, error="invalid_request",
          mentions="query.limit"),
        c("list-limit-huge", api("GET", "/assets", params={"limit": 10**12}), 422, error="invalid_request",
          mentions="query.limit"),
        c("list-limit-invalid-utf8", raw_request("GET", "/assets?limit=%ff%fe"), 422, error="invalid_request",
          mentions="query.limit"),
        c("list-cursor-garbage", api("GET", "/assets", params={"cursor": "!!!"}), 400, error="bad_request",
          mentions="invalid cursor"),
        c("list-cursor-invalid-utf8", raw_request("GET", "/assets?cursor=%ff%fe%fd"), 400, error="bad_request",
          mentions="invalid cursor"),
        c("list-cursor-forged", api("GET", "/assets", params={
            "cursor": base64.urlsafe_b64encode(b"9999-99-99|zz").decode()}), 400, error="bad_request",
          mentions="invalid cursor"),
        c("list-cursor-too-long", api("GET", "/assets", params={"cursor": "A" * 201}), 422,
          error="invalid_request", mentions="query.cursor"),
        c("list-trashed-not-a-boolean", api("GET", "/assets", params={"trashed": "maybe"}), 422,
          error="invalid_request", mentions="query.trashed"),
        c("query-raw-bytes-not-ascii", raw_request("GET", b"/assets?\xff\xfe=1"), 400, kind="parser"),
        # -- the map's box and zoom -----------------------------------------------------------------------
        c("map-zoom-negative", api("GET", "/map/clusters", params={"zoom": -1}), 422, error="invalid_request",
          mentions="query.zoom"),
        c("map-zoom-beyond-64-bits", api("GET", "/map/clusters", params={"zoom": "9" * 30}), 422,
          error="invalid_request", mentions="query.zoom"),
        c("map-latitude-beyond-the-pole", api("GET", "/map/clusters", params={"north": 90.5}), 422,
          error="invalid_request", mentions="query.north"),
        c("map-longitude-not-a-number", api("GET", "/map/clusters", params={"west": "nan"}), 422,
          error="invalid_request", mentions="query.west"),
        c("map-longitude-infinite", api("GET", "/map/clusters", params={"east": "-inf"}), 422,
          error="invalid_request", mentions="query.east"),
        c("map-box-upside-down", api("GET", "/map/clusters", params={"south": 10, "north": -10}), 400,
          error="bad_request", mentions="south"),
        c("map-box-too-large-for-the-zoom", api("GET", "/map/clusters", params={"zoom": 20}), 400,
          error="bad_request", mentions="too large for zoom 20"),
        # -- path parameters: traversal, NUL, invalid UTF-8, absurd ids ---------------------------------
        c("asset-id-not-a-uuid", api("GET", "/assets/not-a-uuid"), 422, error="invalid_request",
          mentions="path.asset_id"),
        c("asset-id-encoded-traversal", raw_request("GET", "/assets/..%2F..%2F..%2Fetc%2Fpasswd/original"), 404,
          error="not_found", mentions="not found"),
        c("asset-id-dot-segments", raw_request("GET", "/assets/../../../../etc/passwd"), 404, error="not_found",
          mentions="not found"),
        c("asset-id-encoded-nul", raw_request("GET", "/assets/%00/original"), 422, error="invalid_request",
          mentions="path.asset_id"),
        c("asset-id-raw-nul", raw_request("GET", b"/assets/\x00/original"), 400, kind="parser"),
        c("asset-id-unknown", api("GET", "/assets/00000000-0000-0000-0000-000000000000/original"), 404,
          error="not_found", mentions="no asset"),
        c("album-id-invalid-utf8", raw_request("GET", "/albums/%ff%fe%fd"), 422, error="invalid_request",
          mentions="path.album_id"),
        c("album-id-encoded-nul-and-traversal", raw_request("DELETE", "/albums/..%00..%2F..%2Fx"), 404,
          error="not_found", mentions="not found"),
        c("device-id-not-a-number", api("DELETE", "/devices/abc"), 422, error="invalid_request",
          mentions="path.device_id"),
        c("device-id-negative", api("DELETE", "/devices/-1"), 422, error="invalid_request",
          mentions="path.device_id"),
        c("device-id-beyond-64-bits", api("DELETE", "/devices/9223372036854775808"), 422, error="invalid_request",
          mentions="path.device_id"),
        c("session-id-beyond-64-bits", api("DELETE", "/auth/sessions/" + "9" * 30), 422, error="invalid_request",
          mentions="path.session_id"),
        c("export-part-number-beyond-64-bits", api("GET", "/export/{export_id}/parts/" + "9" * 30), 422,
          error="invalid_request", mentions="path.number"),
        c("unknown-route", api("GET", "/etc/passwd"), 404, error="not_found", mentions="not found"),
        c("wrong-method", api("PUT", "/me"), 405, error="method_not_allowed", mentions="not allowed"),
        c("head-of-a-post-only-route", api("HEAD", "/auth/login"), 405, kind="bare"),
        c("list-cursor-at-year-9999", api("GET", "/assets", params={"cursor": base64.urlsafe_b64encode(
            b"9999-12-31T23:59:59-14:00|" + b"0" * 32).decode()}), 200, kind="bare"),  # past the end: the newest
        # -- byte ranges on one's own original ----------------------------------------------------------
        c("range-not-a-range", api("GET", "/assets/{asset_id}/original", headers={"Range": "bytes=abc"}), 416,
          error="range_not_satisfiable", mentions="malformed range"),
        c("range-reversed", api("GET", "/assets/{asset_id}/original", headers={"Range": "bytes=9-2"}), 416,
          error="range_not_satisfiable", mentions="outside"),
        c("range-beyond-the-end", api("GET", "/assets/{asset_id}/original", headers={"Range": "bytes=99999999-"}),
          416, error="range_not_satisfiable", mentions="outside"),
        c("range-number-of-30-digits", api("GET", "/assets/{asset_id}/original",
                                           headers={"Range": "bytes=" + "9" * 30 + "-"}),
          416, error="range_not_satisfiable", mentions="outside"),
        c("range-empty-suffix", api("GET", "/assets/{asset_id}/original", headers={"Range": "bytes=-0"}), 416,
          error="range_not_satisfiable", mentions="empty suffix"),
        # -- JSON bodies: bombs, limits, broken encodings -----------------------------------------------
        c("json-nested-100000-deep", post_json("/albums", TOO_DEEP), 413, error="too_large",
          mentions="limit of 131072 bytes"),
        c("json-nested-10000-deep", post_json("/albums", DEEP_WITHIN_LIMITS), 422, error="invalid_request",
          mentions="nested too deeply"),
        c("json-nested-deep-inside-a-field", post_json("/assets/check", b'{"items": ' + TOO_DEEP + b"}"), 422,
          error="invalid_request", mentions="nested too deeply"),
        c("json-check-10001-items", api("POST", "/assets/check", json_body={
            "items": [{"id": str(n), "sha1": "a" * 40} for n in range(10_001)]}), 422, error="invalid_request",
          mentions="at most 10000 items"),
        c("json-album-10001-asset-ids", api("PUT", "/albums/{album_id}/assets", json_body={
            "asset_ids": ["00000000-0000-0000-0000-%012d" % n for n in range(10_001)]}), 422,
          error="invalid_request", mentions="at most 10000 items"),
        c("json-body-of-20-mib", post_json("/assets/check", json_of_20_mib), 413,
          error="too_large", mentions="limit of 4194304 bytes"),
        c("json-body-of-20-mib-chunked", raw_request("POST", "/assets/check", [
            (b"Content-Type", b"application/json"), (b"Transfer-Encoding", b"chunked")],
            lambda: chunked(json_of_20_mib(), 1 << 20)), 413, error="too_large",
          mentions="limit of 4194304 bytes"),
        c("json-padding-of-15-mib-without-credentials", unauthenticated_json("/assets/check", padding_of_15_mib),
          401, error="unauthorized", mentions="missing credentials"),
        c("json-padding-of-15-mib-to-sign-in", unauthenticated_json("/auth/login", padding_of_15_mib), 413,
          error="too_large", mentions="limit of 8192 bytes"),
        c("json-padding-within-the-limit", post_json("/assets/check", b'{"pad": [' + b"{}," * 1_000_000 + b'{}]}'),
          422, error="invalid_request", mentions="body.items: field required"),
        c("json-many-wrong-items-one-problem", post_json("/assets/check", b'{"items": [' + b"1," * 1_000_000
                                                         + b'1]}'), 422, error="invalid_request",
          mentions="body.items.0: input should be"),
        c("json-invalid-utf8", post_json("/albums", b'{"title": "\xff\xfe"}'), 422, error="invalid_request",
          mentions="not valid UTF-8"),
        c("json-lone-surrogate", post_json("/albums", b'{"title": "a\\ud800"}'), 422, error="invalid_request",
          mentions="invalid JSON"),
        c("json-raw-control-character", post_json("/albums", b'{"title": "a\x00"}'), 422, error="invalid_request",
          mentions="control character"),
        c("json-truncated", post_json("/albums", b'{"title": "ab'), 422, error="invalid_request",
          mentions="invalid JSON: EOF"),
        c("json-not-an-object", post_json("/albums", b"[]"), 422, error="invalid_request", mentions="body"),
        c("json-number-beyond-double", post_json("/albums", b'{"title": 1e999999}'), 422, error="invalid_request",
          mentions="body.title"),
        c("json-as-text-plain", post_json("/albums", b'{"title": "x"}', "text/plain"), 422,
          error="invalid_request", mentions="valid dictionary"),
        c("json-title-with-nul", api("POST", "/albums", json_body={"title": "a\u0000b"}), 400, error="bad_request",
          mentions="without NUL"),
        c("json-title-empty", api("POST", "/albums", json_body={"title": ""}), 422, error="invalid_request",
          mentions="body.title"),
        c("json-title-501-chars", api("POST", "/albums", json_body={"title": "t" * 501}), 422,
          error="invalid_request", mentions="at most 500 characters"),
        c("json-description-10001-chars", api("POST", "/albums", json_body={"title": "t", "description": "d" * 10_001}),
          422, error="invalid_request", mentions="body.description"),
        c("json-check-sha1-not-hex", api("POST", "/assets/check", json_body={"items": [{"id": "x", "sha1": "zz"}]}),
          422, error="invalid_request", mentions="body.items.0.sha1"),
        c("json-asset-id-not-a-uuid", api("PUT", "/albums/{album_id}/assets", json_body={"asset_ids": ["../x"]}),
          422, error="invalid_request", mentions="body.asset_ids.0"),
        c("json-login-password-of-1-mib", api("POST", "/auth/login", json_body={
            "email": "nobody@example.org", "password": MEGABYTE}, auth=None), 413, error="too_large",
          mentions="limit of 8192 bytes"),
        c("json-login-password-of-1025-chars", api("POST", "/auth/login", json_body={
            "email": "nobody@example.org", "password": "p" * 1025}, auth=None), 422, error="invalid_request",
          mentions="body.password"),
        c("json-device-name-empty", api("POST", "/devices", json_body={"name": ""}), 422, error="invalid_request",
          mentions="body.name"),
        # -- headers: 1 MB, many, malformed -------------------------------------------------------------
        c("header-of-1-mib", api("GET", "/health", headers={"X-Filler": MEGABYTE}, auth=None), 431,
          error="headers_too_large", mentions="exceed the limit"),
        c("authorization-header-of-1-mib", api("GET", "/me", auth="Bearer " + MEGABYTE), 431,
          error="headers_too_large", mentions="exceed the limit"),
        c("range-header-of-1-mib", api("GET", "/assets/{asset_id}/original",
                                       headers={"Range": "bytes=" + "0-0," * (1 << 18)}),
          431, error="headers_too_large", mentions="exceed the limit"),
        c("ten-thousand-headers", raw_request("GET", "/me", [(b"X-H%d" % n, b"v" * 8) for n in range(10_000)]),
          431, error="headers_too_large", mentions="exceed the limit"),
        c("header-name-with-space", raw_request("GET", "/me", [(b"Bad Header", b"x")]), 400, kind="parser"),
        c("header-value-with-nul", raw_request("GET", "/me", [(b"X-Nul", b"a\x00b")]), 400, kind="parser"),
        # -- tus: headers, offsets, metadata, content types (the rules of the tus 1.0 protocol) -----------
        c("tus-create-without-tus-resumable", tus_create({"Upload-Length": "5000"}), 412,
          error="tus_version_unsupported", mentions="Tus-Resumable", tus=True),
        c("tus-create-unsupported-version", tus_create({**CREATE_OK, "Tus-Resumable": "0.2.2"}), 412,
          error="tus_version_unsupported", mentions="Tus-Resumable", tus=True),
        c("tus-create-length-not-a-number", tus_create({**CREATE_OK, "Upload-Length": "abc"}), 400,
          error="bad_request", mentions="Upload-Length", tus=True),
        c("tus-create-length-negative", tus_create({**CREATE_OK, "Upload-Length": "-1"}), 400, error="bad_request",
          mentions="Upload-Length", tus=True),
        c("tus-create-length-fractional", tus_create({**CREATE_OK, "Upload-Length": "1e3"}), 400,
          error="bad_request", mentions="Upload-Length", tus=True),
        c("tus-create-length-of-30-digits", tus_create({**CREATE_OK, "Upload-Length": "9" * 30}), 400,
          error="bad_request", mentions="below 2^63", tus=True),
        c("tus-create-length-zero", tus_create({**CREATE_OK, "Upload-Length": "0"}), 400, error="bad_request",
          mentions="Upload-Length is 0", tus=True),
        c("tus-create-length-beyond-server-limit", tus_create({**CREATE_OK, "Upload-Length": str(10**18)}), 413,
          error="too_large", mentions="server's limit", tus=True),
        c("tus-create-length-beyond-quota", tus_create({**CREATE_OK, "Upload-Length": str(6 << 30)}), 413,
          error="quota_exceeded", mentions="quota exceeded", tus=True),
        c("tus-create-without-length", tus_create({"Tus-Resumable": TUS, "Upload-Metadata": GOOD_METADATA}), 400,
          error="bad_request", mentions="Upload-Length header is required", tus=True),
        c("tus-create-deferred-length", tus_create({**CREATE_OK, "Upload-Defer-Length": "1"}), 400,
          error="bad_request", mentions="Upload-Defer-Length", tus=True),
        c("tus-create-metadata-not-base64", tus_create({**CREATE_OK, "Upload-Metadata": "filename !!!notbase64"}),
          400, error="bad_request", mentions="not base64", tus=True),
        c("tus-create-metadata-duplicate-key", tus_create({
            **CREATE_OK, "Upload-Metadata": GOOD_METADATA + "," + tus_metadata(filename="other.jpg")}), 400,
          error="bad_request", mentions="twice", tus=True),
        c("tus-create-metadata-empty-key", tus_create({**CREATE_OK, "Upload-Metadata": GOOD_METADATA + ",,"}), 400,
          error="bad_request", mentions="Upload-Metadata key", tus=True),
        c("tus-create-metadata-not-utf8", tus_create({
            **CREATE_OK, "Upload-Metadata": "filename " + base64.b64encode(b"\xff\xfe.jpg").decode()}), 400,
          error="bad_request", mentions="not UTF-8", tus=True),
        c("tus-create-metadata-date-garbage", tus_create({**CREATE_OK, "Upload-Metadata": tus_metadata(
            filename="a.jpg", modified_at="yesterday")}), 400, error="invalid_date", mentions="ISO 8601", tus=True),
        *[c(f"tus-create-metadata-date-{name}", tus_create({**CREATE_OK, "Upload-Metadata": tus_metadata(
            filename="a.jpg", modified_at=moment)}), 400, error="invalid_date", mentions="outside years 1900 to 2200",
            tus=True) for name, moment in EDGE_DATES.items()],
        c("tus-create-metadata-of-9000-chars", tus_create({**CREATE_OK, "Upload-Metadata": tus_metadata(
            filename="n" * 6750)}), 400, error="bad_request", mentions="longer than 8192", tus=True),
        c("tus-create-metadata-of-1-mib", tus_create({**CREATE_OK, "Upload-Metadata": tus_metadata(filename=MEGABYTE)}),
          431, error="headers_too_large", mentions="exceed the limit", tus=True),
        c("tus-create-with-bytes-of-wrong-content-type", api("POST", "/uploads/", content=PHOTO, headers={
            **CREATE_OK, "Content-Type": "image/jpeg"}), 415, error="unsupported_content_type",
          mentions="application/offset+octet-stream", tus=True),
        c("tus-create-with-bytes-not-media", api("POST", "/uploads/", content=b"not a photo\n" * 400, headers={
            **CREATE_OK, "Content-Type": "application/offset+octet-stream"}), 415, error="unsupported_media",
          mentions="not a photo or video", tus=True),
        c("tus-patch-wrong-content-type", tus_patch({**PATCH_OK, "Content-Type": "application/octet-stream"}), 415,
          error="unsupported_content_type", mentions="application/offset+octet-stream", tus=True),
        c("tus-patch-without-content-type", tus_patch({k: v for k, v in PATCH_OK.items() if k != "Content-Type"}),
          415, error="unsupported_content_type", mentions="application/offset+octet-stream", tus=True),
        c("tus-patch-without-tus-resumable", tus_patch({k: v for k, v in PATCH_OK.items() if k != "Tus-Resumable"}),
          412, error="tus_version_unsupported", mentions="Tus-Resumable", tus=True),
        c("tus-patch-offset-missing", tus_patch({k: v for k, v in PATCH_OK.items() if k != "Upload-Offset"}), 400,
          error="bad_request", mentions="Upload-Offset header is required", tus=True),
        c("tus-patch-offset-not-a-number", tus_patch({**PATCH_OK, "Upload-Offset": "zero"}), 400,
          error="bad_request", mentions="Upload-Offset", tus=True),
        c("tus-patch-offset-negative", tus_patch({**PATCH_OK, "Upload-Offset": "-1"}), 400, error="bad_request",
          mentions="Upload-Offset", tus=True),
        c("tus-patch-offset-of-30-digits", tus_patch({**PATCH_OK, "Upload-Offset": "9" * 30}), 400,
          error="bad_request", mentions="below 2^63", tus=True),
        c("tus-patch-offset-ahead", tus_patch({**PATCH_OK, "Upload-Offset": "100"}), 409, error="conflict",
          mentions="not the upload's offset", tus=True),
        c("tus-patch-beyond-upload-length", tus_patch(PATCH_OK, PHOTO + b"\0" * 5000), 413, error="too_large",
          mentions="Upload-Length", tus=True),
        c("tus-patch-checksum-unknown-algorithm", tus_patch({**PATCH_OK, "Upload-Checksum": "crc32 AAAA"}), 400,
          error="bad_request", mentions="not supported", tus=True),
        c("tus-patch-checksum-not-base64", tus_patch({**PATCH_OK, "Upload-Checksum": "sha1 !!!"}), 400,
          error="bad_request", mentions="not base64", tus=True),
        c("tus-patch-checksum-wrong-length", tus_patch({**PATCH_OK, "Upload-Checksum": "sha1 AAAA"}), 400,
          error="bad_request", mentions="digest has 3 bytes", tus=True),
        c("tus-patch-checksum-mismatch", tus_patch({**PATCH_OK, "Upload-Checksum": "sha1 " + base64.b64encode(
            b"\0" * 20).decode()}), 460, error="checksum_mismatch", mentions="checksum", tus=True),
        c("tus-patch-unknown-upload", api("PATCH", "/uploads/" + "0" * 32, content=b"x", headers=PATCH_OK), 404,
          error="not_found", mentions="no upload", tus=True),
        c("tus-patch-upload-id-not-hex", api("PATCH", "/uploads/zz%00zz", content=b"x", headers=PATCH_OK), 404,
          error="not_found", mentions="no upload", tus=True),
        c("tus-head-unknown-upload", api("HEAD", "/uploads/" + "0" * 32, headers={"Tus-Resumable": TUS}), 404,
          kind="bare", tus=True),
        c("tus-head-without-tus-resumable", api("HEAD", "/uploads/{upload_id}"), 412, kind="bare", tus=True),
        c("tus-delete-unknown-upload", api("DELETE", "/uploads/" + "0" * 32, headers={"Tus-Resumable": TUS}), 404,
          error="not_found", mentions="no upload", tus=True),
        c("tus-method-override-unknown", api("POST", "/uploads/{upload_id}", headers={
            "Tus-Resumable": TUS, "X-HTTP-Method-Override": "GET"}), 400, error="bad_request",
          mentions="X-HTTP-Method-Override", tus=True),
        c("tus-upload-id-traversal", raw_request("PATCH", "/uploads/..%2F..%2Fetc%2Fpasswd",
                                                 [(name.encode(), value.encode()) for name, value in PATCH_OK.items()]
                                                 + [(b"Content-Length", b"1")], b"x"),
          404, error="not_found", mentions="not found", tus=True),
        # -- messages: backups uploaded, listings, search ------------------------------------------------
        c("messages-import-billion-laughs", backup(ENTITY_BOMB), 415, error="unsupported_media",
          mentions="document type declaration"),
        c("messages-import-external-entity", backup(EXTERNAL_ENTITY), 415, error="unsupported_media",
          mentions="document type declaration"),
        c("messages-import-other-xml", backup(b"<?xml version='1.0'?><html><body/></html>"), 415,
          error="unsupported_media", mentions="not <smses> or <calls>"),
        c("messages-import-encrypted", backup(b"SSEF\x00\xff" + bytes(100)), 415, error="unsupported_media",
          mentions="decrypt it first"),
        c("messages-import-photo", backup(PHOTO), 415, error="unsupported_media", mentions="not a messages backup"),
        c("messages-import-empty-body", backup(b""), 400, error="bad_request", mentions="empty body"),
        c("messages-import-filename-missing", backup(BACKUP, filename=None), 422, error="invalid_request",
          mentions="query.filename: Field required"),
        c("messages-import-modified-at-garbage", backup(BACKUP, modified_at="yesterday"), 422,
          error="invalid_request", mentions="query.modified_at"),
        c("messages-import-sha1-differs", backup(BACKUP, sha1="a" * 40), 400, error="bad_request",
          mentions="does not match"),
        c("messages-import-content-length-beyond-quota", raw_request(
            "POST", "/messages/imports?filename=sms.xml", [(b"Content-Type", b"application/octet-stream"),
                                                          (b"Content-Length", b"%d" % (6 << 30))]), 413,
          error="quota_exceeded", mentions="quota exceeded"),
        c("messages-import-tus-billion-laughs", api("POST", "/uploads/", content=ENTITY_BOMB, headers={
            "Tus-Resumable": TUS, "Upload-Length": str(len(ENTITY_BOMB)), "Content-Type": "application/offset+octet-stream",
            "Upload-Metadata": tus_metadata(filename="sms.xml", destination="messages")}), 415,
          error="unsupported_media", mentions="document type declaration", tus=True),
        c("tus-create-destination-unknown", tus_create({**CREATE_OK, "Upload-Metadata": tus_metadata(
            filename="a.jpg", destination="nowhere")}), 400, error="bad_request", mentions="no upload destination",
          tus=True),
        c("messages-search-without-q", api("GET", "/messages/search"), 422, error="invalid_request",
          mentions="query.q: Field required"),
        c("messages-search-q-of-501-chars", api("GET", "/messages/search", params={"q": "x" * 501}), 422,
          error="invalid_request", mentions="query.q"),
        c("messages-search-q-without-words", api("GET", "/messages/search", params={"q": "*) (\"\"* -"}), 400,
          error="bad_request", mentions="no word to search for"),
        c("messages-conversations-cursor-garbage", api("GET", "/messages/conversations", params={"cursor": "!!!"}),
          400, error="bad_request", mentions="invalid cursor"),
        c("messages-calls-cursor-forged", api("GET", "/messages/calls", params={
            "cursor": base64.urlsafe_b64encode(b'["99999999999999999999", "x"]').decode()}), 400,
          error="bad_request", mentions="invalid cursor"),
        c("messages-imports-limit-zero", api("GET", "/messages/imports", params={"limit": 0}), 422,
          error="invalid_request", mentions="query.limit"),
        c("messages-conversation-id-not-a-uuid", api("GET", "/messages/conversations/not-a-uuid"), 422,
          error="invalid_request", mentions="path.conversation_id"),
        c("messages-part-id-not-a-uuid", api("GET", "/messages/parts/1%00/data"), 422, error="invalid_request",
          mentions="path.part_id"),
        c("messages-import-id-unknown", api("DELETE", "/messages/imports/" + str(uuid.UUID(int=9))), 404,
          error="not_found", mentions="no import"),
        c("messages-retry-import-id-unknown", api("POST", f"/messages/imports/{uuid.UUID(int=9)}/retry"), 404,
          error="not_found", mentions="no import"),
        c("messages-retry-import-id-not-a-uuid", api("POST", "/messages/imports/1%00/retry"), 422,
          error="invalid_request"),
        *_sharing_cases(),
    ]


NOWHERE = str(uuid.UUID(int=1))


def _sharing_cases() -> list[Case]:
    """Links (the API that makes them, and what anyone may send to /s/{token}) and albums shared with users."""
    c = Case
    link = "/s/{share_token}"
    return [
        c("share-both-album-and-items", api("POST", "/shares", json_body={"album_id": NOWHERE, "asset_ids": [NOWHERE]}),
          400, error="bad_request", mentions="either album_id"),
        c("share-neither-album-nor-items", api("POST", "/shares", json_body={}), 400, error="bad_request",
          mentions="either album_id"),
        c("share-expired-before-it-is-made", api("POST", "/shares", json_body={
            "asset_ids": [NOWHERE], "expires_at": "2001-01-01T00:00:00Z"}), 400, error="bad_request",
          mentions="in the past"),
        *[c(f"share-expires-at-{name}", api("POST", "/shares", json_body={"asset_ids": [NOWHERE],
                                                                          "expires_at": moment}),
            422, error="invalid_request", mentions="outside years 1900 to 2200")
          for name, moment in EDGE_DATES.items()],
        c("share-10001-asset-ids", api("POST", "/shares", json_body={
            "asset_ids": ["00000000-0000-0000-0000-%012d" % n for n in range(10_001)]}), 422, error="invalid_request",
          mentions="at most 10000 items"),
        c("share-password-of-1025-chars", api("POST", "/shares", json_body={"asset_ids": [NOWHERE],
                                                                            "password": "p" * 1025}),
          422, error="invalid_request", mentions="body.password"),
        c("share-title-with-nul", api("POST", "/shares", json_body={"asset_ids": [NOWHERE], "title": "a\u0000b"}),
          400, error="bad_request", mentions="without NUL"),
        c("share-unknown-album", api("POST", "/shares", json_body={"album_id": NOWHERE}), 404, error="not_found",
          mentions="no album"),
        c("share-id-not-a-uuid", api("DELETE", "/shares/not-a-uuid"), 422, error="invalid_request",
          mentions="path.share_id"),
        c("share-id-unknown", api("DELETE", f"/shares/{NOWHERE}"), 404, error="not_found", mentions="no link"),
        c("album-member-role-unknown", api("PUT", "/albums/{album_id}/members", json_body={
            "email": "a@example.org", "role": "owner"}), 422, error="invalid_request", mentions="body.role"),
        c("album-member-email-garbage", api("PUT", "/albums/{album_id}/members", json_body={
            "email": "<script>@", "role": "viewer"}), 400, error="bad_request", mentions="not an email address"),
        c("album-member-nobody", api("PUT", "/albums/{album_id}/members", json_body={
            "email": "nobody@example.org", "role": "viewer"}), 400, error="bad_request", mentions="no user with email"),
        c("album-member-email-of-1-mib", api("PUT", "/albums/{album_id}/members", json_body={
            "email": MEGABYTE, "role": "viewer"}), 413, error="too_large", mentions="limit of 65536 bytes"),
        c("shared-album-leave-unknown", api("DELETE", f"/shared-albums/{NOWHERE}"), 404, error="not_found",
          mentions="no album"),
        # -- what anyone may send to a link ---------------------------------------------------------------
        c("link-token-of-1000-chars", site("GET", "/s/" + "A" * 1000), 404, kind="bare"),
        c("link-token-never-made", site("GET", "/s/" + "A" * 43 + "/download"), 404, kind="bare"),
        c("link-token-encoded-nul", raw_site(b"/s/%00"), 404, kind="bare"),
        c("link-token-encoded-traversal", raw_site(b"/s/..%2F..%2Fapi%2Fv1%2Fme"), 404, kind="bare"),
        c("link-token-dot-segments", raw_site(b"/s/../../api/v1/me"), 404, kind="bare"),  # not resolved: no route
        c("link-asset-id-not-a-uuid", site("GET", link + "/assets/..%2F..%2Fetc/original"), 404, kind="bare"),
        c("link-asset-of-someone-else", site("GET", link + "/assets/" + NOWHERE + "/original"), 404, kind="bare"),
        c("link-range-reversed", site("GET", link + "/assets/{asset_id}/original", headers={"Range": "bytes=9-2"}),
          416, kind="bare"),
        c("link-zip-range-beyond-the-end", site("GET", link + "/download", headers={"Range": "bytes=999999999-"}),
          416, kind="bare"),
        c("link-cursor-forged", site("GET", link + "?cursor=" + base64.urlsafe_b64encode(b"9999|zz").decode()), 400,
          kind="bare"),
        c("link-cookie-forged", site("GET", link, headers={"Cookie": "phonecloud_link=" + "9" * 5000}), 200,
          kind="bare"),  # no password: nothing to forge; the cookie is not even read
        c("link-unlock-form-of-1-mib", site("POST", link + "/unlock", data={"password": MEGABYTE}), 413, kind="bare"),
        c("link-unlock-without-csrf", site("POST", link + "/unlock", data={"password": "x"}), 403, kind="bare"),
    ]


CASES = _cases()


def json_error(answer: Answer) -> dict:
    assert answer.headers.get("content-type", "").startswith("application/json"), answer
    return json.loads(answer.body)

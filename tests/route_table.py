"""The app's own route table, read the way FastAPI serves it, and what a user holds according to it.

Tests that must cover every endpoint (isolation, hostile input) start from here, so that a route added
later is covered without anyone remembering to list it.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from functools import cache

from fastapi import params as fastapi_params
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from phonecloud.server.app import create_app
from phonecloud.server.kinds import KINDS

_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
# Served by FastAPI itself, the same for everyone.
_DOCUMENTATION = ("/openapi.json", "/docs", "/oauth2-redirect")


API = "/api/v1"
IMMICH = "/api"  # Immich's API (phonecloud.immich), beside phonecloud's own


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the template, e.g. /api/v1/assets/{asset_id}
    route: object = field(default=None, compare=False, repr=False)
    implied: bool = False  # HEAD of a GET route, answered by running the GET (core.head), not declared

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(_PARAM.findall(self.path))

    @property
    def is_api(self) -> bool:
        return self.path.startswith(API + "/")

    @property
    def is_immich(self) -> bool:
        return self.path.startswith(IMMICH + "/") and not self.is_api

    def url(self, values: dict[str, object]) -> str:
        """The path with every parameter filled in (relative to /api/v1 for the API's endpoints)."""
        return _PARAM.sub(lambda match: str(values[match.group(1)]), self.path).removeprefix(API)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@cache
def app():
    return create_app()


@cache
def kind_mounts() -> frozenset[str]:
    """The paths where kinds mount applications of their own (core.kinds.Kind.mounts)."""
    return frozenset(path for kind in KINDS for path, _ in kind.mounts())


@cache
def endpoints() -> tuple[Endpoint, ...]:
    """Every (method, path) the app answers, in the order it matches them: HEAD too wherever GET is
    (RFC 9110), marked implied unless a route declares it on its own."""
    found = []
    for route in iter_route_contexts(app().routes):
        if isinstance(route.route, Mount) and route.route.path in kind_mounts():
            continue  # a protocol a kind serves through another library (CardDAV): tested in its own folder
        if route.path is None or route.methods is None:
            raise AssertionError(f"a route whose endpoints cannot be listed (a mounted app?): {route!r}")
        if route.path.endswith(_DOCUMENTATION):
            continue
        found.extend(Endpoint(method, route.path, route) for method in sorted(route.methods))
    declared = {(endpoint.method, endpoint.path) for endpoint in found}
    found.extend(Endpoint("HEAD", endpoint.path, endpoint.route, implied=True) for endpoint in list(found)
                 if endpoint.method == "GET" and ("HEAD", endpoint.path) not in declared)
    return tuple(found)


@cache
def openapi() -> dict:
    return app().openapi()


def operation(endpoint: Endpoint) -> dict:
    """The endpoint's OpenAPI operation ({} for routes left out of the schema)."""
    return openapi()["paths"].get(endpoint.path, {}).get(endpoint.method.lower(), {})


def resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = openapi()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def example(schema: dict, ids: dict[str, object]):
    """A small valid instance of a JSON schema, with every field filled in (so that a request made with
    it would change something), and any UUID taken from ids["asset_id"]."""
    schema = resolve(schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return example(next(s for s in schema[key] if s.get("type") != "null"), ids)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: example(sub, ids) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [example(schema.get("items", {}), ids) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if schema.get("format") == "uuid":
        return str(ids["asset_id"])
    if schema.get("format") == "date-time":
        return "2022-01-01T00:00:00Z"
    if schema.get("pattern") == r"^[0-9a-fA-F]{40}$":
        return "0" * 40
    return "x" * max(1, schema.get("minLength", 1))


def json_body(endpoint: Endpoint, ids: dict[str, object]):
    """A valid JSON body for the endpoint, or None when it takes none."""
    content = operation(endpoint).get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    return example(content["application/json"]["schema"], ids)


def form_body(endpoint: Endpoint, ids: dict[str, object]) -> dict[str, object] | None:
    """The required fields of a route that takes an HTML form (the web pages), or None."""
    fields = getattr(getattr(endpoint.route, "dependant", None), "body_params", [])
    if not fields or not all(isinstance(f.field_info, fastapi_params.Form) for f in fields):
        return None
    values = {bool: "true", int: "1", uuid.UUID: str(ids["asset_id"])}
    return {f.alias: values.get(f.field_info.annotation, "x") for f in fields if f.field_info.is_required()}


# Fields that reading itself changes: a key's last use (written every few minutes), a part's last download.
_VOLATILE = {"last_used_at", "downloaded_at"}


def _stable(value):
    if isinstance(value, dict):
        return {key: _stable(item) for key, item in value.items() if key not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(item) for item in value]
    return value


def holdings(user, ids: dict[str, object]) -> dict[str, object]:
    """Everything the user can read: every GET endpoint (and HEAD where declared), ids filled from ids,
    as status and JSON (or a hash of other bodies). Equal before and after = nothing of theirs changed."""
    seen = {}
    for endpoint in endpoints():
        if (not endpoint.is_api or endpoint.method not in ("GET", "HEAD") or endpoint.implied
                or not set(endpoint.params) <= set(ids)):
            continue  # the web pages show the same data as the API; a HEAD tells what its GET does
        extra = {"trashed": "true"} if endpoint.path.endswith("/assets") and not endpoint.params else None
        for params in (None, extra) if extra else (None,):
            response = user.http.request(endpoint.method, endpoint.url(ids), params=params,
                                         headers={"Tus-Resumable": "1.0.0"})
            if response.headers.get("content-type", "").startswith("application/json"):
                body = _stable(response.json())
            else:
                body = hashlib.sha1(response.content).hexdigest()
            upload_state = {name: response.headers.get(name) for name in ("upload-offset", "upload-length")}
            seen[f"{endpoint} {params or ''}"] = (response.status_code, body, upload_state)
    return seen


def settled(user, asset_id, timeout: float = 120) -> dict:
    """The asset once the media pipeline is done with it (derivatives stop changing after that): its thumbnail,
    and then its preview, made or refused."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        asset = user.http.get(f"/assets/{asset_id}").json()
        if asset["media"]["state"] != "pending" and asset["media"]["preview_state"] != "pending":
            return asset
        time.sleep(0.1)
    raise AssertionError(f"asset {asset_id} still pending after {timeout} s")


def ready_export(user, timeout: float = 120) -> str:
    """A finished export of the user's library (prepared by the server's background worker)."""
    export_id = user.http.post("/export").json()["id"]
    deadline = time.monotonic() + timeout
    while (state := user.http.get(f"/export/{export_id}").json()["state"]) == "preparing":
        assert time.monotonic() < deadline, f"export still preparing after {timeout} s"
        time.sleep(0.1)
    assert state == "ready", state
    return export_id


def full_export(user) -> dict[str, bytes]:
    """Every file of a new export of the user's library, by its path in the archive."""
    export = user.http.get(f"/export/{ready_export(user)}").json()
    files = {}
    for part in export["parts"]:
        data = user.http.get(part["url"].removeprefix("/api/v1")).content
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files.update({name: archive.read(name) for name in archive.namelist()})
    return files

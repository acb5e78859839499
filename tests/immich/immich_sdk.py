"""Immich's API as Immich publishes it: the operations and shapes of its OpenAPI document, read from the
@immich/sdk npm package generated from it (installed by `make test` into .venv/immich-sdk/VERSION). Read at
test time, from the package as published; nothing of it is kept in this repository.

- operations: (method, path with every parameter as {}) → the name of the body's type (None without a body);
- types: type name → {field: required}, the top-level fields of each object type."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / ".venv" / "immich-sdk"
VERSIONS = ("1.121.0", "3.2.2")  # before and after Immich 1.133's visibility, as the two CLIs we test speak

_FUNCTION = re.compile(r"^export function (\w+)\(", re.M)
_DECLARED = re.compile(r"export declare function (\w+)\(\{[^}]*\}: \{(.*?)\}, opts", re.S)
_TYPE = re.compile(r"^export type (\w+) = \{$", re.M)


@dataclass(frozen=True)
class ImmichApi:
    version: str
    operations: dict[tuple[str, str], str | None]
    types: dict[str, dict[str, bool]]


def installed(version: str) -> Path:
    return ROOT / version / "node_modules" / "@immich" / "sdk" / "build"


def read(version: str) -> ImmichApi:
    build = installed(version)
    script, declarations = (build / "fetch-client.js").read_text(), (build / "fetch-client.d.ts").read_text()
    parameters = {name: dict(re.findall(r"(\w+)\??: (\w+)", body)) for name, body in _DECLARED.findall(declarations)}
    operations = {}
    starts = [match.start() for match in _FUNCTION.finditer(script)] + [len(script)]
    for start, end in zip(starts, starts[1:]):
        body = script[start:end]
        name = _FUNCTION.match(body).group(1)
        path = re.search(r"\.fetch\w*\((?:`([^`]*)`|\"([^\"]*)\")", body)
        if path is None:
            continue
        template = re.sub(r"\$\{QS\.query\(.*", "", path.group(1) or path.group(2), flags=re.S)
        template = re.sub(r"\$\{[^}]*\}", "{}", template)
        method = re.search(r'method: "(\w+)"', body)
        sent = re.search(r"body: (\w+)", body)
        operations[(method.group(1) if method else "GET", template)] = (
            parameters.get(name, {}).get(sent.group(1)) if sent else None)
    return ImmichApi(version, operations, _types(declarations))


def _types(declarations: str) -> dict[str, dict[str, bool]]:
    """Each object type's top-level fields (nested objects' braces skipped) and whether each is required."""
    types = {}
    for match in _TYPE.finditer(declarations):
        fields, depth = {}, 0
        for line in declarations[match.end():].splitlines()[1:]:
            if depth == 0 and line.startswith("};"):
                break
            field = re.match(r"    (\w+)(\??): ", line) if depth == 0 else None
            if field:
                fields[field.group(1)] = not field.group(2)
            depth += line.count("{") - line.count("}")
        types[match.group(1)] = fields
    return types

"""The sync client as a wheel, from the server itself, for a phone (Termux) or a NAS where phonecloud is on no
package index: `pip install http://SERVER/client/phonecloud-VERSION-py3-none-any.whl`, as the account page shows.

The server makes the wheel from the package it runs: its files (every file of the package but bytecode, as a
build of the checkout has them) and its installed metadata (the METADATA and entry points the build backend
wrote when it was installed, so the base requirements, the client's alone, with the server's behind extras).
So no build backend, checkout or network is needed, and what a person installs is the code of the server they
sync with. Each process makes it at its first request and keeps it in memory (under 1 MB); its bytes depend on
the files alone (sorted names, fixed times), so every API process of a scaled-out server serves the same wheel
with the same ETag, and none needs anything shared. A server that cannot make it (run from a folder where
phonecloud is not installed: no metadata) answers 503 with the reason, and the account page says it.

pip takes a wheel from a URL only when the URL's last segment is a wheel's file name
(name-version-python-abi-platform.whl), and checks that before it downloads anything: /client/phonecloud.whl,
for browsers and links, redirects to that name.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import threading
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

import phonecloud
from phonecloud.core.errors import PhonecloudError

NAME = "phonecloud"
TAG = "py3-none-any"  # pure Python, any Python 3 the metadata's Requires-Python allows
SHORT_PATH = "/client/phonecloud.whl"
PACKAGE = Path(phonecloud.__file__).resolve().parent
# The project's own files in the installed .dist-info; the rest (RECORD, INSTALLER, direct_url.json ...) are
# the installer's, and the wheel gets a WHEEL and a RECORD of its own.
PROJECT_INFO = ("METADATA", "entry_points.txt", "top_level.txt")
REQUIRED_INFO = ("METADATA", "entry_points.txt")  # what pip reads, and where the `phonecloud` command comes from
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: the same bytes whenever and wherever it is made


class ClientUnavailable(PhonecloudError):
    status = 503
    code = "client_unavailable"


def version() -> str:
    try:
        return metadata.version(NAME)
    except metadata.PackageNotFoundError:  # run from a folder where it is not installed
        return phonecloud.__version__


def wheel_name(of_version: str) -> str:
    return f"{NAME}-{of_version}-{TAG}.whl"


def wheel_path() -> str:
    return f"/client/{wheel_name(version())}"


def _distribution() -> metadata.Distribution:
    try:
        return metadata.distribution(NAME)
    except metadata.PackageNotFoundError:
        raise ClientUnavailable(
            "this server cannot offer its client: it runs phonecloud from a folder where phonecloud is not "
            "installed, so it has no package metadata to make the wheel with; install it where it runs "
            "(pip install -e '.[server]' in the checkout, as make run does) and restart the server") from None


def unavailable_reason() -> str | None:
    """Why the client cannot be offered, or None (without making the wheel: the account page asks this)."""
    try:
        _distribution()
    except ClientUnavailable as error:
        return error.message
    return None


def package_files(package: Path = PACKAGE) -> list[Path]:
    """The package's files as a wheel holds them: all but bytecode, hidden files and editors' backups."""
    found = []
    for path in package.rglob("*"):
        parts = path.relative_to(package).parts
        if (path.is_file() and path.suffix not in (".pyc", ".pyo") and not path.name.endswith("~")
                and not any(part == "__pycache__" or part.startswith(".") for part in parts)):
            found.append(path)
    return sorted(found, key=lambda path: path.relative_to(package).as_posix())


@dataclass(frozen=True)
class Wheel:
    name: str
    body: bytes
    etag: str


def _record_hash(body: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode()


def build(package: Path = PACKAGE, distribution: metadata.Distribution | None = None) -> Wheel:
    """The wheel of the package's files and the installed distribution's metadata."""
    distribution = distribution or _distribution()
    of_version = distribution.version
    info = f"{NAME}-{of_version}.dist-info"
    try:
        entries = [(f"{NAME}/{path.relative_to(package).as_posix()}", path.read_bytes())
                   for path in package_files(package)]
    except OSError as error:
        raise ClientUnavailable(f"this server cannot offer its client: reading its package failed: {error}") from None
    for name in PROJECT_INFO:
        text = distribution.read_text(name)
        if text is None and name in REQUIRED_INFO:
            raise ClientUnavailable(f"this server cannot offer its client: its installed metadata has no {name}; "
                                    "install phonecloud again where it runs and restart the server")
        if text is not None:
            entries.append((f"{info}/{name}", text.encode()))
    entries.append((f"{info}/WHEEL", (f"Wheel-Version: 1.0\nGenerator: phonecloud ({of_version})\n"
                                      f"Root-Is-Purelib: true\nTag: {TAG}\n").encode()))
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    writer.writerows([name, _record_hash(body), len(body)] for name, body in entries)
    writer.writerow([f"{info}/RECORD", "", ""])
    entries.append((f"{info}/RECORD", record.getvalue().encode()))

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body in entries:
            member = zipfile.ZipInfo(name, ZIP_TIME)
            member.create_system = 3  # Unix, wherever it is made: the attributes below are Unix modes
            member.external_attr = 0o100644 << 16
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, body, compresslevel=6)
    body = buffer.getvalue()
    return Wheel(wheel_name(of_version), body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


_made: Wheel | None = None
_making = threading.Lock()  # one build per process, however many requests ask at once


def current() -> Wheel:
    """This process's wheel, made at the first call (a failure is not kept: the next request tries again)."""
    global _made
    with _making:
        if _made is None:
            _made = build()
        return _made


def offer(server_url: str) -> dict[str, str | None]:
    """What the account page shows: the exact pip line, or why there is none."""
    url = f"{server_url}{wheel_path()}"
    return {"url": url, "name": wheel_name(version()), "pip": f"pip install {url}", "unavailable": unavailable_reason()}


router = APIRouter(include_in_schema=False)


@router.get(SHORT_PATH)
def short_address() -> Response:
    """The wheel under a name pip accepts (pip refuses phonecloud.whl before asking for it)."""
    return RedirectResponse(f"/client/{current().name}", status_code=307, headers={"Cache-Control": "no-cache"})


@router.get(wheel_path())
def client_wheel(request: Request) -> Response:
    made = current()
    headers = {"ETag": made.etag, "Cache-Control": "no-cache",  # revalidated: a new server brings a new client
               "Content-Disposition": f'attachment; filename="{made.name}"'}
    wanted = {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}
    if made.etag in wanted or "*" in wanted:
        return Response(status_code=304, headers=headers)
    return Response(made.body, media_type="application/octet-stream", headers=headers)

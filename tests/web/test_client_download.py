"""The server offers its own client as a wheel (phonecloud.web.client_download): the account page's `pip install`
line, run as shown in a fresh virtualenv, installs a `phonecloud` that runs and backs up to the server; the wheel
holds what a build of the checkout holds and asks for the client's requirements alone; a server that cannot make
it says why (503), and so does its account page."""

from __future__ import annotations

import base64
import csv
import email
import hashlib
import io
import os
import shlex
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata

import httpx
import pytest
from packaging.requirements import Requirement
from playwright.sync_api import expect

from cli_runner import clean_env, phonecloud
from client.base_install import purelib, server_modules, venv_with_base_dependencies
from conftest import ROOT, SHARED_SERVER_ENV, Accounts, Server
from media_fixtures import jpeg
from web.conftest import DESKTOP, PHONE

from phonecloud.web import client_download

VERSION = metadata.version("phonecloud")
WHEEL = f"/client/phonecloud-{VERSION}-py3-none-any.whl"
INFO = f"phonecloud-{VERSION}.dist-info"
# pip as on a phone or a NAS: none of this machine's pip configuration (its indexes, find-links, constraints).
PIP_ENV = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory):
    """A fresh virtualenv with its own pip and the client's requirements (copied from here), no phonecloud."""
    return venv_with_base_dependencies(tmp_path_factory.mktemp("client-venv") / "venv", with_pip=True).parent.parent


def fetched(url: str) -> httpx.Response:
    return httpx.get(url, timeout=60)


def test_the_account_page_gives_the_pip_line_that_installs_the_client(browse, server, accounts, client_venv, tmp_path):
    person = accounts.create(name="client")
    browsing = browse(PHONE)
    browsing.sign_in(person)
    page = browsing.page
    page.goto("/account")
    line = page.get_by_label("Install the client with").input_value()
    assert line == f"pip install {server.url}{WHEEL}"
    shown = page.get_by_label("Install the client with")
    assert shown.evaluate("box => box.scrollHeight <= box.clientHeight"), "the line is cut off on a phone"
    expect(page.locator("#client-download")).to_have_text(WHEEL.rsplit("/", 1)[1])
    with page.expect_download() as downloading:
        page.locator("#client-download").click()
    assert downloading.value.suggested_filename == WHEEL.rsplit("/", 1)[1]
    assert downloading.value.path().read_bytes() == fetched(f"{server.url}{WHEEL}").content
    browsing.screenshot("account-client-phone")
    desktop = browse(DESKTOP)
    desktop.sign_in(person)
    desktop.page.goto("/account")
    expect(desktop.page.get_by_label("Install the client with")).to_have_value(line)
    desktop.page.get_by_label("Install the client with").scroll_into_view_if_needed()
    desktop.screenshot("account-client-desktop")
    assert not browsing.errors and not desktop.errors

    # The line as shown, by the virtualenv's own pip; --no-index: a requirement beyond the client's would fail.
    command, *arguments = shlex.split(line)
    assert command == "pip"
    installed = subprocess.run([client_venv / "bin" / "pip", *arguments, "--no-index"], env=PIP_ENV,
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    python = client_venv / "bin" / "python"
    where = subprocess.run([python, "-I", "-c", "import phonecloud, sys, importlib.util\n"
                            "print(phonecloud.__file__)\n"
                            "print(*[name for name in sys.argv[1:] if importlib.util.find_spec(name)])",
                            *server_modules()], capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr
    # The wheel's copy, not the checkout; and no server package.
    assert where.stdout.splitlines() == [str(purelib(python) / "phonecloud" / "__init__.py"), ""]
    # A server installed from this wheel (not editable: its package in site-packages) offers the very same wheel.
    site = purelib(python)
    offered_there = client_download.build(site / "phonecloud", metadata.PathDistribution(site / INFO))
    assert offered_there.body == fetched(f"{server.url}{WHEEL}").content
    checked = subprocess.run([python, "-m", "pip", "check"], env=PIP_ENV, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    env = clean_env(PHONECLOUD_CLIENT_DIR=str(tmp_path / "client"))
    done = phonecloud(env, "--version", program=(str(client_venv / "bin" / "phonecloud"),))
    assert (done.returncode, done.stdout.strip()) == (0, f"phonecloud {VERSION}"), done.stderr
    (tmp_path / "phone").mkdir()
    (tmp_path / "phone" / "IMG_1.jpg").write_bytes(jpeg(2301))
    done = phonecloud(env, "sync", str(tmp_path / "phone"), "--server", server.url, "--key", person.key, "--json",
                      program=(str(client_venv / "bin" / "phonecloud"),))
    assert done.returncode == 0 and done.summary["uploaded"] == 1, done.stdout + done.stderr
    assert person.http.get("/me").json()["asset_count"] == 1


def built_files() -> set[str]:
    """What a build of the checkout puts in the wheel, by pyproject's rules: every package's modules (namespace
    packages' too) and the package data."""
    src, package = ROOT / "src", ROOT / "src" / "phonecloud"
    found = {path for path in package.rglob("*.py") if "__pycache__" not in path.parts}
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for pattern in tool["package-data"]["phonecloud"]:
        found |= {path for path in package.glob(pattern) if path.is_file()}
    return {path.relative_to(src).as_posix() for path in found}


def test_the_wheel_is_the_checkouts_package_with_the_clients_requirements(server):
    short = httpx.get(f"{server.url}/client/phonecloud.whl", timeout=60)
    assert (short.status_code, short.headers["location"]) == (307, WHEEL)  # pip accepts only a wheel's file name
    got = fetched(f"{server.url}{WHEEL}")
    assert got.status_code == 200
    assert got.headers["content-disposition"] == f'attachment; filename="{WHEEL.rsplit("/", 1)[1]}"'
    assert got.headers["cache-control"] == "no-cache"
    archive = zipfile.ZipFile(io.BytesIO(got.content))
    assert archive.testzip() is None

    package = {name for name in archive.namelist() if not name.startswith(INFO + "/")}
    assert package == built_files()
    assert all(archive.read(name) == (ROOT / "src" / name).read_bytes() for name in package)
    assert set(archive.namelist()) - package == {f"{INFO}/{name}" for name in (
        "METADATA", "WHEEL", "entry_points.txt", "top_level.txt", "RECORD")}
    record = list(csv.reader(io.StringIO(archive.read(f"{INFO}/RECORD").decode())))
    assert sorted(row[0] for row in record) == sorted(archive.namelist())
    for name, digest, size in record:
        if name != f"{INFO}/RECORD":
            body = archive.read(name)
            assert (digest, int(size)) == ("sha256=" + base64.urlsafe_b64encode(hashlib.sha256(body).digest())
                                           .rstrip(b"=").decode(), len(body)), name
    wheel = email.message_from_bytes(archive.read(f"{INFO}/WHEEL"))
    assert (wheel["Wheel-Version"], wheel["Root-Is-Purelib"], wheel["Tag"]) == ("1.0", "true", "py3-none-any")
    assert "phonecloud = phonecloud.cli:main" in archive.read(f"{INFO}/entry_points.txt").decode()

    described = email.message_from_bytes(archive.read(f"{INFO}/METADATA"))
    assert (described["Name"], described["Version"]) == ("phonecloud", VERSION)
    requirements = [Requirement(text) for text in described.get_all("Requires-Dist")]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = [requirement for requirement in requirements if requirement.marker is None]
    assert {str(requirement) for requirement in base} == {str(Requirement(text)) for text in project["dependencies"]}
    # The rest (the server's) behind extras: not installed by a plain `pip install`.
    assert not [requirement for requirement in requirements
                if requirement.marker is not None and requirement.marker.evaluate({"extra": ""})]

    # Revalidated cheaply; made alike by every process (here the test's own), so each API process has the same.
    again = httpx.get(f"{server.url}{WHEEL}", headers={"If-None-Match": got.headers["etag"]}, timeout=60)
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", got.headers["etag"])
    made_here = client_download.build()
    assert (made_here.body, made_here.etag) == (got.content, got.headers["etag"])


# `phonecloud ARGS...` run from a folder where phonecloud is not installed: its package metadata is not found.
WITHOUT_METADATA = """
import importlib.machinery, sys

found = importlib.machinery.PathFinder.find_distributions
importlib.machinery.PathFinder.find_distributions = staticmethod(
    lambda *args, **kwargs: (each for each in found(*args, **kwargs) if each.metadata["Name"] != "phonecloud"))
sys.argv = ["phonecloud", *sys.argv[1:]]
from phonecloud.cli import main
main()
"""


def test_a_server_that_cannot_make_the_wheel_answers_503_and_its_account_page_says_why(browse, tmp_path):
    server = Server(tmp_path / "data", SHARED_SERVER_ENV, program=(sys.executable, "-c", WITHOUT_METADATA)).start()
    accounts = Accounts(server)
    try:
        for method, path in (("GET", "/client/phonecloud.whl"), ("GET", WHEEL), ("HEAD", WHEEL)):
            answer = httpx.request(method, f"{server.url}{path}", timeout=60)
            assert answer.status_code == 503, (method, path, answer.status_code)
            if method == "GET":
                assert answer.json()["error"] == "client_unavailable"
                assert "phonecloud is not installed" in answer.json()["message"]
        person = accounts.create(name="nowheel")
        browsing = browse(DESKTOP, on=server)
        browsing.sign_in(person)
        browsing.page.goto("/account")
        expect(browsing.page.locator("#client-unavailable")).to_contain_text("phonecloud is not installed")
        expect(browsing.page.get_by_label("Install the client with")).to_have_count(0)
        assert "Traceback" not in server.log_text()
    finally:
        accounts.close()
        server.stop()

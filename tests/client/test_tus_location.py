"""A resumable upload's bytes (and the key that sends them) go only to the server asked: a tus Location that
names another origin is refused before anything is sent there; a relative one is the server's own."""

from __future__ import annotations

import datetime as dt

import pytest

from phonecloud.client.api import Api
from phonecloud.client.config import Connection
from phonecloud.client.errors import ServerError

from .loopback import Loopback, QuietHandler


def serving_location(location: str) -> Loopback:
    class Handler(QuietHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.answer(201, {"Location": location, "Tus-Resumable": "1.0.0"})

    return Loopback(Handler)


@pytest.mark.parametrize("location", ["http://169.254.169.254/latest/meta-data/", "//10.0.0.1/uploads/x"])
def test_a_location_on_another_server_is_refused(location):
    with serving_location(location) as server:
        api = Api(Connection(server.url, "pck_key"))
        try:
            with pytest.raises(ServerError, match="another server: refused"):
                api.tus_start("IMG_1.jpg", dt.datetime.now(dt.UTC), 10, "0" * 40)
        finally:
            api.close()


def test_a_relative_location_is_the_servers_own():
    with serving_location("/api/v1/uploads/abc") as server:
        api = Api(Connection(server.url, "pck_key"))
        try:
            url = api.tus_start("IMG_1.jpg", dt.datetime.now(dt.UTC), 10, "0" * 40)
            assert url == f"{server.url}/api/v1/uploads/abc"
        finally:
            api.close()

"""`phonecloud pull` through an HTTP proxy named by the environment, as the client's other requests go."""

from __future__ import annotations

import base64
import os

import httpx

from cli_runner import phonecloud
from conftest import upload
from media_fixtures import jpeg

from .loopback import Loopback, QuietHandler
from .test_pull import YEAR, mirrored

CREDENTIALS = "alice:s3cret"


class ForwardProxy(Loopback):
    """A stand-in for a corporate HTTP proxy: absolute-form requests only, with Basic proxy credentials."""

    def __init__(self):
        self.seen: list[str] = []
        proxy = self

        class Handler(QuietHandler):
            def forward(self) -> None:
                expected = f"Basic {base64.b64encode(CREDENTIALS.encode()).decode()}"
                if not self.path.startswith("http://") or self.headers.get("Proxy-Authorization") != expected:
                    self.answer(407, {})
                    return
                proxy.seen.append(f"{self.command} {self.path}")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "connection", "proxy-authorization", "proxy-connection")}
                with httpx.Client(trust_env=False, timeout=60) as client:
                    reply = client.request(self.command, self.path, headers=headers, content=body)
                hop = ("connection", "transfer-encoding", "content-encoding", "content-length")
                self.answer(reply.status_code, {k: v for k, v in reply.headers.items() if k.lower() not in hop},
                            reply.content)

            do_GET = do_POST = forward

        super().__init__(Handler)
        self.url = f"http://{CREDENTIALS}@127.0.0.1:{self.port}"


def test_pull_goes_through_the_proxy_the_environment_names(server, user, client_env, tmp_path):
    bodies = {f"{YEAR}/IMG_{n}.jpg": jpeg(7100 + n) + os.urandom(100_000) for n in range(3)}
    for path, body in bodies.items():
        assert upload(user, body, filename=path.rsplit("/", 1)[1]).status_code == 201
    env = {key: value for key, value in client_env.items() if key.lower() not in ("no_proxy", "http_proxy")}
    with ForwardProxy() as proxy:
        run = phonecloud({**env, "HTTP_PROXY": proxy.url}, "pull", str(tmp_path / "mirror"), "--server", server.url,
                         "--key", user.key, "--json")
    assert run.returncode == 0, run.stderr
    assert run.summary["fetched"] == 3
    files = mirrored(tmp_path / "mirror")
    assert {path: files[path].read_bytes() for path in bodies} == bodies
    assert f"POST {server.url}/api/v1/assets/originals" in proxy.seen  # the downloads too, not only the listing

"""`phonecloud pull` through an HTTP proxy named by the environment, as the client's other requests go."""

from __future__ import annotations

import base64
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from conftest import upload
from media_fixtures import jpeg
from test_pull import YEAR, mirrored
from test_sync_client import client_env, phonecloud  # noqa: F401  (client_env is a fixture)

CREDENTIALS = "alice:s3cret"


class ForwardProxy:
    """A stand-in for a corporate HTTP proxy: absolute-form requests only, with Basic proxy credentials."""

    def __init__(self):
        self.seen: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def forward(self) -> None:
                expected = f"Basic {base64.b64encode(CREDENTIALS.encode()).decode()}"
                if not self.path.startswith("http://") or self.headers.get("Proxy-Authorization") != expected:
                    self.send_response(407)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                proxy.seen.append(f"{self.command} {self.path}")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "connection", "proxy-authorization", "proxy-connection")}
                with httpx.Client(trust_env=False, timeout=60) as client:
                    reply = client.request(self.command, self.path, headers=headers, content=body)
                self.send_response(reply.status_code)
                for name, value in reply.headers.items():
                    if name.lower() not in ("connection", "transfer-encoding", "content-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            do_GET = do_POST = forward

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://{CREDENTIALS}@127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ForwardProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()


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

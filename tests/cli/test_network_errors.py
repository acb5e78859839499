"""What a command says when it cannot reach the server: what happened, what to check, and the URL that
failed; and how long it keeps trying before it says so (a wrong address is said at once, a server that goes
away in the middle of a backup is waited for)."""

from __future__ import annotations

import ssl

import pytest

from cli_runner import phonecloud
from conftest import free_port
from phonecloud.client import errors
from phonecloud.client.api import FIRST_CONTACT_RETRIES, Api
from phonecloud.client.config import Connection
from phonecloud.client.errors import NetworkError, ServerError, network_error

NO_SUCH_HOST = "http://no-such-host.invalid:8000"


def sync_error(env: dict[str, str], folder, server_url: str, key: str) -> str:
    run = phonecloud(env, "sync", str(folder), "--server", server_url, "--key", key)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    (line,) = run.stderr.strip().splitlines()
    return line


def test_a_refused_connection_says_to_check_that_the_server_runs_there(user, client_env, tmp_path):
    nowhere = f"http://127.0.0.1:{free_port()}"
    assert sync_error(client_env, tmp_path, nowhere, user.key) == (
        "error: network error: connection refused: check that the server is running and listens on this host and "
        f"port ({nowhere}/api/v1/me)")


def test_https_against_a_plain_http_server_says_to_use_http(server, user, client_env, tmp_path):
    line = sync_error(client_env, tmp_path, f"https://127.0.0.1:{server.port}", user.key)
    assert line.startswith("error: network error: the server did not answer in TLS as https:// needs ([SSL: "), line
    assert line.endswith(f"if it serves plain HTTP, use http://127.0.0.1:{server.port} instead "
                         f"(https://127.0.0.1:{server.port}/api/v1/me)"), line


def test_a_url_with_the_api_path_says_to_give_the_base_url(server, user, client_env, tmp_path):
    assert sync_error(client_env, tmp_path, f"{server.url}/api/v1", user.key) == (
        f"error: {server.url}/api/v1/api/v1/me is not phonecloud's API (HTTP 404): give the server's base URL, "
        f"{server.url}, not the URL of its API")


def test_an_unknown_host_is_named(user, client_env, tmp_path):
    line = sync_error(client_env, tmp_path, NO_SUCH_HOST, user.key)
    assert line.startswith("error: network error: the host name no-such-host.invalid "), line
    assert line.endswith(f"({NO_SUCH_HOST}/api/v1/me)"), line


# -- how often each failure is tried (in process: the waits between tries are counted, not waited) ----------


@pytest.fixture
def waits(monkeypatch) -> list[int]:
    """The failures in a row after which the client waited to try again."""
    paused: list[int] = []
    monkeypatch.setattr(errors.Retry, "pause", lambda self, failures: paused.append(failures))
    return paused


def first_contact(url: str, waits: list[int]) -> ServerError:
    api = Api(Connection(url, "pck_key"), retries=5)
    try:
        with pytest.raises(ServerError) as failed:
            api.me()
    finally:
        api.close()
    return failed.value


def test_a_host_name_that_does_not_resolve_is_not_tried_again(waits):
    error = first_contact(NO_SUCH_HOST, waits)
    assert isinstance(error, NetworkError) and error.reason == "dns" and waits == []


def test_a_server_that_does_not_speak_tls_is_not_tried_again(server, waits):
    error = first_contact(f"https://127.0.0.1:{server.port}", waits)
    assert isinstance(error, NetworkError) and error.reason == "tls" and not error.transient and waits == []


def test_a_refused_first_contact_is_tried_again_only_briefly(waits):
    error = first_contact(f"http://127.0.0.1:{free_port()}", waits)
    assert isinstance(error, NetworkError) and error.reason == "refused"
    assert waits == list(range(1, FIRST_CONTACT_RETRIES + 1))


def test_a_refusal_after_the_first_contact_keeps_every_retry(server, user, waits):
    """A server that goes away during a backup is waited for, as before (resumable uploads rely on it)."""
    api = Api(Connection(server.url, user.key), retries=5)
    try:
        api.me()
        api._http.base_url = api._http.base_url.copy_with(port=free_port())  # the server went away
        with pytest.raises(NetworkError, match="connection refused"):
            api.check([("IMG_1.jpg", "0" * 40)])
    finally:
        api.close()
    assert waits == [1, 2, 3, 4, 5]


def test_a_refused_certificate_says_what_to_check():
    refused = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    refused.verify_message = "self-signed certificate"
    error = network_error("https://nas.local:8443/api/v1/me", refused)
    assert (error.reason, error.transient) == ("tls", False)
    assert str(error) == ("network error: the server's TLS certificate was not accepted (self-signed certificate): "
                          "check the host name, or give the server a certificate this device trusts "
                          "(https://nas.local:8443/api/v1/me)")

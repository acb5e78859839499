"""The client's one set of failure rules (phonecloud.client.errors), in process against a stand-in server:
the same refusal whichever way a request went (httpx, or the stdlib fast path for download bodies), what is
tried again and for how long, and messages that name the server without its credentials."""

from __future__ import annotations

import json

import pytest

from phonecloud.client import errors
from phonecloud.client.api import Api
from phonecloud.client.config import Connection
from phonecloud.client.errors import NetworkError, Retry, ServerError, network_error, refusal

from .loopback import Loopback, QuietHandler


class StandIn(Loopback):
    """Answers every request with the next of `answers` (status, body), then 200 {"email": ...}."""

    def __init__(self, *answers: tuple[int, bytes]):
        self.answers, self.paths = list(answers), []
        stand_in = self

        class Handler(QuietHandler):
            def next_answer(self) -> None:
                stand_in.paths.append(self.path)
                status, body = stand_in.answers.pop(0) if stand_in.answers else (200, b'{"email": "a@example.org"}')
                self.answer(status, {"Content-Type": "application/json"}, body)

            do_GET = do_POST = next_answer

        super().__init__(Handler)


REFUSED = (403, json.dumps({"error": "forbidden", "message": "not yours"}).encode())


def test_transient_answers_are_tried_again_until_one_succeeds():
    with StandIn((503, b"{}"), (429, b"{}"), (502, b"<html>bad gateway</html>")) as server:
        api = Api(Connection(server.url, "pck_key"), backoff=0)
        try:
            assert api.me() == {"email": "a@example.org"}
        finally:
            api.close()
    assert server.paths == ["/api/v1/me"] * 4


def test_a_refusal_is_not_tried_again_and_reads_the_same_on_both_paths():
    with StandIn(REFUSED, REFUSED) as server:
        api = Api(Connection(server.url, "pck_key"), backoff=0)
        try:
            with pytest.raises(ServerError) as through_httpx:
                api.me()
            with api.download("/assets/1/original", {}) as answer:
                through_bulk = answer.error()
        finally:
            api.close()
    assert server.paths == ["/api/v1/me", "/api/v1/assets/1/original"]
    for error in (through_httpx.value, through_bulk):
        assert (error.status, error.code, str(error), error.transient) == (403, "forbidden", "not yours", False)


def test_transient_failures_give_up_after_the_retries():
    with StandIn(*[(503, b'{"error": "busy", "message": "later"}')] * 3) as server:
        api = Api(Connection(server.url, "pck_key"), retries=2, backoff=0)
        try:
            with pytest.raises(ServerError, match="later"):
                api.me()
        finally:
            api.close()
    assert len(server.paths) == 3


def test_a_refused_key_names_the_server_without_credentials():
    error = refusal(401, b'{"error": "unauthorized", "message": "invalid or revoked credentials"}',
                    "http://alice:secret@nas.local:8000/api/v1/me?x=1")
    assert str(error) == ("http://nas.local:8000 refused the API key (invalid or revoked credentials); check it, or "
                          "make a new one with `phonecloud admin create-key`")


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"[1, 2]", b""])
def test_an_answer_that_is_not_the_servers_json_says_its_status_and_start(body):
    error = refusal(500, body, "http://nas.local/api/v1/me")
    assert (error.code, str(error), error.transient) == ("error", f"HTTP 500: {body.decode()}", True)


def test_network_errors_name_the_url_without_credentials_or_query():
    error = network_error("https://bob:pw@[::1]:8443/api/v1/assets?filename=secret.jpg", OSError("reset"))
    assert isinstance(error, NetworkError) and error.transient and error.status == 0
    assert str(error) == "network error: reset (https://[::1]:8443/api/v1/assets)"


def test_waits_double_with_each_failure_in_a_row_up_to_a_bound(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(errors.time, "sleep", waits.append)
    monkeypatch.setattr(errors.random, "random", lambda: 0.5)  # the middle of the jitter
    retry = Retry(retries=3, backoff=0.5)
    for failures in (0, 1, 2, 3, 9):
        retry.pause(failures)
    assert waits == [0.5, 0.5, 1.0, 2.0, 32.0]
    assert [retry.again(failures) for failures in (1, 3, 4)] == [True, True, False]

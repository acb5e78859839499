"""POST /api/v1/assets/originals: several originals in one answer, for mirrors, on a real server."""

from __future__ import annotations

import os
import uuid

import httpx

from conftest import upload
from media_fixtures import jpeg
from portability.test_export_interrupted import delete_originals


def uploaded(user, count: int, padding: int = 0) -> tuple[list[str], list[bytes]]:
    ids, bodies = [], []
    for n in range(count):
        body = jpeg(5100 + n) + os.urandom(padding)
        response = upload(user, body, filename=f"IMG_{n:04d}.jpg")
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
        bodies.append(body)
    return ids, bodies


def test_the_originals_come_one_after_another_in_the_order_asked_exactly_as_uploaded(user):
    ids, bodies = uploaded(user, 3)
    order = [2, 0, 1]
    response = user.http.post("/assets/originals", json={"asset_ids": [ids[n] for n in order]})
    assert response.status_code == 200 and response.headers["content-type"] == "application/octet-stream"
    expected = b"".join(bodies[n] for n in order)
    assert response.content == expected and int(response.headers["content-length"]) == len(expected)


def test_another_users_asset_is_not_found_and_nothing_is_sent(user, other_user):
    theirs, _ = uploaded(other_user, 1)
    mine, _ = uploaded(user, 1)
    unknown = str(uuid.uuid4())
    response = user.http.post("/assets/originals", json={"asset_ids": [mine[0], theirs[0], unknown]})
    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "not_found" and body["missing"] == [theirs[0], unknown]
    assert theirs[0] in body["message"] and unknown in body["message"]
    alone = other_user.http.post("/assets/originals", json={"asset_ids": [theirs[0]]})
    assert alone.status_code == 200  # still theirs, untouched


def test_bad_requests_are_refused_with_the_reason(user):
    ids, _ = uploaded(user, 1)
    for body, where in (({"asset_ids": []}, "body.asset_ids"), ({"asset_ids": ids * 257}, "body.asset_ids"),
                        ({"asset_ids": ["not-a-uuid"]}, "body.asset_ids.0"), ({}, "body.asset_ids")):
        response = user.http.post("/assets/originals", json=body)
        assert response.status_code == 422, body
        assert where in {problem["where"] for problem in response.json()["problems"]}
    assert httpx.post(f"{user.http.base_url}assets/originals", json={"asset_ids": ids}).status_code == 401


def test_an_original_lost_midway_stops_the_answer_short_and_the_log_says_which(server, accounts, user):
    ids, bodies = uploaded(user, 3, padding=3_000_000)
    delete_originals(accounts, [ids[1]])  # after the check of ownership, as a failing disk would
    received = b""
    with user.http.stream("POST", "/assets/originals", json={"asset_ids": ids}) as response:
        assert response.status_code == 200
        assert int(response.headers["content-length"]) == sum(len(body) for body in bodies)
        try:
            for chunk in response.iter_raw():
                received += chunk
        except httpx.RemoteProtocolError:
            pass  # the connection closed before the declared length: what a client must notice
    assert received == bodies[0]  # never the third original's bytes where the second's belong
    assert f"original of asset {ids[1]}" in server.log_text() and "was cut short" in server.log_text()

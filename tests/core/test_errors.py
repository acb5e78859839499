"""Every error is JSON with a code and a message; unknown routes and methods too."""

import httpx


def test_unknown_route_and_method_are_json(server, user):
    missing = user.http.get("/no-such-thing")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = user.http.put("/me")
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"


def test_invalid_json_and_invalid_utf8_bodies_get_a_4xx(user):
    for body in (b"{", b'{"title": "\xff\xfe"}', b"[]", b'{"title": 5}'):
        response = user.http.post("/albums", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code in (400, 422), body
        assert response.json()["error"] == "invalid_request"


def test_invalid_utf8_in_the_query_string_is_handled(server, user):
    response = httpx.post(f"{server.url}/api/v1/assets?filename=%ff%fe.jpg&modified_at=2022-01-01T00:00:00Z",
                          headers={"Authorization": f"Bearer {user.key}"}, content=b"\xff\xd8\xff\xe0" + b"0" * 100)
    assert response.status_code == 201
    assert response.json()["asset"]["original_filename"] == "\ufffd\ufffd.jpg"

"""Schema fuzzing with schemathesis: requests generated from the server's own OpenAPI description, sent
to a real running server as a real user. No answer may be a 5xx, and every answer must match what the
description promises (status code, content type, JSON schema)."""

from __future__ import annotations

import copy

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from conftest import upload
from media_fixtures import jpeg
from route_table import openapi

# Small enough that the whole schema (about 50 operations) is fuzzed in well under two minutes on 2 cores.
EXAMPLES_PER_OPERATION = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzzed_user(accounts):
    user = accounts.create(name="fuzzed")
    upload(user, jpeg(9501), filename="fuzzed.jpg")  # something to list, check and download
    user.http.post("/albums", json={"title": "fuzzed"})
    return user, user.http.get("/devices").json()[0]["id"]


# tus PATCH bodies are raw bytes under their own media type.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
# The description is read from the app at collection (one test per operation); the test below proves it is
# the one the running server publishes. (schemathesis.pytest.from_fixture, which would load it from the
# server, does not run under pytest 9.2: it sets Node._nodeid, which pytest no longer has.)
schema = schemathesis.openapi.from_dict(copy.deepcopy(openapi()))  # it annotates what it is given


def test_the_fuzzed_description_is_the_one_the_server_publishes(server):
    assert httpx.get(f"{server.url}/api/v1/openapi.json").json() == openapi()


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_described_and_never_with_a_5xx(case, fuzzed_user, server):
    user, own_device = fuzzed_user
    if case.path_parameters and case.path_parameters.get("device_id") == own_device:
        case.path_parameters["device_id"] = own_device + 1_000_000  # keep the key the fuzzing runs with
    case.call_and_validate(base_url=f"{server.url}", headers={"Authorization": f"Bearer {user.key}"},
                           checks=CHECKS)

"""A retirement of the gallery run through every step on a server of its own, the clock moved in process:
only affected users who keep photos are told, sync stops with the deadline named, a gallery-only membership
is ended and its last payment refunded, each affected user's photos are deleted with a receipt whose final
scan is clean, and an exempt country's user and everyone's other data are untouched."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import SHARED_SERVER_ENV, serving, upload
from media_fixtures import jpeg
from retirement.support import run_due_jobs
from notices.support import person
from phonecloud.core.db import utcnow

DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    env = {**SHARED_SERVER_ENV, "PHONECLOUD_EMBEDDED_WORKERS": "0"}
    with serving(tmp_path_factory.mktemp("retirement") / "data", env, in_process=True) as running:
        yield running


def messages_seen(user) -> list[str]:
    return [notice["message"] for notice in user.http.get("/notices").json()]


def test_the_gallery_retires_in_some_regions_through_every_step(app, clock):
    _, accounts = app
    services = accounts.services
    services.regions.add_group("Global", ["DE", "US", "FR", "CN"])
    services.regions.add_group("Mainland China", ["CN"])
    paid, free, never, chinese = (person(accounts, name, region) for name, region in (
        ("paid", "DE"), ("free", "US"), ("never", "FR"), ("chinese", "CN")))
    for number, user in enumerate((paid, free, chinese)):
        assert upload(user, jpeg(8800 + number), filename=f"IMG_{number}.jpg").status_code == 201
    kept = {user.email: user.http.get("/assets").json()["items"][0] for user in (paid, free, chinese)}
    services.plans.add("Photos 50", 50 * 10**9, "2.99", "EUR", "month", ["gallery"])
    services.plans.start(paid.email, "Photos 50")
    services.ledger.record("payment", paid.email, "2.99", "EUR", "Photos 50", "inv-paid-1")
    now = utcnow()
    plan = services.retirements.plan("ops@example.org", "gallery", ["Global"], now + DAY, now + 10 * DAY,
                                     now + 40 * DAY, now + 50 * DAY, "last-payment", "We are sorry.",
                                     exempt=["Mainland China"])
    assert {step.step: step.users for step in services.retirements.preview(plan.id)}["delete"] == 2

    clock(2 * DAY)
    run_due_jobs(services)
    assert services.retirements.get(plan.id).state == "announced"
    for user, told in ((paid, True), (free, True), (never, False), (chinese, False)):
        assert any("We are sorry." in message for message in messages_seen(user)) is told, user.email
    assert upload(paid, jpeg(8810), filename="IMG_before_stop.jpg").status_code == 201  # sync still works

    clock(9 * DAY)
    run_due_jobs(services)
    assert services.retirements.get(plan.id).state == "sync-stopped"
    refused = upload(free, jpeg(8811), filename="IMG_after_stop.jpg")
    assert refused.status_code == 403 and refused.json()["error"] == "intake_closed"
    assert "Download everything you keep before" in refused.json()["message"]
    assert upload(chinese, jpeg(8812), filename="IMG_cn.jpg").status_code == 201  # exempt
    assert paid.http.get("/me").json()["plans"] == ["Free"]
    refunds = [entry for entry in services.ledger.entries(paid.email) if entry.kind == "refund"]
    assert [(entry.amount, entry.currency) for entry in refunds] == [("2.99", "EUR")]

    clock(45 * DAY)
    run_due_jobs(services)
    assert services.retirements.get(plan.id).state == "done"
    for user in (paid, free):
        assert user.http.get("/assets").json()["items"] == []
        [receipt] = user.http.get("/me/deletion-receipts").json()
        assert receipt["state"] == "done" and receipt["rows_left"] == 0 and receipt["bytes_left"] == 0
        assert receipt["items"] >= 1 and len(receipt["manifest_sha256"]) == 64
        me = user.http.get("/me").json()
        assert me["usage"]["gallery"] == {"items": 0, "bytes": 0} and me["used_bytes"] == 0  # charged once, freed once
    for user, told in ((paid, True), (free, True), (never, False), (chinese, False)):
        assert any("Your deletion receipt" in message for message in messages_seen(user)) is told, user.email
    original = chinese.http.get(f"/assets/{kept[chinese.email]['id']}/original")
    assert original.status_code == 200 and original.content == jpeg(8802)
    assert chinese.http.get("/me/deletion-receipts").json() == []
    actions = [event["action"] for event in services.retirements.events(plan.id)]
    assert actions[0] == "planned" and {"announced", "sync-stopped", "refunded", "deletion-started",
                                        "deleted"} <= set(actions)
    assert services.retirements.get(plan.id).report and '"clean": true' in services.retirements.get(plan.id).report

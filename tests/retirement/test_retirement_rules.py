"""The rules of a retirement, on the app in this process (its jobs run by calling them, the clock moved in
process; the commands on its data, in this process too but for one test's real process): validation by the API
and the CLI, the id and the `show --json` of the CLI, postponing (later only; the jobs at the old times do
nothing), cancelling (sync back, notices withdrawn; not once deletion began), who is affected, the refund
policies, idempotent steps, and who may see what. Each test has countries of its own: a plan there affects
nobody else's test."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from conftest import SHARED_SERVER_ENV, serving, upload
from media_fixtures import jpeg
from messages.backup_files import sbr_messages_xml
from retirement.support import run_due_jobs
from notices.support import person, unique
from plans.helpers import assert_fails, assert_refused, cli, ok
from tus_helpers import created_url, head, patch, photo
from sqlalchemy import func, select, update

from phonecloud.core.db import utcnow
from phonecloud.notices.models import Notice
from phonecloud.plans.models import LedgerEntry
from phonecloud.retirement.models import DeletionReceipt, Retirement
from phonecloud.retirement.service import step_subject

DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    env = {**SHARED_SERVER_ENV, "PHONECLOUD_EMBEDDED_WORKERS": "0"}
    with serving(tmp_path_factory.mktemp("retirement-rules") / "data", env, in_process=True) as running:
        yield running


@pytest.fixture(scope="module")
def server(app):
    return app[0]


@pytest.fixture(scope="module")
def accounts(app):
    return app[1]


@pytest.fixture(scope="module")
def services(accounts):
    return accounts.services


@pytest.fixture(scope="module")
def admin(accounts):
    return person(accounts, "operator", is_admin=True)


def group(services, *countries: str) -> str:
    name = unique("Region")
    services.regions.add_group(name, list(countries))
    return name


def dates(days=(1, 10, 20, 30)) -> dict:
    now = utcnow()
    return dict(zip(("announce_at", "stop_sync_at", "deadline_at", "delete_at"),
                    (now + days[0] * DAY, now + days[1] * DAY, now + days[2] * DAY, now + days[3] * DAY)))


def plan(services, groups: list[str], refund: str = "none", exempt: list[str] | None = None, message: str = "",
         days=(1, 10, 20, 30)):
    return services.retirements.plan("ops@example.org", "gallery", groups, *dates(days).values(), refund,
                                     message or unique("Gallery ends"), exempt=exempt)


def with_photo(accounts, tag: str, region: str, seed: int):
    user = person(accounts, tag, region)
    assert upload(user, jpeg(seed), filename=f"{unique('IMG')}.jpg").status_code == 201
    return user


def notices_of(services, plan_id: int) -> int:
    with services.db.read() as session:
        return session.scalar(select(func.count()).select_from(Notice).where(Notice.retirement_id == plan_id))


def retirement_messages(user) -> list[str]:
    return [notice["message"] for notice in user.http.get("/notices").json() if notice["kind"] == "gallery"]


def refunds(services, email: str) -> list:
    return [entry for entry in services.ledger.entries(email) if entry.kind == "refund"]


# -- validation -----------------------------------------------------------------------------------------------


def test_the_api_refuses_a_bad_plan_naming_the_problem(services, admin):
    name = group(services, "NO")
    at = {key: value.isoformat() for key, value in dates().items()}
    good = {"kind": "gallery", "groups": [name], "refund": "none", **at}
    post = lambda **changes: admin.http.post("/admin/retirements", json={**good, **changes})
    assert_refused(post(kind="holograms"), 400, "no kind of data 'holograms'", "gallery")
    assert_refused(post(groups=[unique("Atlantis")]), 404, "no region group", "Atlantis")
    assert_refused(post(exempt=[unique("Lemuria")]), 404, "no region group", "Lemuria")
    assert_refused(post(refund="everything"), 400, "refund must be one of", "'everything'")
    assert_refused(post(stop_sync_at=at["delete_at"], delete_at=at["stop_sync_at"]), 400, "must come in order")
    assert post(groups=[]).status_code == 422
    assert post(announce_at="next tuesday").status_code == 422
    assert admin.http.get("/admin/retirements").json() == [] or all(
        plan["groups"] != [name] for plan in admin.http.get("/admin/retirements").json())  # nothing was planned


def test_the_cli_refuses_a_bad_plan_with_an_error_line_and_no_traceback(server, services):
    name = group(services, "IS")
    at = {key: value.isoformat() for key, value in dates().items()}

    def planned(*changes: str, kind: str = "gallery", groups: str = name):
        base = {"--announce": at["announce_at"], "--stop-sync": at["stop_sync_at"], "--deadline": at["deadline_at"],
                "--delete": at["delete_at"], "--refund": "none"}
        base.update(dict(zip(changes[::2], changes[1::2])))
        return cli(server, "admin", "retirement", "plan", kind, "--groups", groups,
                   *[part for pair in base.items() for part in pair])

    assert_fails(planned(kind="holograms"), "no kind of data 'holograms'", code=1)
    assert_fails(planned(groups=unique("Atlantis")), "no region group", code=1)
    assert_fails(planned("--refund", "everything"), "refund must be one of", code=1)
    assert_fails(planned("--delete", at["announce_at"]), "must come in order", code=1)
    assert_fails(planned("--announce", "next tuesday"), "--announce", code=2)
    assert_fails(cli(server, "admin", "retirement", "show", "999999"), "no retirement 999999", code=1)
    assert_fails(cli(server, "admin", "retirement", "cancel", "999999"), "no retirement 999999", code=1)


def test_the_cli_prints_the_id_last_and_show_json_has_the_preview_and_the_audit(server, accounts, services):
    name = group(services, "EE")
    holder = with_photo(accounts, "holder", "EE", 7001)
    at = {key: value.isoformat() for key, value in dates().items()}
    planned = ok(cli(server, "admin", "retirement", "plan", "gallery", "--groups", name, "--announce",
                     at["announce_at"], "--stop-sync", at["stop_sync_at"], "--deadline", at["deadline_at"],
                     "--delete", at["delete_at"], "--refund", "prorated", "--message", "Sorry."))
    plan_id = int(planned.stdout.strip().splitlines()[-1])
    assert [line.split("\t")[0] for line in planned.stdout.splitlines()[:-1]] == [
        "announce", "stop-sync", "deadline", "delete"]
    assert all("\t1 users\t" in line for line in planned.stdout.splitlines()[:-1]), planned.stdout
    shown = json.loads(ok(cli(server, "admin", "retirement", "show", str(plan_id), "--json")).stdout)
    assert (shown["id"], shown["kind"], shown["groups"], shown["refund"], shown["state"]) == (
        plan_id, "gallery", [name], "prorated", "scheduled")
    size = holder.http.get("/me").json()["usage"]["gallery"]["bytes"]
    assert [(step["step"], step["users"], step["bytes"]) for step in shown["preview"]] == [
        (step, 1, size) for step in ("announce", "stop-sync", "deadline", "delete")]
    assert [(event["actor"], event["action"]) for event in shown["audit"]] == [("command line", "planned")]
    listed = ok(cli(server, "admin", "retirement", "list")).stdout
    assert any(line.startswith(f"{plan_id}\tscheduled\tgallery\tgroups {name}") for line in listed.splitlines())
    ok(cli(server, "admin", "retirement", "cancel", str(plan_id)))


# -- postpone and cancel --------------------------------------------------------------------------------------


def test_postponing_moves_the_steps_later_only_and_the_old_times_do_nothing(services, accounts, admin, clock):
    name = group(services, "LV")
    holder = with_photo(accounts, "holder", "LV", 7002)
    planned = plan(services, [name], days=(1, 10, 20, 30))
    earlier = (planned.announce_at - DAY).isoformat()
    assert_refused(admin.http.post("/admin/retirements/postpone", json={"id": planned.id, "announce_at": earlier}),
                   400, "announce_at can only move later")
    moved = admin.http.post("/admin/retirements/postpone", json={
        "id": planned.id, **{key: (value + 3 * DAY).isoformat() for key, value in (
            ("announce_at", planned.announce_at), ("stop_sync_at", planned.stop_sync_at),
            ("deadline_at", planned.deadline_at), ("delete_at", planned.delete_at))}})
    assert moved.status_code == 200, moved.text
    assert moved.json()["audit"][-1]["action"] == "postponed"

    clock(2 * DAY)  # past the old announcement, before the new one
    run_due_jobs(services)
    assert services.retirements.get(planned.id).state == "scheduled" and notices_of(services, planned.id) == 0
    assert retirement_messages(holder) == []
    clock(2 * DAY)  # past the new one
    run_due_jobs(services)
    assert services.retirements.get(planned.id).state == "announced" and notices_of(services, planned.id) == 1
    clock(7 * DAY)  # past the old stop of sync (10), before the new one (13): nothing stops
    run_due_jobs(services)
    assert services.retirements.get(planned.id).state == "announced"
    assert upload(holder, jpeg(7003), filename="IMG_old_stop.jpg").status_code == 201
    clock(27 * DAY)  # past the new deletion
    run_due_jobs(services)
    assert services.retirements.get(planned.id).state == "done"
    assert_refused(admin.http.post("/admin/retirements/postpone", json={
        "id": planned.id, "delete_at": (planned.delete_at + 10 * DAY).isoformat()}), 409, "can no longer move")


def test_dates_cannot_move_once_deletion_has_begun(services, admin):
    planned = plan(services, [group(services, "LT")])
    with services.db.write() as session:  # a deletion under way (a worker in the middle of it)
        session.execute(update(Retirement).where(Retirement.id == planned.id).values(state="deleting"))
    assert_refused(admin.http.post("/admin/retirements/postpone", json={
        "id": planned.id, "delete_at": (planned.delete_at + DAY).isoformat()}), 409, "deleting")
    assert_refused(admin.http.post("/admin/retirements/cancel", json={"id": planned.id}), 409, "deleting")
    with services.db.write() as session:  # its jobs, later in this module, do nothing
        session.execute(update(Retirement).where(Retirement.id == planned.id).values(state="cancelled"))


def test_cancelling_before_deletion_restores_sync_and_withdraws_the_notice(services, accounts, admin, clock):
    name = group(services, "SI")
    holder = with_photo(accounts, "holder", "SI", 7004)
    planned = plan(services, [name], message="Gallery ends in SI.")
    clock(11 * DAY)
    run_due_jobs(services)
    assert services.retirements.get(planned.id).state == "sync-stopped"
    assert any("Gallery ends in SI." in message for message in retirement_messages(holder))
    refused = upload(holder, jpeg(7005), filename="IMG_refused.jpg")
    assert refused.status_code == 403 and refused.json()["error"] == "intake_closed"
    deadline = planned.deadline_at.strftime("%-d %B %Y")
    assert deadline in refused.json()["message"], refused.json()

    cancelled = admin.http.post("/admin/retirements/cancel", json={"id": planned.id})
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled", cancelled.text
    assert cancelled.json()["audit"][-1]["action"] == "cancelled"
    assert upload(holder, jpeg(7005), filename="IMG_again.jpg").status_code == 201
    assert retirement_messages(holder) == []
    clock(25 * DAY)  # past the deletion date: nothing is deleted
    run_due_jobs(services)
    assert services.retirements.get(planned.id).state == "cancelled"
    assert len(holder.http.get("/assets").json()["items"]) == 2
    assert holder.http.get("/me/deletion-receipts").json() == []
    assert_refused(admin.http.post("/admin/retirements/cancel", json={"id": planned.id}), 409, "cancelled")


def test_a_finished_retirement_cannot_be_cancelled(server, services, accounts, clock):
    holder = with_photo(accounts, "holder", "HR", 7006)
    planned = plan(services, [group(services, "HR")])
    clock(31 * DAY)
    run_due_jobs(services)
    assert services.retirements.get(planned.id).state == "done"
    # The retirement group's real process refusing: exit 1, one error line on stderr, no traceback.
    assert_fails(cli(server, "admin", "retirement", "cancel", str(planned.id), process=True), "is done",
                 "no longer be cancelled", code=1)
    assert holder.http.get("/assets").json()["items"] == []


# -- who is affected ------------------------------------------------------------------------------------------


def test_a_never_user_and_an_exempt_countrys_user_are_never_previewed_nor_told(services, accounts, clock):
    wide, exempt = group(services, "MT", "CY", "GR"), group(services, "CY")
    holder = with_photo(accounts, "holder", "MT", 7007)
    never = person(accounts, "never", "GR")
    island = with_photo(accounts, "island", "CY", 7008)
    planned = plan(services, [wide], exempt=[exempt], message="Gallery ends in MT.")
    assert {step.step: step.users for step in services.retirements.preview(planned.id)} == {
        "announce": 1, "stop-sync": 1, "deadline": 1, "delete": 1}
    clock(2 * DAY)
    run_due_jobs(services)
    assert any("Gallery ends in MT." in message for message in retirement_messages(holder))
    assert retirement_messages(never) == [] and retirement_messages(island) == []
    clock(9 * DAY)
    run_due_jobs(services)
    assert upload(island, jpeg(7009), filename="IMG_cy.jpg").status_code == 201
    assert upload(never, jpeg(7010), filename="IMG_first.jpg").status_code == 403  # a new user: refused too
    services.retirements.cancel("ops@example.org", planned.id)


# -- refunds --------------------------------------------------------------------------------------------------


def test_a_prorated_refund_is_the_unused_part_to_the_day(services, accounts, clock):
    name = group(services, "SK")
    member = with_photo(accounts, "member", "SK", 7011)
    plan_name = unique("Photos")
    services.plans.add(plan_name, 10**10, "3.00", "EUR", "month", ["gallery"])
    services.plans.start(member.email, plan_name)
    paid_at = dt.datetime.combine(utcnow().date(), dt.time(1), tzinfo=dt.UTC)
    services.ledger.record("payment", member.email, "3.00", "EUR", plan_name, unique("inv"), at=paid_at)
    stop = paid_at + 10 * DAY + dt.timedelta(hours=11)  # ten days used of 30
    planned = services.retirements.plan("ops@example.org", "gallery", [name], utcnow() + DAY, stop, stop + DAY,
                                        stop + 2 * DAY, "prorated")
    clock(stop + dt.timedelta(minutes=1) - utcnow())
    run_due_jobs(services)
    assert services.retirements.get(planned.id).state == "sync-stopped"
    [refund] = refunds(services, member.email)
    assert (refund.amount, refund.currency) == ("2.00", "EUR")  # 20 of 30 days
    assert member.http.get("/me").json()["plans"] == ["Free"]
    services.retirements.cancel("ops@example.org", planned.id)


def test_a_membership_covering_other_kinds_too_is_kept_and_refunded_only_the_retired_share(services, accounts,
                                                                                           clock):
    name = group(services, "BG")
    member = with_photo(accounts, "member", "BG", 7012)
    plan_name = unique("Everything")
    services.plans.add(plan_name, 10**10, "4.99", "EUR", "month", ["gallery", "messages"])
    services.plans.start(member.email, plan_name)
    services.ledger.record("payment", member.email, "4.99", "EUR", plan_name, unique("inv"))
    planned = plan(services, [name], refund="last-payment")
    clock(11 * DAY)
    run_due_jobs(services)
    assert member.http.get("/me").json()["plans"] == [plan_name]  # kept: it covers messages too
    [refund] = refunds(services, member.email)
    assert (refund.amount, refund.currency) == ("2.49", "EUR")  # the gallery's half of 4.99, rounded down
    [refunded] = [event for event in services.retirements.events(planned.id) if event["action"] == "refunded"]
    assert refunded["detail"]["kept"] == [{"email": member.email, "plan": plan_name}]
    assert refunded["detail"]["ended"] == [] and len(refunded["detail"]["refunds"]) == 1
    services.retirements.cancel("ops@example.org", planned.id)


# -- idempotent steps -----------------------------------------------------------------------------------------


def test_running_each_step_again_changes_nothing(services, accounts, clock):
    name = group(services, "RO")
    member = with_photo(accounts, "member", "RO", 7013)
    other = with_photo(accounts, "other", "RO", 7014)
    plan_name = unique("Photos")
    services.plans.add(plan_name, 10**10, "2.99", "EUR", "month", ["gallery"])
    services.plans.start(member.email, plan_name)
    services.ledger.record("payment", member.email, "2.99", "EUR", plan_name, unique("inv"))
    planned = plan(services, [name], refund="last-payment")
    again = lambda step, at: services.retirement_steps.run(step_subject(planned.id, step, at))

    clock(2 * DAY)
    run_due_jobs(services)
    again("announce", planned.announce_at)
    assert notices_of(services, planned.id) == 1
    assert len([m for m in retirement_messages(member) if not m.startswith("Reminder")]) == 1
    clock(9 * DAY)
    run_due_jobs(services)
    again("stop-sync", planned.stop_sync_at)
    again("announce", planned.announce_at)
    assert len(refunds(services, member.email)) == 1
    reminders = notices_of(services, planned.id)
    clock(20 * DAY)
    run_due_jobs(services)
    assert services.retirements.get(planned.id).state == "done"
    receipts = {user.email: user.http.get("/me/deletion-receipts").json() for user in (member, other)}
    report = services.retirements.get(planned.id).report
    for step, at in (("delete", planned.delete_at), ("stop-sync", planned.stop_sync_at),
                     ("announce", planned.announce_at), ("remind-deadline-7", planned.deadline_at - 7 * DAY)):
        again(step, at)
    assert {user.email: user.http.get("/me/deletion-receipts").json() for user in (member, other)} == receipts
    assert all(len(found) == 1 and found[0]["state"] == "done" for found in receipts.values())
    assert services.retirements.get(planned.id).report == report
    assert len(refunds(services, member.email)) == 1
    with services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.reference.like(f"retirement-{planned.id}-%"))) == 1
        assert session.scalar(select(func.count()).select_from(DeletionReceipt).where(
            DeletionReceipt.retirement_id == planned.id)) == 2
    assert notices_of(services, planned.id) >= reminders  # the reminders after the stop; none posted twice
    with services.db.read() as session:
        origins = list(session.scalars(select(Notice.origin).where(Notice.retirement_id == planned.id)))
    assert len(origins) == len(set(origins))


# -- who may see what -----------------------------------------------------------------------------------------


def test_a_non_administrator_is_refused_every_admin_retirement_endpoint(services, accounts):
    planned = plan(services, [group(services, "PT")])
    user = person(accounts, "someone", "PT")
    at = {key: value.isoformat() for key, value in dates().items()}
    for method, path, body in (
            ("GET", "/admin/retirements", None),
            ("POST", "/admin/retirements", {"kind": "gallery", "groups": ["x"], "refund": "none", **at}),
            ("GET", f"/admin/retirements/show?id={planned.id}", None),
            ("POST", "/admin/retirements/postpone", {"id": planned.id, "delete_at": at["delete_at"]}),
            ("POST", "/admin/retirements/cancel", {"id": planned.id})):
        answer = user.http.request(method, path, json=body)
        assert answer.status_code == 403, (method, path, answer.text)
    assert services.retirements.get(planned.id).state == "scheduled"
    services.retirements.cancel("ops@example.org", planned.id)


def test_a_user_sees_only_their_own_deletion_receipts(services, accounts, clock):
    name = group(services, "ES")
    mine, theirs = with_photo(accounts, "mine", "ES", 7015), with_photo(accounts, "theirs", "ES", 7016)
    outsider = person(accounts, "outsider", "PL")
    planned = plan(services, [name])
    clock(31 * DAY)
    run_due_jobs(services)
    assert services.retirements.get(planned.id).state == "done"
    ids = {user.email: services.accounts.user_by_email(user.email).id for user in (mine, theirs)}
    for user in (mine, theirs):
        [receipt] = user.http.get("/me/deletion-receipts").json()
        assert receipt["retirement"] == planned.id
        with services.db.read() as session:
            owner = session.scalar(select(DeletionReceipt.user_id).where(
                DeletionReceipt.retirement_id == planned.id, DeletionReceipt.manifest_sha256 == receipt["manifest_sha256"]))
        assert owner == ids[user.email]
    assert outsider.http.get("/me/deletion-receipts").json() == []
    assert outsider.http.get("/me/deletion-receipts", params={"user_id": ids[mine.email]}).json() == []


# -- what the kind's data leaves elsewhere --------------------------------------------------------------------


def test_deletion_removes_unfinished_uploads_into_the_kind_and_keeps_those_into_other_kinds(services, accounts,
                                                                                             clock):
    name = group(services, "SK")
    user = with_photo(accounts, "halfway", "SK", 7017)
    half_photo = created_url(user, 60_000, filename="IMG_half.jpg")
    assert patch(user, half_photo, 0, photo(60_000, 7018)[:20_000]).status_code == 204
    backup = sbr_messages_xml()
    half_backup = created_url(user, len(backup), filename="sms.xml", destination="messages")
    assert patch(user, half_backup, 0, backup[:len(backup) // 2]).status_code == 204
    planned = plan(services, [name], days=(0.01, 0.02, 0.03, 0.04))  # an hour: the unfinished do not expire
    clock(0.05 * DAY)
    run_due_jobs(services)
    assert services.retirements.get(planned.id).state == "done"
    assert head(user, half_photo).status_code == 404
    kept = head(user, half_backup)
    assert kept.status_code == 200 and kept.headers["upload-offset"] == str(len(backup) // 2)
    [receipt] = user.http.get("/me/deletion-receipts").json()
    assert receipt["items"] == 2 and receipt["bytes"] >= 20_000  # the photo, and the upload on its way
    assert patch(user, half_backup, len(backup) // 2, backup[len(backup) // 2:]).status_code == 204

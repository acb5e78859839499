"""The payments ledger: payments and refunds as the billing system reports them, through the admin API and
`phonecloud admin payment record|refund`; recorded once per reference (a retry returns the first entry, other
facts under the same reference are a conflict); exported as CSV for accounting by the CLI and the API, amounts
exact, cells a spreadsheet would run made harmless; kept when the account goes."""

from __future__ import annotations

import csv
import io
import os

import pytest

from plans.helpers import assert_fails, assert_refused, cli, make_admin, ok, unique

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)

HEADER = ["time", "email", "plan", "kind", "amount", "currency", "reference", "note", "id"]


@pytest.fixture(scope="module")
def admin(accounts):
    return make_admin(accounts)


@pytest.fixture(scope="module")
def plan(admin) -> str:
    name = unique("Paid")
    added = admin.http.post("/admin/plans", json={"name": name, "quota_bytes": 50 * 1000**3, "price": "1.99",
                                                  "currency": "EUR"})
    assert added.status_code == 201, added.text
    return name


def pay(admin, kind: str, **fields):
    return admin.http.post(f"/admin/{kind}", json=fields)


def rows_of(text: str) -> list[dict]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    assert header == HEADER
    return [dict(zip(header, row)) for row in reader]


def test_a_payment_and_its_refund_are_entries_of_their_own(admin, plan, user):
    reference = unique("inv")
    paid = pay(admin, "payments", email=user.email.upper(), amount="1.99", currency="eur", plan=plan,
               reference=reference, at="2026-01-31T10:00:00Z", note="January")
    assert paid.status_code == 201, paid.text
    entry = paid.json()
    assert {key: entry[key] for key in ("email", "plan", "kind", "amount", "currency", "reference", "note")} == {
        "email": user.email, "plan": plan, "kind": "payment", "amount": "1.99", "currency": "EUR",
        "reference": reference, "note": "January"}
    assert entry["time"].startswith("2026-01-31T10:00:00")
    refunded = pay(admin, "refunds", email=user.email, amount="0.99", currency="EUR", plan=plan, reference=reference,
                   at="2026-02-02T09:00:00+01:00")
    assert refunded.status_code == 201, refunded.text
    assert (refunded.json()["kind"], refunded.json()["amount"]) == ("refund", "0.99")
    listed = admin.http.get("/admin/ledger", params={"email": user.email})
    assert listed.status_code == 200
    assert [(row["kind"], row["amount"], row["time"][:19]) for row in listed.json()] == [
        ("payment", "1.99", "2026-01-31T10:00:00"), ("refund", "0.99", "2026-02-02T08:00:00")]


def test_the_same_reference_again_returns_the_first_entry_and_other_facts_are_a_conflict(admin, plan, user):
    reference = unique("retry")
    fields = dict(email=user.email, amount="4.50", currency="EUR", plan=plan, reference=reference)
    first = pay(admin, "payments", **fields)
    assert first.status_code == 201
    again = pay(admin, "payments", **fields)
    assert again.status_code == 200 and again.json() == first.json()
    conflict = assert_refused(pay(admin, "payments", **{**fields, "amount": "5.00"}), 409, reference,
                              "recorded already", "4.50 EUR", error="conflict")
    assert conflict["id"] == first.json()["id"]
    assert len(admin.http.get("/admin/ledger", params={"email": user.email}).json()) == 1


REFUSALS = {
    "too-many-decimals": ({"amount": "1.999"}, 400, ["EUR has 2 decimals"]),
    "zero": ({"amount": "0"}, 400, ["more than zero"]),
    "negative": ({"amount": "-1.00"}, 400, ["positive"]),
    "not-a-currency": ({"currency": "EUX"}, 400, ["ISO 4217"]),
    "unknown-user": ({"email": "nobody@example.org"}, 404, ["no user with email nobody@example.org"]),
    "unknown-plan": ({"plan": "No such plan"}, 404, ["no plan 'No such plan'"]),
    "empty-reference": ({"reference": "  "}, 400, ["reference"]),
    "jpy-decimals": ({"amount": "1.5", "currency": "JPY"}, 400, ["JPY has 0 decimals"]),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_wrong_entry_is_refused_naming_the_problem(admin, plan, user, case):
    changes, status, phrases = REFUSALS[case]
    fields = {"email": user.email, "amount": "1.99", "currency": "EUR", "plan": plan, "reference": unique("bad"),
              **changes}
    assert_refused(pay(admin, "payments", **fields), status, *phrases)
    assert admin.http.get("/admin/ledger", params={"email": user.email}).json() == []


def test_the_cli_records_payments_and_refunds_once(server, admin, plan, user):
    reference = unique("R")
    recorded = ok(cli(server, "admin", "payment", "record", user.email, "1.99", "EUR", "--plan", plan,
                      "--reference", reference, "--at", "2026-01-31T10:00:00Z"))
    line = recorded.stdout.strip()
    assert line.startswith("recorded payment ") and line.endswith(
        f": 1.99 EUR from {user.email} for {plan} ({reference}) at 2026-01-31T10:00:00+00:00")
    again = ok(cli(server, "admin", "payment", "record", user.email, "1.99", "EUR", "--plan", plan,
                   "--reference", reference, "--at", "2026-01-31T10:00:00Z"))
    assert again.stdout.strip() == "already " + line
    assert_fails(cli(server, "admin", "payment", "record", user.email, "2.99", "EUR", "--plan", plan,
                     "--reference", reference), "recorded already", "1.99 EUR")
    refunded = ok(cli(server, "admin", "payment", "refund", user.email, "1.99", "EUR", "--plan", plan,
                      "--reference", f"{reference}-refund", "--at", "2026-02-01T00:00:00Z", "--note", "goodwill"))
    assert refunded.stdout.startswith("recorded refund ")
    assert_fails(cli(server, "admin", "payment", "record", user.email, "1.999", "EUR", "--plan", plan,
                     "--reference", unique("R")), "EUR has 2 decimals")
    assert_fails(cli(server, "admin", "payment", "record", user.email, "1", "EUR", "--plan", plan,
                     "--reference", unique("R"), "--at", "last week"), "--at", code=2)
    entries = admin.http.get("/admin/ledger", params={"email": user.email}).json()
    assert [(e["kind"], e["amount"], e["reference"], e["note"]) for e in entries] == [
        ("payment", "1.99", reference, ""), ("refund", "1.99", f"{reference}-refund", "goodwill")]


def record_mixed(admin, plan, email) -> dict[str, tuple]:
    """Entries in several currencies, one with a reference a spreadsheet would run: reference -> (kind, amount,
    currency)."""
    made = {}
    for kind, amount, currency, reference in [
            ("payments", "1.99", "EUR", unique("eur")), ("payments", "100", "JPY", unique("jpy")),
            ("payments", "1.005", "KWD", unique("kwd")), ("payments", "0.10", "USD", "=cmd()" + unique("|x")),
            ("refunds", "1.99", "EUR", unique("back"))]:
        answer = pay(admin, kind, email=email, amount=amount, currency=currency, plan=plan, reference=reference,
                     at="2026-03-01T12:00:00Z")
        assert answer.status_code == 201, answer.text
        made[reference] = (kind.rstrip("s"), amount, currency)
    return made


def test_the_csv_export_has_one_row_per_entry_with_exact_amounts(server, admin, plan, user, tmp_path):
    made = record_mixed(admin, plan, user.email)
    target = tmp_path / "ledger.csv"
    exported = ok(cli(server, "admin", "ledger", "export", "--out", str(target)))
    rows = rows_of(target.read_text(encoding="utf-8"))
    everything = admin.http.get("/admin/ledger", params={"limit": 10000}).json()
    assert exported.stdout.strip() == f"wrote {len(everything)} entries to {target}"
    assert [int(row["id"]) for row in rows] == [entry["id"] for entry in everything]  # one row per entry
    mine = [row for row in rows if row["email"] == user.email]
    by_reference = {row["reference"]: row for row in mine}
    formula = next(reference for reference in made if reference.startswith("="))
    assert "'" + formula in by_reference and formula not in by_reference  # written with a leading apostrophe
    for reference, (kind, amount, currency) in made.items():
        row = by_reference["'" + reference if reference.startswith("=") else reference]
        assert (row["kind"], row["amount"], row["currency"], row["plan"]) == (kind, amount, currency, plan)
        assert row["time"] == "2026-03-01T12:00:00+00:00"
    assert not list(tmp_path.glob("*.partial"))


def test_the_export_to_standard_output_and_the_api_csv_give_the_same_rows(server, admin, plan, user, tmp_path):
    record_mixed(admin, plan, user.email)
    # The ledger group's real processes: CSV written straight to the process's stdout, and exit 0.
    to_stdout = ok(cli(server, "admin", "ledger", "export", "--out", "-", process=True)).stdout
    target = tmp_path / "ledger.csv"
    ok(cli(server, "admin", "ledger", "export", "--out", str(target), process=True))
    streamed = admin.http.get("/admin/ledger.csv")
    assert streamed.status_code == 200
    assert streamed.headers["content-type"].startswith("text/csv")
    assert "attachment" in streamed.headers["content-disposition"]
    assert rows_of(to_stdout) == rows_of(target.read_text(encoding="utf-8")) == rows_of(streamed.text)
    assert streamed.text.startswith(",".join(HEADER) + "\r\n")
    # a period: since/until
    since = admin.http.get("/admin/ledger.csv", params={"since": "2026-03-01T12:00:00Z",
                                                        "until": "2026-03-01T12:00:01Z"})
    assert {row["time"] for row in rows_of(since.text)} == {"2026-03-01T12:00:00+00:00"}


def test_an_unwritable_out_gives_a_clean_error_and_leaves_no_partial_file(server, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    existing = folder / "taken"
    existing.mkdir()  # a folder where the file should go: the export cannot replace it
    assert_fails(cli(server, "admin", "ledger", "export", "--out", str(existing)), "cannot write", str(existing))
    assert_fails(cli(server, "admin", "ledger", "export", "--out", str(folder / "missing" / "ledger.csv")),
                 "cannot write")
    assert sorted(os.listdir(folder)) == ["taken"] and os.listdir(existing) == []


def test_the_ledger_keeps_a_deleted_accounts_entries_with_the_email(server, accounts, admin, plan):
    leaving = accounts.create(name="leaving")
    reference = unique("kept")
    assert pay(admin, "payments", email=leaving.email, amount="2.99", currency="EUR", plan=plan,
               reference=reference).status_code == 201
    ok(cli(server, "admin", "delete-user", leaving.email, "--yes"))
    assert admin.http.get("/admin/users").status_code == 200
    assert leaving.email not in [row["email"] for row in admin.http.get("/admin/users").json()]
    kept = admin.http.get("/admin/ledger", params={"email": leaving.email}).json()
    assert [(row["email"], row["amount"], row["reference"]) for row in kept] == [(leaving.email, "2.99", reference)]
    assert any(row["reference"] == reference and row["email"] == leaving.email
               for row in rows_of(admin.http.get("/admin/ledger.csv").text))
    # a new payment for the gone account is refused: there is nobody to record it for
    assert_refused(pay(admin, "payments", email=leaving.email, amount="2.99", currency="EUR", plan=plan,
                       reference=unique("late")), 404, "no user with email")


def test_an_email_or_a_plan_name_that_starts_like_a_formula_is_written_harmless(server, accounts, admin):
    email = f"=1+1-{unique('x')}@example.org"  # a valid address that a spreadsheet would run
    accounts.services.accounts.create_user(email, "correct horse battery")
    plan = "@SUM(" + unique("p") + ")"
    assert admin.http.post("/admin/plans", json={"name": plan, "quota_bytes": 10**9}).status_code == 201
    reference = unique("plain")
    assert pay(admin, "payments", email=email, amount="3.00", currency="EUR", plan=plan,
               reference=reference).status_code == 201
    for text in (admin.http.get("/admin/ledger.csv").text, ok(cli(server, "admin", "ledger", "export", "--out",
                                                                 "-")).stdout):
        (row,) = [row for row in rows_of(text) if row["reference"] == reference]
        assert (row["email"], row["plan"]) == ("'" + email, "'" + plan)
    # the API's JSON keeps them as they are
    (entry,) = admin.http.get("/admin/ledger", params={"email": email}).json()
    assert (entry["email"], entry["plan"]) == (email, plan)

"""The payments ledger: payments and refunds as the operator's billing system reports them (phonecloud takes
no payments itself), each one row, exportable as CSV for accounting. Entries are never changed or removed;
a mistake is corrected by an entry of its own."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from phonecloud.accounts.models import User
from phonecloud.core.dates import bounded
from phonecloud.core.db import Database, utcnow
from phonecloud.core.errors import BadRequest, Conflict, NotFound
from phonecloud.plans.models import LedgerEntry, Plan
from phonecloud.plans.money import currency_code, from_minor, to_minor

KINDS = ("payment", "refund")
CSV_COLUMNS = ("time", "email", "plan", "kind", "amount", "currency", "reference", "note", "id")
_REFERENCE = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")
_PAGE = 1000


@dataclass(frozen=True)
class EntryRow:
    id: int
    time: dt.datetime
    email: str
    plan: str
    kind: str
    amount: str
    currency: str
    reference: str
    note: str

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class Ledger:
    def __init__(self, db: Database):
        self.db = db

    def record(self, kind: str, email: str, amount: str, currency: str, plan: str, reference: str,
               at: dt.datetime | None = None, note: str = "") -> tuple[EntryRow, bool]:
        """Record a payment or a refund; (entry, created). The same kind and reference again with the same
        facts returns the entry recorded first (a billing system's retry); with other facts, Conflict."""
        if kind not in KINDS:
            raise BadRequest(f"kind must be payment or refund, not {kind!r}")
        reference = (reference or "").strip()
        if not _REFERENCE.match(reference):
            raise BadRequest("a reference (the billing system's id of the payment) is 1 to 200 characters")
        if len(note) > 2000 or "\x00" in note:
            raise BadRequest("a note is at most 2000 characters")
        code = currency_code(currency)
        minor = to_minor(amount, code)
        if minor == 0:
            raise BadRequest("an amount must be more than zero")
        at = bounded(at, "at") if at is not None else utcnow()
        with self.db.read() as session:
            user = session.scalar(select(User).where(User.email == email.strip().lower()))
            plan_row = session.scalar(select(Plan.name).where(Plan.name == plan.strip()))
        if user is None:
            raise NotFound(f"no user with email {email}")
        if plan_row is None:
            raise NotFound(f"no plan {plan!r}")
        entry = LedgerEntry(at=at, user_id=user.id, email=user.email, plan_name=plan_row, kind=kind,
                            amount_minor=minor, currency=code, reference=reference, note=note)
        try:
            with self.db.write() as session:
                session.add(entry)
        except IntegrityError:
            return self._same_again(kind, reference, user.email, plan_row, minor, code, at), False
        return _row(entry), True

    def _same_again(self, kind: str, reference: str, email: str, plan: str, minor: int, currency: str,
                    at: dt.datetime) -> EntryRow:
        with self.db.read() as session:
            first = session.scalar(select(LedgerEntry).where(LedgerEntry.kind == kind,
                                                             LedgerEntry.reference == reference))
        if first is None:  # not the reference: the account or the plan went meanwhile
            raise Conflict(f"{email}'s account or plan {plan!r} changed while the {kind} was recorded; send it again")
        if (first.email, first.plan_name, first.amount_minor, first.currency) != (email, plan, minor, currency):
            raise Conflict(f"a {kind} with reference {reference!r} is recorded already, with other details "
                           f"({first.email}, {first.plan_name}, {from_minor(first.amount_minor, first.currency)} "
                           f"{first.currency})", id=first.id)
        return _row(first)

    def entries(self, email: str | None = None, since: dt.datetime | None = None,
                until: dt.datetime | None = None) -> Iterator[EntryRow]:
        """Entries in time order, a page at a time (the export of a large ledger runs in constant memory)."""
        after: tuple[dt.datetime, int] | None = None
        while True:
            query = select(LedgerEntry).order_by(LedgerEntry.at, LedgerEntry.id).limit(_PAGE)
            if email is not None:
                query = query.where(LedgerEntry.email == email.strip().lower())
            if since is not None:
                query = query.where(LedgerEntry.at >= since)
            if until is not None:
                query = query.where(LedgerEntry.at < until)
            if after is not None:
                query = query.where((LedgerEntry.at > after[0]) | ((LedgerEntry.at == after[0])
                                                                    & (LedgerEntry.id > after[1])))
            with self.db.read() as session:
                page = [_row(entry) for entry in session.scalars(query)]
            yield from page
            if len(page) < _PAGE:
                return
            after = (page[-1].time, page[-1].id)


    def latest(self, limit: int) -> list[EntryRow]:
        """The newest entries, newest first (for a page; the CSV export has them all)."""
        with self.db.read() as session:
            return [_row(entry) for entry in session.scalars(
                select(LedgerEntry).order_by(LedgerEntry.at.desc(), LedgerEntry.id.desc()).limit(limit))]


def csv_lines(rows) -> Iterator[str]:
    """The ledger as CSV text (RFC 4180, a header row first), a line at a time."""

    class Line:
        text = ""

        def write(self, text: str) -> None:
            self.text = text

    line = Line()
    writer = csv.writer(line, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield line.text
    for row in rows:
        # Every cell of free text: an email ("=1+1@example.org" is one) and a plan's name may start like a formula too.
        writer.writerow([row.time.isoformat(), _formula_safe(row.email), _formula_safe(row.plan), row.kind, row.amount,
                         row.currency, _formula_safe(row.reference), _formula_safe(row.note), row.id])
        yield line.text


def _formula_safe(text: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP's CSV injection advice)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _row(entry: LedgerEntry) -> EntryRow:
    return EntryRow(entry.id, entry.at, entry.email, entry.plan_name, entry.kind,
                    from_minor(entry.amount_minor, entry.currency), entry.currency, entry.reference, entry.note)

"""The steps of a retirement, each the `retirement.step` job of one plan, step and time: idempotent (a step
run again finds its work done, or carries on where it stopped) and run late rather than never after a
downtime (the job queue keeps them). A job whose time no longer matches the plan's (postponed) does nothing.

- announce: a legally required notice, in the app and by email, to the affected users who keep data of the
  kind (never to others), shown until deletion; reminders before the stop of sync and the deadline.
- stop-sync: the intake gate refuses the kind for affected users (see service.check_intake); memberships of
  plans that include only the retired kind end, refunded by the plan's policy.
- delete: each affected user's data of the kind is purged through the kind's own purge, with their exports
  and their unfinished uploads into it;
  a receipt per user counts what went (in the transactions that deleted it), and a final scan per user
  checks that no row and no charged byte of the kind is left. The plan's report sums it up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from phonecloud.accounts.models import User
from phonecloud.core.blobstore import BlobStore
from phonecloud.core.db import Database, dialect_insert, utcnow
from phonecloud.core.kinds import Purged
from phonecloud.notices.models import Notice
from phonecloud.notices.service import Audience, NoticeService
from phonecloud.plans.ledger import Ledger
from phonecloud.plans.models import LedgerEntry, Membership, Plan
from phonecloud.plans.money import from_minor
from phonecloud.plans.service import PlanService, active_at
from phonecloud.retirement.models import DeletionReceipt, Retirement
from phonecloud.retirement.service import JOB_ACTOR, RetirementService

_PERIOD_DAYS = {"month": 30, "year": 365}
_SWEEP_BATCH = 500


class RetirementSteps:
    def __init__(self, db: Database, blobs: BlobStore, retirements: RetirementService, notices: NoticeService,
                 plans: PlanService, ledger: Ledger, purge_beyond_the_kind: Callable, kinds: Callable[[], dict]):
        self.db = db
        self.blobs = blobs  # for the sweep of blobs that a purge cut short left behind
        self.retirements = retirements
        self.notices = notices
        self.plans = plans
        self.ledger = ledger
        # (user id, record, kind): the kind's data held elsewhere: unfinished uploads into it, exports
        self.purge_beyond_the_kind = purge_beyond_the_kind
        self.kinds = kinds

    def run(self, subject: str) -> None:
        """The `retirement.step` job: "{plan id}:{step}@{time}"."""
        head, _, at = subject.partition("@")
        plan_id, _, step = head.partition(":")
        plan = self.retirements.get(int(plan_id))
        if plan.state == "cancelled" or not self._still_due(plan, step, dt.datetime.fromisoformat(at)):
            return
        if step != "delete" and plan.state in ("deleting", "done"):
            return  # run late (a downtime) past the deletion: nothing left to tell or stop
        if step == "announce":
            self.announce(plan)
        elif step == "stop-sync":
            self.stop_sync(plan)
        elif step == "delete":
            self.delete(plan)
        elif step.startswith("remind-"):
            self.remind(plan, step)

    def _still_due(self, plan: Retirement, step: str, at: dt.datetime) -> bool:
        dates = {"announce": plan.announce_at, "stop-sync": plan.stop_sync_at, "delete": plan.delete_at,
                 **dict(self.retirements.reminders(plan))}
        return dates.get(step) == at

    def _log(self, plan: Retirement, action: str, detail: dict) -> None:
        with self.db.write() as session:
            self.retirements.log(session, plan.id, JOB_ACTOR, action, detail)

    def _state(self, plan: Retirement, state: str, after: tuple[str, ...]) -> bool:
        """Move the plan to state if it is in one of after; whether it moved."""
        with self.db.write() as session:
            moved = session.execute(update(Retirement).where(Retirement.id == plan.id, Retirement.state.in_(after))
                                    .values(state=state))
        return moved.rowcount == 1

    # -- announce and remind ------------------------------------------------------------------------------

    def _notice(self, plan: Retirement, step: str, message: str, ends_at: dt.datetime, subject: str):
        with self.db.read() as session:
            countries = tuple(self.retirements.countries(session, plan))
        return self.notices.post(message, "critical", starts_at=utcnow(), ends_at=max(ends_at, utcnow()
                                 + dt.timedelta(seconds=1)),
                                 audience=Audience(kind=plan.kind, countries=countries),
                                 email=self.notices.email_configured, required=True, subject=subject,
                                 origin=f"retirement:{plan.id}:{step}", retirement_id=plan.id)

    def _text(self, plan: Retirement) -> str:
        title = self.kinds()[plan.kind].title
        lines = [plan.message] if plan.message else []
        lines.append(f"{title} backup ends in your region: nothing new can be added from "
                     f"{_day(plan.stop_sync_at)}. Download everything you keep before {_day(plan.deadline_at)} "
                     f"(Download all, `phonecloud export` or `phonecloud pull`), or move it to another service; "
                     f"what is left is deleted on {_day(plan.delete_at)}. Everything else you keep is not affected.")
        return "\n\n".join(lines)

    def announce(self, plan: Retirement) -> None:
        notice = self._notice(plan, "announce", self._text(plan), plan.delete_at,
                              f"{self.kinds()[plan.kind].title} backup ends on {_day(plan.stop_sync_at)}")
        if self._state(plan, "announced", ("scheduled",)):
            self._log(plan, "announced", {"notice": notice.id, "email": notice.email})

    def remind(self, plan: Retirement, step: str) -> None:
        if step.startswith("remind-stop-sync-"):
            which, days, when = "stop of sync", step.rsplit("-", 1)[1], plan.stop_sync_at
        else:
            which, days, when = "download deadline", step.rsplit("-", 1)[1], plan.deadline_at
        if utcnow() >= when:  # run late past what it reminds of (a downtime): the later notices say it all
            self._log(plan, "reminder-skipped", {"step": step, "reason": f"the {which} has passed"})
            return
        notice = self._notice(plan, step, f"Reminder: {days} days before the {which}.\n\n{self._text(plan)}", when,
                              f"Reminder: {days} days left before the {which}")
        self._log(plan, "reminded", {"step": step, "notice": notice.id})

    # -- stop sync and refunds ----------------------------------------------------------------------------

    def stop_sync(self, plan: Retirement) -> None:
        if plan.state == "scheduled":
            self.announce(plan)  # a plan whose announcement did not run yet (the same moment, or a downtime)
        if self._state(plan, "sync-stopped", ("announced",)):
            self._log(plan, "sync-stopped", {})
        self.refund(self.retirements.get(plan.id))

    def refund(self, plan: Retirement) -> None:
        """End the memberships of plans that include only the retired kind, for the affected users, and
        refund them by the plan's policy (idempotent: a refund's reference names the payment it refunds)."""
        now = utcnow()
        with self.db.read() as session:
            countries = self.retirements.countries(session, plan)
            rows = list(session.execute(
                select(Membership, Plan, User.email).join(Plan, Plan.id == Membership.plan_id)
                .join(User, User.id == Membership.user_id)
                .where(User.region.in_(countries), *active_at(now))))
        ended, kept, refunds = [], [], []
        for membership, member_plan, email in rows:
            kinds = member_plan.kinds.split(",") if member_plan.kinds is not None else None
            if kinds is not None and plan.kind not in kinds:
                continue
            share = len(kinds) if kinds is not None else len(self.kinds())
            if share > 1:  # it covers other kinds too: kept, and only the retired kind's share refunded
                kept.append({"email": email, "plan": member_plan.name})
            else:
                self.plans.end(email, member_plan.name, now)
                ended.append({"email": email, "plan": member_plan.name})
            entry = self._refund_one(plan, email, member_plan, now, share)
            if entry is not None:
                refunds.append(entry)
        self._log(plan, "refunded", {"policy": plan.refund, "ended": ended, "kept": kept, "refunds": refunds})

    def _refund_one(self, plan: Retirement, email: str, member_plan: Plan, now: dt.datetime,
                    share: int) -> dict | None:
        """The refund of the last payment for the plan by the policy: all of it, or its unused days; for a
        plan of several kinds, the retired kind's equal share of that."""
        if plan.refund == "none":
            return None
        with self.db.read() as session:
            payment = session.scalar(select(LedgerEntry).where(
                LedgerEntry.email == email, LedgerEntry.plan_name == member_plan.name,
                LedgerEntry.kind == "payment").order_by(LedgerEntry.at.desc(), LedgerEntry.id.desc()).limit(1))
        if payment is None:
            return None
        amount = payment.amount_minor
        if plan.refund == "prorated":
            days = _PERIOD_DAYS.get(member_plan.period)
            if days is None:
                return None
            used = max(0, (now.date() - payment.at.date()).days)
            amount = payment.amount_minor * max(0, days - used) // days
        amount //= share
        if amount <= 0:
            return None
        part = f", its share of {share} kinds" if share > 1 else ""
        entry, _ = self.ledger.record("refund", email, from_minor(amount, payment.currency), payment.currency,
                                      member_plan.name, f"retirement-{plan.id}-payment-{payment.id}",
                                      note=f"retirement {plan.id} of {plan.kind} ({plan.refund}{part})")
        return {"email": email, "amount": entry.amount, "currency": entry.currency, "reference": entry.reference}

    # -- delete -------------------------------------------------------------------------------------------

    def delete(self, plan: Retirement) -> None:
        if plan.state in ("scheduled", "announced"):
            self.stop_sync(plan)
        if self._state(self.retirements.get(plan.id), "deleting", ("sync-stopped",)):
            with self.db.write() as session:  # who: fixed now, so that a resumed run deletes the same users
                dialect = session.get_bind().dialect.name
                affected = self.retirements.affected(session, plan)
                for user_id in sorted(affected):
                    session.execute(dialect_insert(dialect, DeletionReceipt.__table__).values(
                        retirement_id=plan.id, user_id=user_id, kind=plan.kind, state="running", items=0, rows=0,
                        blobs=0, bytes=0, released_bytes=0, manifest_sha256="", started_at=utcnow())
                        .on_conflict_do_nothing(index_elements=["retirement_id", "user_id"]))
                self.retirements.log(session, plan.id, JOB_ACTOR, "deletion-started", {"users": len(affected)})
        plan = self.retirements.get(plan.id)
        if plan.state != "deleting":
            return
        while (receipt := self._next_running(plan.id)) is not None:
            self._delete_for(plan, receipt)
        self._conclude(plan)

    def _next_running(self, plan_id: int) -> DeletionReceipt | None:
        with self.db.read() as session:
            return session.scalar(select(DeletionReceipt).where(DeletionReceipt.retirement_id == plan_id,
                                                                DeletionReceipt.state == "running")
                                  .order_by(DeletionReceipt.id).limit(1))

    def _delete_for(self, plan: Retirement, receipt: DeletionReceipt) -> None:
        kind = self.kinds()[plan.kind]
        with self.db.write() as session:
            if not receipt.manifest_sha256:  # what the kind held, before the first byte goes
                manifest = hashlib.sha256("\n".join(kind.manifest(session, receipt.user_id)).encode()).hexdigest()
                charged = kind.usage(session, receipt.user_id).bytes
                session.execute(update(DeletionReceipt).where(DeletionReceipt.id == receipt.id).values(
                    manifest_sha256=manifest, released_bytes=charged))

        def record(removed: Purged, session: Session) -> None:
            session.execute(update(DeletionReceipt).where(DeletionReceipt.id == receipt.id).values(
                items=DeletionReceipt.items + removed.items, rows=DeletionReceipt.rows + removed.rows,
                blobs=DeletionReceipt.blobs + removed.blobs, bytes=DeletionReceipt.bytes + removed.bytes))

        kind.purge_user(receipt.user_id, record)
        self.purge_beyond_the_kind(receipt.user_id, record, kind)
        self._sweep(plan, kind, receipt.user_id)
        with self.db.write() as session:
            done = session.scalar(select(DeletionReceipt).where(DeletionReceipt.id == receipt.id).with_for_update())
            if done.state != "running":
                return
            left_rows = kind.rows_left(session, receipt.user_id)
            left_bytes = kind.usage(session, receipt.user_id).bytes  # the kind's purge released its charges
            done.rows_left, done.bytes_left, done.state, done.finished_at = left_rows, left_bytes, "done", utcnow()

    def _sweep(self, plan: Retirement, kind, user_id: int) -> None:
        """The kind's blobs of the user that no row references any more: those whose rows a run cut short
        (a crash between a batch's commit and the deletion of its blobs) already deleted and counted."""
        swept = 0
        keys = iter(self.blobs.iterate(f"users/{user_id}/"))
        while batch := list(itertools.islice(keys, _SWEEP_BATCH)):  # a batch at a time: memory stays flat
            with self.db.read() as session:
                orphans = kind.orphans(session, batch)
            for orphan in orphans:
                if orphan.owner_id == user_id:
                    self.blobs.delete(orphan.key)
                    swept += 1
        if swept:
            self._log(plan, "swept", {"user": user_id, "blobs": swept})

    def _conclude(self, plan: Retirement) -> None:
        with self.db.write() as session:
            receipts = list(session.scalars(select(DeletionReceipt).where(DeletionReceipt.retirement_id == plan.id)))
            report = {"users": len(receipts), **{name: sum(getattr(r, name) for r in receipts)
                                                   for name in ("items", "rows", "blobs", "bytes")},
                      "rows_left": sum(r.rows_left or 0 for r in receipts),
                      "bytes_left": sum(r.bytes_left or 0 for r in receipts)}
            report["clean"] = report["rows_left"] == 0 and report["bytes_left"] == 0
            moved = session.execute(update(Retirement).where(Retirement.id == plan.id, Retirement.state == "deleting")
                                    .values(state="done", report=json.dumps(report)))
            if moved.rowcount == 1:
                self.retirements.log(session, plan.id, JOB_ACTOR, "deleted", report)
        self._tell_receipts(plan)

    def _tell_receipts(self, plan: Retirement) -> None:
        """Each user whose data went is told (in the app for 30 days, and by email) where their receipt is."""
        origin = f"retirement:{plan.id}:receipts"
        with self.db.read() as session:
            if session.scalar(select(Notice.id).where(Notice.origin == origin)) is not None:
                return  # told already (this is a step run again)
        title = self.kinds()[plan.kind].title
        message = (f"As announced, what you kept of {title} was deleted on {_day(utcnow())}. Your deletion receipt "
                   "(what was deleted, a fingerprint of the list of it, and the final check that nothing is left) "
                   "is on your account page and at /api/v1/me/deletion-receipts. Everything else you keep is not "
                   "affected.")
        notice = self.notices.post(message, "info", starts_at=utcnow(), ends_at=utcnow() + dt.timedelta(days=30),
                                   audience=Audience(receipts_of=plan.id), email=self.notices.email_configured,
                                   required=True, subject=f"{title}: your deletion receipt",
                                   origin=origin, retirement_id=plan.id)
        self._log(plan, "receipts-announced", {"notice": notice.id, "email": notice.email})


def _day(moment: dt.datetime) -> str:
    return moment.strftime("%-d %B %Y")

"""Retiring a kind of data: the plan, its preview, its audit log, and the gate rule that stops sync.

A retirement names one kind, the region groups it affects (minus exempt groups, whose countries are never
affected) and four dates: announce, stop sync, the download deadline and deletion. Its steps are scheduled
jobs (retirement.steps) that read the server's clock; this module holds what the operator does and what the
intake gate asks. Dates may move later (postpone) until deletion has begun; cancelling before then restores
sync and withdraws the notices.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from phonecloud.accounts.models import User
from phonecloud.core.dates import bounded
from phonecloud.core.db import Database, utcnow
from phonecloud.core.errors import BadRequest, Conflict, IntakeClosed, NotFound
from phonecloud.core.sizes import format_size
from phonecloud.jobs.queue import JobQueue
from phonecloud.regions.models import RegionGroup, RegionGroupCountry
from phonecloud.retirement.models import DeletionReceipt, Retirement, RetirementEvent

STEP_JOB = "retirement.step"
REFUNDS = ("last-payment", "prorated", "none")
STEPS = ("announce", "stop-sync", "delete")
REMINDER_DAYS = (30, 7, 1)  # before the stop of sync and before the deadline
LIVE = ("scheduled", "announced", "sync-stopped")  # not deleting, done or cancelled
DATES = ("announce_at", "stop_sync_at", "deadline_at", "delete_at")
JOB_ACTOR = "job"


@dataclass(frozen=True)
class StepPreview:
    step: str
    at: dt.datetime
    users: int
    bytes: int

    def as_dict(self) -> dict:
        return {"step": self.step, "at": self.at, "users": self.users, "bytes": self.bytes}


def plan_dict(plan: Retirement) -> dict:
    return {"id": plan.id, "kind": plan.kind, "groups": _names(plan.groups), "exempt": _names(plan.exempt),
            "announce_at": plan.announce_at, "stop_sync_at": plan.stop_sync_at, "deadline_at": plan.deadline_at,
            "delete_at": plan.delete_at, "refund": plan.refund, "message": plan.message, "state": plan.state,
            "created_by": plan.created_by, "created_at": plan.created_at, "report": json.loads(plan.report or "{}")}


class RetirementService:
    def __init__(self, db: Database, jobs: JobQueue, kinds: Callable[[], dict]):
        self.db = db
        self.jobs = jobs
        self.kinds = kinds  # the running server's data kinds by name

    # -- the plan ------------------------------------------------------------------------------------------

    def plan(self, actor: str, kind: str, groups: list[str], announce: dt.datetime, stop_sync: dt.datetime,
             deadline: dt.datetime, delete_at: dt.datetime, refund: str, message: str = "",
             exempt: list[str] | None = None) -> Retirement:
        if kind not in self.kinds():
            raise BadRequest(f"no kind of data {kind!r} on this server (there are: {', '.join(self.kinds())})")
        if refund not in REFUNDS:
            raise BadRequest(f"refund must be one of {', '.join(REFUNDS)}, not {refund!r}")
        if len(message) > 2000 or "\x00" in message:
            raise BadRequest("a retirement's message is at most 2000 characters")
        dates = _ordered(announce, stop_sync, deadline, delete_at)
        exempt = exempt or []
        with self.db.write() as session:
            for name in [*groups, *exempt]:
                if session.scalar(select(RegionGroup.id).where(RegionGroup.name == name)) is None:
                    raise NotFound(f"no region group {name!r} (add it with `phonecloud admin region-group add`)")
            if not groups:
                raise BadRequest("name the region groups the retirement affects (--groups)")
            plan = Retirement(kind=kind, groups=",".join(groups), exempt=",".join(exempt), refund=refund,
                              message=message.strip(), state="scheduled", created_by=actor, created_at=utcnow(),
                              report="{}", **dict(zip(DATES, dates)))
            session.add(plan)
            session.flush()
            self._schedule(session, plan)
            self.log(session, plan.id, actor, "planned", plan_dict(plan))
        return self.get(plan.id)

    def postpone(self, actor: str, plan_id: int, **moves: dt.datetime | None) -> Retirement:
        """Move dates later (never earlier) until deletion has begun."""
        with self.db.write() as session:
            plan = self._locked(session, plan_id)
            if plan.state not in LIVE:
                raise Conflict(f"retirement {plan_id} is {plan.state}: its dates can no longer move")
            changed = {}
            for name in DATES:
                moved = moves.get(name)
                if moved is None:
                    continue
                moved = bounded(moved, name)
                if moved < getattr(plan, name):
                    raise BadRequest(f"{name} can only move later than {getattr(plan, name).isoformat()}")
                changed[name] = moved
            dates = _ordered(*(changed.get(name, getattr(plan, name)) for name in DATES))
            for name, moved in zip(DATES, dates):
                setattr(plan, name, moved)
            self._schedule(session, plan)
            self.log(session, plan.id, actor, "postponed", {name: moved.isoformat() for name, moved in changed.items()})
        return self.get(plan_id)

    def cancel(self, actor: str, plan_id: int) -> Retirement:
        """Before deletion has begun: sync works again, the notices are withdrawn, no step runs."""
        from phonecloud.notices.models import Notice

        with self.db.write() as session:
            plan = self._locked(session, plan_id)
            if plan.state not in LIVE:
                raise Conflict(f"retirement {plan_id} is {plan.state}: it can no longer be cancelled")
            plan.state = "cancelled"
            notices = list(session.scalars(select(Notice).where(Notice.retirement_id == plan.id,
                                                                Notice.withdrawn_at.is_(None))))
            for notice in notices:
                notice.withdrawn_at = utcnow()
            self.log(session, plan.id, actor, "cancelled", {"notices_withdrawn": len(notices)})
        return self.get(plan_id)

    def get(self, plan_id: int) -> Retirement:
        with self.db.read() as session:
            plan = session.get(Retirement, plan_id)
        if plan is None:
            raise NotFound(f"no retirement {plan_id}")
        return plan

    def plans(self) -> list[Retirement]:
        with self.db.read() as session:
            return list(session.scalars(select(Retirement).order_by(Retirement.id.desc())))

    def events(self, plan_id: int) -> list[dict]:
        self.get(plan_id)
        with self.db.read() as session:
            return [{"at": event.at, "actor": event.actor, "action": event.action, "detail": json.loads(event.detail)}
                    for event in session.scalars(select(RetirementEvent).where(
                        RetirementEvent.retirement_id == plan_id).order_by(RetirementEvent.id))]

    def receipts(self, user_id: int) -> list[dict]:
        """The deletion receipts of one user's data, newest first."""
        with self.db.read() as session:
            return [{"retirement": receipt.retirement_id, "kind": receipt.kind, "state": receipt.state,
                     "items": receipt.items, "rows": receipt.rows, "blobs": receipt.blobs, "bytes": receipt.bytes,
                     "charged_bytes": receipt.released_bytes,
                     "manifest_sha256": receipt.manifest_sha256, "rows_left": receipt.rows_left,
                     "bytes_left": receipt.bytes_left, "started_at": receipt.started_at,
                     "finished_at": receipt.finished_at}
                    for receipt in session.scalars(select(DeletionReceipt).where(DeletionReceipt.user_id == user_id)
                                                   .order_by(DeletionReceipt.id.desc()))]

    def receipt_lines(self, plan_id: int, user_id: int) -> list[str]:
        """One user's receipt of a retirement, as lines of their email (none: no receipt)."""
        with self.db.read() as session:
            receipt = session.scalar(select(DeletionReceipt).where(DeletionReceipt.retirement_id == plan_id,
                                                                   DeletionReceipt.user_id == user_id))
        if receipt is None:
            return []
        return [f"Deleted: {receipt.items} items ({receipt.rows} records, {receipt.blobs} files, "
                f"{format_size(receipt.bytes)}); {format_size(receipt.released_bytes)} of storage released.",
                f"Fingerprint of the list of what was deleted (SHA-256): {receipt.manifest_sha256}",
                f"Final check: {receipt.rows_left} records and {receipt.bytes_left} bytes left."]

    @staticmethod
    def log(session: Session, plan_id: int, actor: str, action: str, detail: dict) -> None:
        session.add(RetirementEvent(retirement_id=plan_id, at=utcnow(), actor=actor, action=action,
                                    detail=json.dumps(detail, default=str)))

    @staticmethod
    def _locked(session: Session, plan_id: int) -> Retirement:
        plan = session.scalar(select(Retirement).where(Retirement.id == plan_id).with_for_update())
        if plan is None:
            raise NotFound(f"no retirement {plan_id}")
        return plan

    def _schedule(self, session: Session, plan: Retirement) -> None:
        """A job for each step and reminder at its time (a job names its time: one whose date moved finds
        the plan's date differs, and does nothing)."""
        for step, at in (("announce", plan.announce_at), ("stop-sync", plan.stop_sync_at),
                         ("delete", plan.delete_at), *self.reminders(plan)):
            self.jobs.enqueue_in(session, STEP_JOB, step_subject(plan.id, step, at), max_attempts=100, run_after=at)

    @staticmethod
    def reminders(plan: Retirement) -> list[tuple[str, dt.datetime]]:
        reminders = []
        for name, deadline in (("stop-sync", plan.stop_sync_at), ("deadline", plan.deadline_at)):
            for days in REMINDER_DAYS:
                at = deadline - dt.timedelta(days=days)
                if at > plan.announce_at:
                    reminders.append((f"remind-{name}-{days}", at))
        return reminders

    # -- who is affected -----------------------------------------------------------------------------------

    @staticmethod
    def countries(session: Session, plan: Retirement) -> list[str]:
        """The affected countries: the groups' minus the exempt groups'."""
        def of(names: list[str]) -> set[str]:
            if not names:
                return set()
            return set(session.scalars(select(RegionGroupCountry.country).join(
                RegionGroup, RegionGroup.id == RegionGroupCountry.group_id).where(RegionGroup.name.in_(names))))

        return sorted(of(_names(plan.groups)) - of(_names(plan.exempt)))

    def affected(self, session: Session, plan: Retirement) -> dict[int, int]:
        """Users of the affected countries who keep data of the kind: user id -> bytes charged for it."""
        countries = self.countries(session, plan)
        kind = self.kinds()[plan.kind]
        holders = {owner: used.bytes for owner, used in kind.usage_by_owner(session).items() if used.items}
        if not holders or not countries:
            return {}
        in_region = set(session.scalars(select(User.id).where(User.region.in_(countries))))
        return {user_id: size for user_id, size in holders.items() if user_id in in_region}

    def preview(self, plan_id: int) -> list[StepPreview]:
        """Before anything happens: how many users and bytes each step would affect, as things stand now."""
        plan = self.get(plan_id)
        with self.db.read() as session:
            affected = self.affected(session, plan)
        users, size = len(affected), sum(affected.values())
        return [StepPreview("announce", plan.announce_at, users, size),
                StepPreview("stop-sync", plan.stop_sync_at, users, size),
                StepPreview("deadline", plan.deadline_at, users, size),
                StepPreview("delete", plan.delete_at, users, size)]

    # -- the gate ------------------------------------------------------------------------------------------

    def check_intake(self, principal, kind: str) -> None:
        """The intake gate's rule: after a retirement's stop of sync, its affected users add no more of kind."""
        now = utcnow()
        with self.db.read() as session:
            plans = list(session.scalars(select(Retirement).where(
                Retirement.kind == kind, Retirement.state.in_(("announced", "sync-stopped", "deleting", "done")),
                Retirement.stop_sync_at <= now)))
            if not plans:
                return
            region = (principal.standing.region if principal.standing is not None
                      else session.scalar(select(User.region).where(User.id == principal.user_id)))
            stopping = next((plan for plan in plans if region in self.countries(session, plan)), None)
        if stopping is not None:
            title = self.kinds()[kind].title
            raise IntakeClosed(
                f"{title} backup has ended in your region ({region}): nothing new can be added. Download "
                f"everything you keep before {stopping.deadline_at.strftime('%-d %B %Y, %H:%M UTC')} (Download all, "
                f"`phonecloud export` or `phonecloud pull`) or move it to another service; it will be deleted on "
                f"{stopping.delete_at.strftime('%-d %B %Y')}.", kind=kind, retirement=stopping.id,
                deadline=stopping.deadline_at.isoformat(), delete_at=stopping.delete_at.isoformat())


def step_subject(plan_id: int, step: str, at: dt.datetime) -> str:
    return f"{plan_id}:{step}@{at.isoformat()}"


def _names(text: str) -> list[str]:
    return [name for name in (text or "").split(",") if name]


def _ordered(*dates: dt.datetime) -> list[dt.datetime]:
    dates = [bounded(moment, name) for moment, name in zip(dates, DATES)]
    if any(later < earlier for earlier, later in zip(dates, dates[1:])):
        raise BadRequest("the dates must come in order: announce ≤ stop sync ≤ deadline ≤ delete")
    return dates

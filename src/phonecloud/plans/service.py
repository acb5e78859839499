"""Plans service: the catalogue, users' memberships, and what they entitle a user to.

A user's entitlement is the largest quota among the plans they are a member of now (the default plan when
none), and the kinds of data those plans include. It is written onto the user's row (quota_bytes, plan_kinds)
whenever it may change: a membership started or ended now, a plan changed, and — for the moments a
membership starts or ends later — by a `plans.apply` job due then, which the job queue runs late after a
downtime rather than never. An administrator's quota override wins over plans. Nothing is deleted when the
quota falls below what a user stores: the quota ledger then refuses new data and says what to do.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import Session

from phonecloud.accounts.models import User
from phonecloud.core.dates import bounded
from phonecloud.core.db import Database, dialect_insert, utcnow
from phonecloud.core.errors import BadRequest, Conflict, IntakeClosed, NotFound
from phonecloud.jobs.queue import JobQueue
from phonecloud.plans.models import Membership, Plan
from phonecloud.plans.money import currency_code, from_minor, to_minor

APPLY_JOB = "plans.apply"
PERIODS = ("month", "year", "once", "none")
DEFAULT_PLAN = "Free"
_PLAN_NAME = re.compile(r"^[^\x00-\x1f\x7f,]{1,100}$")


@dataclass(frozen=True)
class Entitlement:
    quota_bytes: int
    kinds: frozenset[str] | None  # None: every kind
    plans: tuple[str, ...]  # the plans it comes from


@dataclass(frozen=True)
class PlanRow:
    name: str
    quota_bytes: int
    price: str | None
    currency: str | None
    period: str
    kinds: list[str] | None
    is_default: bool
    retired: bool
    members: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class MembershipRow:
    id: int
    plan: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    state: str  # scheduled | active | ended

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def plan_name(text: str) -> str:
    name = (text or "").strip()
    if not _PLAN_NAME.match(name):
        raise BadRequest(f"a plan's name is 1 to 100 characters, without commas or control characters: {text!r}")
    return name


class PlanService:
    def __init__(self, db: Database, jobs: JobQueue, default_quota_bytes: int,
                 kind_titles: Callable[[], dict[str, str]]):
        self.db = db
        self.jobs = jobs
        self.default_quota_bytes = default_quota_bytes
        self.kind_titles = kind_titles

    # -- the catalogue ---------------------------------------------------------------------------------

    def ensure_default(self) -> None:
        """The catalogue always has a default plan: Free, with the server's default quota, made at start."""
        with self.db.write() as session:
            if session.scalar(select(Plan.id).where(Plan.is_default)) is None:
                session.execute(dialect_insert(session.get_bind().dialect.name, Plan.__table__).values(
                    name=DEFAULT_PLAN, quota_bytes=self.default_quota_bytes, price_minor=0, currency=None,
                    period="none", kinds=None, is_default=True, created_at=utcnow())
                    .on_conflict_do_nothing(index_elements=["name"]))

    def add(self, name: str, quota_bytes: int, price: str = "0", currency: str | None = None,
            period: str = "month", kinds: list[str] | None = None) -> PlanRow:
        name = plan_name(name)
        values = self._values(quota_bytes, price, currency, period, kinds)
        with self.db.write() as session:
            if session.scalar(select(Plan.id).where(Plan.name == name)) is not None:
                raise Conflict(f"a plan named {name!r} exists already (change it with `plan change`)")
            session.add(Plan(name=name, is_default=False, **values))
        return self.plan(name)

    def change(self, name: str, quota_bytes: int | None = None, price: str | None = None,
               currency: str | None = None, period: str | None = None, kinds: list[str] | None = None,
               every_kind: bool = False) -> PlanRow:
        """Change a plan; its members' quotas follow at once."""
        with self.db.write() as session:
            plan = self._plan(session, name)
            values = self._values(quota_bytes if quota_bytes is not None else plan.quota_bytes,
                                  price if price is not None else (
                                      from_minor(plan.price_minor, plan.currency) if plan.currency else "0"),
                                  currency or plan.currency, period or plan.period,
                                  None if every_kind else kinds if kinds is not None else _kinds(plan.kinds))
            for key, value in values.items():
                setattr(plan, key, value)
            if plan.is_default:  # everyone without a membership or an override: one statement, however many
                session.execute(update(User).where(User.quota_override_bytes.is_(None), ~exists().where(
                    Membership.user_id == User.id, *active_at(utcnow()))).values(
                    quota_bytes=plan.quota_bytes, plan_kinds=plan.kinds))
            else:
                for user_id in session.scalars(select(Membership.user_id).where(
                        Membership.plan_id == plan.id).distinct()):
                    self.apply_in(session, user_id)
        return self.plan(name)

    def retire(self, name: str) -> PlanRow:
        """No new memberships of this plan; its members keep it until their membership ends."""
        with self.db.write() as session:
            plan = self._plan(session, name)
            if plan.is_default:
                raise BadRequest(f"{plan.name} is the default plan, what users without a membership have; it "
                                 "cannot be retired")
            if plan.retired_at is None:
                plan.retired_at = utcnow()
        return self.plan(name)

    def plans(self) -> list[PlanRow]:
        now = utcnow()
        with self.db.read() as session:
            members = dict(session.execute(select(Membership.plan_id, func.count(func.distinct(Membership.user_id)))
                                           .where(*active_at(now)).group_by(Membership.plan_id)).all())
            plans = list(session.scalars(select(Plan).order_by(Plan.quota_bytes, Plan.name)))
        return [PlanRow(plan.name, plan.quota_bytes, from_minor(plan.price_minor, plan.currency) if plan.currency
                        else None, plan.currency, plan.period, _kinds(plan.kinds), plan.is_default,
                        plan.retired_at is not None, members.get(plan.id, 0)) for plan in plans]

    def plan(self, name: str) -> PlanRow:
        name = plan_name(name)
        for row in self.plans():
            if row.name == name:
                return row
        raise NotFound(f"no plan {name!r}")

    def _values(self, quota_bytes: int, price: str, currency: str | None, period: str,
                kinds: list[str] | None) -> dict:
        if quota_bytes < 0:
            raise BadRequest("a plan's quota must not be negative")
        if period not in PERIODS:
            raise BadRequest(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
        code = currency_code(currency) if currency else None
        minor = to_minor(price, code) if code else to_minor(price, "EUR")
        if minor and code is None:
            raise BadRequest("a plan with a price needs its currency (--currency EUR)")
        if kinds is not None:
            known = self.kind_titles()
            unknown = [kind for kind in kinds if kind not in known]
            if unknown or not kinds:
                raise BadRequest(f"kinds must name some of {', '.join(known)}; not {', '.join(unknown) or 'none'}")
        return dict(quota_bytes=quota_bytes, price_minor=minor, currency=code, period=period,
                    kinds=",".join(sorted(set(kinds))) if kinds is not None else None)

    @staticmethod
    def _plan(session: Session, name: str) -> Plan:
        plan = session.scalar(select(Plan).where(Plan.name == plan_name(name)))
        if plan is None:
            raise NotFound(f"no plan {name!r}")
        return plan

    # -- memberships -----------------------------------------------------------------------------------

    def start(self, email: str, name: str, at: dt.datetime | None = None,
              until: dt.datetime | None = None) -> MembershipRow:
        """EMAIL is a member of plan NAME from at (default now) until until (default: until ended)."""
        at = bounded(at, "at") if at is not None else utcnow()
        until = bounded(until, "until") if until is not None else None
        if until is not None and until <= at:
            raise BadRequest("a membership must end after it starts")
        with self.db.write() as session:
            user_id = _user_id(session, email)
            plan = self._plan(session, name)
            if plan.retired_at is not None:
                raise Conflict(f"plan {plan.name!r} is retired: it takes no new members")
            if plan.is_default:
                raise BadRequest(f"{plan.name} is the default plan: every user without a membership has it")
            overlapping = session.scalar(select(Membership).where(
                Membership.user_id == user_id, Membership.plan_id == plan.id,
                or_(Membership.ends_at.is_(None), Membership.ends_at > at), _not_cancelled(),
                *([Membership.starts_at < until] if until is not None else [])).limit(1))
            if overlapping is not None:
                raise Conflict(f"{email} is a member of {plan.name} from {overlapping.starts_at.isoformat()} already"
                               + (f" until {overlapping.ends_at.isoformat()}" if overlapping.ends_at else "")
                               + "; end that membership first")
            membership = Membership(user_id=user_id, plan_id=plan.id, starts_at=at, ends_at=until)
            session.add(membership)
            session.flush()
            self._schedule_boundaries(session, user_id, (at, until))
            self.apply_in(session, user_id)
            row = _row(membership, plan.name, utcnow())
        return row

    def end(self, email: str, name: str, at: dt.datetime | None = None) -> list[MembershipRow]:
        """End EMAIL's membership of plan NAME at at (default now): the ones running then end, the ones that
        would start later are cancelled."""
        at = bounded(at, "at") if at is not None else utcnow()
        with self.db.write() as session:
            user_id = _user_id(session, email)
            plan = self._plan(session, name)
            open_ = list(session.scalars(select(Membership).where(
                Membership.user_id == user_id, Membership.plan_id == plan.id,
                or_(Membership.ends_at.is_(None), Membership.ends_at > at), _not_cancelled())))
            if not open_:
                raise NotFound(f"{email} has no membership of {plan.name} running at {at.isoformat()} or later")
            for membership in open_:
                membership.ends_at = max(at, membership.starts_at)
            self._schedule_boundaries(session, user_id, (at,))
            self.apply_in(session, user_id)
            now = utcnow()
            return [_row(membership, plan.name, now) for membership in open_]

    def memberships(self, email: str) -> list[MembershipRow]:
        now = utcnow()
        with self.db.read() as session:
            user_id = _user_id(session, email)
            rows = session.execute(select(Membership, Plan.name).join(Plan, Plan.id == Membership.plan_id)
                                   .where(Membership.user_id == user_id)
                                   .order_by(Membership.starts_at, Membership.id))
            return [_row(membership, name, now) for membership, name in rows]

    def _schedule_boundaries(self, session: Session, user_id: int, moments) -> None:
        now = utcnow()
        for moment in moments:
            if moment is not None and moment > now:
                self.jobs.enqueue_in(session, APPLY_JOB, f"{user_id}@{moment.isoformat()}", max_attempts=20,
                                     run_after=moment, owner_id=user_id)

    # -- entitlements ----------------------------------------------------------------------------------

    def entitlement(self, session: Session, user_id: int, now: dt.datetime | None = None) -> Entitlement:
        now = now or utcnow()
        plans = list(session.scalars(select(Plan).join(Membership, Membership.plan_id == Plan.id)
                                     .where(Membership.user_id == user_id, *active_at(now))))
        if not plans:
            plans = list(session.scalars(select(Plan).where(Plan.is_default)))
        if not plans:  # before ensure_default ran (a schema made by hand): the server's default
            return Entitlement(self.default_quota_bytes, None, ())
        kinds = None if any(plan.kinds is None for plan in plans) else frozenset(
            kind for plan in plans for kind in _kinds(plan.kinds))
        return Entitlement(max(plan.quota_bytes for plan in plans), kinds,
                           tuple(sorted({plan.name for plan in plans})))

    def apply_in(self, session: Session, user_id: int) -> None:
        """Write the user's entitlement onto their row, in the caller's transaction."""
        entitled = self.entitlement(session, user_id)
        override = session.scalar(select(User.quota_override_bytes).where(User.id == user_id))
        session.execute(update(User).where(User.id == user_id).values(
            quota_bytes=override if override is not None else entitled.quota_bytes,
            plan_kinds=",".join(sorted(entitled.kinds)) if entitled.kinds is not None else None))

    def apply(self, subject: str) -> None:
        """The `plans.apply` job: a membership of the user starts or ends about now."""
        user_id = int(subject.split("@", 1)[0])
        with self.db.write() as session:
            if session.get(User, user_id) is not None:  # the account may have gone meanwhile
                self.apply_in(session, user_id)

    def clear_override(self, email: str) -> None:
        """The user's quota follows their plans again."""
        with self.db.write() as session:
            user_id = _user_id(session, email)
            session.execute(update(User).where(User.id == user_id).values(quota_override_bytes=None))
            self.apply_in(session, user_id)

    def describe(self, user_id: int) -> Entitlement:
        with self.db.read() as session:
            return self.entitlement(session, user_id)

    def check_intake(self, principal, kind: str) -> None:
        """The intake gate's rule: IntakeClosed when none of the user's plans includes kind."""
        standing = principal.standing
        if standing is not None and (standing.plan_kinds is None or kind in _kinds(standing.plan_kinds)):
            return  # the common case, without a query
        with self.db.read() as session:
            kinds = session.scalar(select(User.plan_kinds).where(User.id == principal.user_id))
            if kinds is None or kind in _kinds(kinds):
                return
            plans = self.entitlement(session, principal.user_id).plans
        title = self.kind_titles().get(kind, kind)
        raise IntakeClosed(f"your plan ({', '.join(plans) or 'none'}) does not include {title}: choose a plan "
                           "that does to add them; what you stored stays yours to view, download and export",
                           kind=kind, plans=list(plans))


def _kinds(text: str | None) -> list[str] | None:
    return text.split(",") if text is not None else None


def active_at(now: dt.datetime) -> tuple:
    """The conditions of a membership running at now."""
    return Membership.starts_at <= now, or_(Membership.ends_at.is_(None), Membership.ends_at > now)


def _not_cancelled():
    """Not a membership ended before it started (it never runs)."""
    return or_(Membership.ends_at.is_(None), Membership.ends_at > Membership.starts_at)


def _user_id(session: Session, email: str) -> int:
    user_id = session.scalar(select(User.id).where(User.email == email.strip().lower()))
    if user_id is None:
        raise NotFound(f"no user with email {email}")
    return user_id


def _row(membership: Membership, plan: str, now: dt.datetime) -> MembershipRow:
    if membership.ends_at is not None and (membership.ends_at <= now or membership.ends_at <= membership.starts_at):
        state = "ended"  # a scheduled membership ended before it started (cancelled) never runs either
    elif membership.starts_at > now:
        state = "scheduled"
    else:
        state = "active"
    return MembershipRow(membership.id, plan, membership.starts_at, membership.ends_at, state)

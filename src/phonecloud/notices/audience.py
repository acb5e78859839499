"""Who a notice is for: everyone, or the users matching every criterion it names (a country, a region group,
a plan's members, the holders of a kind of data). The SQL criteria select users; holding a kind is asked of
the kind itself (its usage), so a notice about the gallery never reaches someone who never used it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from phonecloud.accounts.models import User
from phonecloud.notices.models import Notice
from phonecloud.plans.models import Membership, Plan
from phonecloud.plans.service import active_at
from phonecloud.regions.service import RegionService
from phonecloud.retirement.models import DeletionReceipt

# (session, kind name) -> the ids of users holding data of that kind; (session, user id, kind) -> whether one does
Holders = Callable[[Session, str], set[int]]
Holds = Callable[[Session, int, str], bool]
_PAGE = 500


def user_conditions(notice: Notice, now: dt.datetime) -> list:
    """The SQL conditions on users that the notice's country, group and plan name."""
    conditions = []
    if notice.region:
        conditions.append(User.region == notice.region)
    if notice.countries is not None:
        conditions.append(User.region.in_(notice.countries.split(",") if notice.countries else []))
    if notice.receipts_of is not None:
        conditions.append(exists().where(DeletionReceipt.user_id == User.id, DeletionReceipt.state == "done",
                                         DeletionReceipt.retirement_id == notice.receipts_of))
    if notice.group_name:
        conditions.append(User.region.in_(RegionService.countries_of(notice.group_name)))
    if notice.plan_name:
        member = exists().where(Membership.user_id == User.id, *active_at(now))
        of_plan = select(Membership.user_id).join(Plan, Plan.id == Membership.plan_id).where(
            Plan.name == notice.plan_name, *active_at(now))
        is_default = select(Plan.is_default).where(Plan.name == notice.plan_name).scalar_subquery()
        # The default plan's members are the users without an active membership.
        conditions.append((is_default & ~member) | (~is_default & User.id.in_(of_plan)))
    return conditions


def targeted(notice: Notice) -> bool:
    """Whether the notice names an audience (else it is for everyone)."""
    return bool(notice.region or notice.group_name or notice.plan_name or notice.kind or notice.countries is not None
                or notice.receipts_of is not None)


def reaches(session: Session, notice: Notice, user_id: int, holds: Holds, now: dt.datetime) -> bool:
    if not targeted(notice):
        return True
    conditions = user_conditions(notice, now)
    if conditions and session.scalar(select(User.id).where(User.id == user_id, *conditions)) is None:
        return False
    return notice.kind is None or holds(session, user_id, notice.kind)


def audience(session: Session, notice: Notice, holders: Holders, now: dt.datetime) -> Iterator[tuple[int, str, bool]]:
    """(user id, email, wants notice emails) of every enabled user the notice is for, a page at a time."""
    kept = holders(session, notice.kind) if notice.kind else None
    after = 0
    while True:
        page = list(session.execute(select(User.id, User.email, User.notice_emails)
                                    .where(User.id > after, User.disabled.is_(False), *user_conditions(notice, now))
                                    .order_by(User.id).limit(_PAGE)))
        for user_id, email, wanted in page:
            if kept is None or user_id in kept:
                yield user_id, email, wanted
        if len(page) < _PAGE:
            return
        after = page[-1][0]

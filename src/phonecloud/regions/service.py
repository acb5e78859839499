"""Regions service: every account's country, named groups of countries, and per group the kinds of data
its users may not add. The intake gate asks `check_intake` before any byte of a kind is taken."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from phonecloud.accounts.models import User
from phonecloud.core.countries import country_code
from phonecloud.core.db import Database, dialect_insert
from phonecloud.core.errors import BadRequest, IntakeClosed, NotFound
from phonecloud.regions.models import RegionGroup, RegionGroupCountry, RegionGroupDisabledKind

_GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$")


@dataclass(frozen=True)
class GroupRow:
    id: int
    name: str
    countries: tuple[str, ...]
    disabled_kinds: tuple[str, ...]
    users: int

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "countries": list(self.countries),
                "disabled_kinds": list(self.disabled_kinds), "users": self.users}


def group_name(text: str) -> str:
    name = (text or "").strip()
    if not _GROUP_NAME.match(name):
        raise BadRequest(f"a region group's name is 1 to 100 letters, digits, spaces, '.', '_' or '-': {text!r}")
    return name


class RegionService:
    def __init__(self, db: Database, kind_titles: Callable[[], dict[str, str]]):
        self.db = db
        self.kind_titles = kind_titles  # the server's kinds of data: name -> title

    # -- groups ------------------------------------------------------------------------------------------

    def add_group(self, name: str, countries: list[str]) -> GroupRow:
        """Create the group, or add countries to it (running the same command twice changes nothing)."""
        name = group_name(name)
        codes = sorted({country_code(code) for code in countries})
        if not codes:
            raise BadRequest("name at least one country (ISO 3166-1 alpha-2, such as DE)")
        with self.db.write() as session:
            dialect = session.get_bind().dialect.name
            session.execute(dialect_insert(dialect, RegionGroup.__table__).values(name=name)
                            .on_conflict_do_nothing(index_elements=["name"]))
            group_id = session.scalar(select(RegionGroup.id).where(RegionGroup.name == name))
            for code in codes:
                session.execute(dialect_insert(dialect, RegionGroupCountry.__table__)
                                .values(group_id=group_id, country=code).on_conflict_do_nothing())
        return self.group(name)

    def remove_countries(self, name: str, countries: list[str]) -> GroupRow:
        codes = {country_code(code) for code in countries}
        with self.db.write() as session:
            group_id = self._group_id(session, name)
            session.execute(delete(RegionGroupCountry).where(RegionGroupCountry.group_id == group_id,
                                                             RegionGroupCountry.country.in_(codes)))
        return self.group(name)

    def delete_group(self, name: str) -> None:
        with self.db.write() as session:
            session.execute(delete(RegionGroup).where(RegionGroup.id == self._group_id(session, name)))

    def set_kind(self, name: str, kind: str, enabled: bool) -> GroupRow:
        if kind not in self.kind_titles():
            raise BadRequest(f"no kind of data {kind!r} on this server (there are: {', '.join(self.kind_titles())})")
        with self.db.write() as session:
            group_id = self._group_id(session, name)
            if enabled:
                session.execute(delete(RegionGroupDisabledKind).where(RegionGroupDisabledKind.group_id == group_id,
                                                                      RegionGroupDisabledKind.kind == kind))
            else:
                session.execute(dialect_insert(session.get_bind().dialect.name, RegionGroupDisabledKind.__table__)
                                .values(group_id=group_id, kind=kind).on_conflict_do_nothing())
        return self.group(name)

    def groups(self) -> list[GroupRow]:
        with self.db.read() as session:
            groups = list(session.execute(select(RegionGroup.id, RegionGroup.name).order_by(RegionGroup.name)))
            countries = _by_group(session.execute(select(RegionGroupCountry.group_id, RegionGroupCountry.country)
                                                  .order_by(RegionGroupCountry.country)))
            kinds = _by_group(session.execute(select(RegionGroupDisabledKind.group_id, RegionGroupDisabledKind.kind)
                                              .order_by(RegionGroupDisabledKind.kind)))
            users_by_region = dict(session.execute(select(User.region, func.count()).group_by(User.region)).all())
        return [GroupRow(group_id, name, tuple(countries.get(group_id, ())), tuple(kinds.get(group_id, ())),
                         sum(users_by_region.get(country, 0) for country in countries.get(group_id, ())))
                for group_id, name in groups]

    def group(self, name: str) -> GroupRow:
        name = group_name(name)
        for row in self.groups():
            if row.name == name:
                return row
        raise NotFound(f"no region group {name!r}")

    @staticmethod
    def _group_id(session: Session, name: str) -> int:
        group_id = session.scalar(select(RegionGroup.id).where(RegionGroup.name == group_name(name)))
        if group_id is None:
            raise NotFound(f"no region group {name!r}")
        return group_id

    @staticmethod
    def countries_of(name: str):
        """The countries of a group, as a subquery (notices aim at a group's users with it)."""
        return (select(RegionGroupCountry.country).join(RegionGroup, RegionGroup.id == RegionGroupCountry.group_id)
                .where(RegionGroup.name == name))

    # -- users ---------------------------------------------------------------------------------------------

    def set_region(self, email: str, region: str) -> str:
        code = country_code(region)
        with self.db.write() as session:
            changed = session.execute(update(User).where(User.email == email.strip().lower()).values(region=code))
        if changed.rowcount == 0:
            raise NotFound(f"no user with email {email}")
        return code

    @staticmethod
    def disabled_in(session: Session, country: str) -> dict[str, str]:
        """The kinds users of this country may not add: kind -> the (first) group that disabled it."""
        rows = session.execute(
            select(RegionGroupDisabledKind.kind, RegionGroup.name)
            .join(RegionGroup, RegionGroup.id == RegionGroupDisabledKind.group_id)
            .join(RegionGroupCountry, RegionGroupCountry.group_id == RegionGroupDisabledKind.group_id)
            .where(RegionGroupCountry.country == country).order_by(RegionGroup.name))
        disabled: dict[str, str] = {}
        for kind, name in rows:
            disabled.setdefault(kind, name)
        return disabled

    def check_intake(self, principal, kind: str) -> None:
        """The intake gate's rule: IntakeClosed when the user's country is in a group that disabled kind."""
        with self.db.read() as session:
            region = (principal.standing.region if principal.standing is not None
                      else session.scalar(select(User.region).where(User.id == principal.user_id)))
            group = self.disabled_in(session, region).get(kind)
        if group is not None:
            title = self.kind_titles().get(kind, kind)
            raise IntakeClosed(f"{title} cannot be added in your region ({region}, region group {group}); what you "
                               "stored stays yours: you can still view, download and export it", kind=kind,
                               region=region, group=group)


def _by_group(rows) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = {}
    for group_id, value in rows:
        grouped.setdefault(group_id, []).append(value)
    return grouped

"""The one shape of every kind of user data (the gallery; messages and contacts next).

A kind is declared in its own folder (its `kind.py`) and registered by one line in phonecloud.server.kinds.
Everything that concerns all of a user's data — start-up, usage and quota, recovery, scrub, export, account
deletion, and the intake gate that plans and feature retirement use — loops over the registered kinds and
never names one. This module is the interface only; it imports no domain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from phonecloud.core.errors import PhonecloudError
from phonecloud.core.portable import PortableFile


@dataclass(frozen=True)
class Usage:
    """What a user keeps of one kind: items, and the bytes charged to their quota."""

    items: int = 0
    bytes: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"items": self.items, "bytes": self.bytes}


@dataclass
class Purged:
    """What purging a user removed: items (photos, messages...), rows (the items' and every row that went
    with them), blobs and the blobs' bytes."""

    items: int = 0
    rows: int = 0
    blobs: int = 0
    bytes: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"items": self.items, "rows": self.rows, "blobs": self.blobs, "bytes": self.bytes}


# Told what each batch of a purge removes, in the transaction that deletes its rows (so that the count commits
# with them): the rows, and the blobs, which go once it has committed.
Record = Callable[[Purged, Session], None]


@dataclass(frozen=True)
class Orphan:
    """A blob of this kind that no row references any more."""

    key: str
    owner_id: int
    what: str  # for the log: "original", "derivative", ...


@dataclass(frozen=True)
class BlobCheck:
    """One blob the scrub reads back: an original is checked against its size and SHA-1; a derived blob
    (sha1 None) against its format's frame, by its MIME type."""

    name: str  # "original", "thumbnail", ...
    key: str | None
    size: int = 0
    sha1: str | None = None
    mime: str = ""


@dataclass(frozen=True)
class ScrubItem:
    item_id: str
    owner_email: str
    blobs: tuple[BlobCheck, ...]


@dataclass(frozen=True)
class NavEntry:
    href: str
    page: str  # the page name that marks the entry current
    label: str


@dataclass(frozen=True)
class Kind:
    """A kind of user data as its folder declares it (`KIND = Kind(...)` in its kind.py): what the server is
    assembled from before it runs, and `build`, which binds the kind to the running services."""

    name: str  # "gallery": in usage, receipts and blob prefixes
    title: str  # "Photos and videos": for people
    build: Callable[[Any], DataKind]  # services -> the kind's hooks
    # Its HTTP side, imported only by the server that serves it (commands and job workers never load it):
    api_routers: Callable[[], Sequence[Any]] = lambda: ()  # FastAPI routers mounted under /api/v1
    web_routers: Callable[[], Sequence[Any]] = lambda: ()  # the kind's web pages
    template_filters: Callable[[], dict[str, Callable]] = lambda: {}  # Jinja filters its templates use
    templates: Path | None = None  # its page templates, beside the shared ones
    static: Path | None = None  # its pages' scripts, served at /static/{name}/
    nav: Sequence[NavEntry] = ()  # its entries in the web app's navigation
    move_page: str | None = None  # where its data is moved to another service (linked from its retirement notices)
    # ASGI applications mounted at a path of the server's root: a protocol another library speaks (CardDAV).
    mounts: Callable[[], Sequence[tuple[str, Any]]] = lambda: ()
    migrations: Path | None = None  # its schema revisions, chained onto the core's


@dataclass
class DataKind:
    """A kind of user data bound to the running server's services. Hooks are plain callables; those a kind
    does not need keep their defaults. Blob keys of a kind live under `users/{user_id}/` (new kinds:
    `users/{user_id}/{name}/`)."""

    name: str
    title: str
    jobs: dict[str, Callable[[str], None]] = field(default_factory=dict)  # job kind -> handler(subject)
    on_workers_start: Callable[[], None] = lambda: None  # schedules its periodic jobs
    export_sections: Sequence[Any] = ()  # its part of an export (portability.sections.Section)
    destinations: Sequence[Any] = ()  # where uploads of its data finish (uploads.intake.Destination)
    service: Any = None  # the kind's own services, for its routes and pages
    # Usage: one user's, and every owner's charged bytes (for the quota's repair and the admin console).
    usage: Callable[[Session, int], Usage] = lambda session, user_id: Usage()
    usage_by_owner: Callable[[Session], dict[int, Usage]] = lambda session: {}
    # Fields a kind adds to an account's summary for older clients (the gallery's "asset_count").
    summary_fields: Callable[[Usage], dict[str, Any]] = lambda usage: {}
    # Recovery: of these keys (all under users/), the kind's own that nothing references.
    orphans: Callable[[Session, Sequence[str]], list[Orphan]] = lambda session, keys: []
    # Moving storage: every blob key its rows reference, and the SHA-1 a key names (content-addressed keys).
    referenced_keys: Callable[[Session], Iterable[str]] = lambda session: ()
    content_sha1: Callable[[str], str | None] = lambda key: None
    # Scrub: (items, bytes) to read, and the next page of items after an id (None: from the start).
    scrub_totals: Callable[[Session], tuple[int, int]] = lambda session: (0, 0)
    scrub_page: Callable[[Session, str | None, bool], list[ScrubItem]] = lambda session, after, derived: []
    # Account deletion: remove every row and blob of the user, a batch at a time, recording each batch
    # (idempotent: a run cut short is run again), and count what is left (the final scan wants 0).
    purge_user: Callable[[int, Record], None] = lambda user_id, record: None
    rows_left: Callable[[Session, int], int] = lambda session, user_id: 0
    # What the user keeps of it, one line per item (id, size, digest), in a stable order: a retirement's
    # deletion receipt holds the SHA-256 of these lines, taken before the first byte goes.
    manifest: Callable[[Session, int], Iterable[str]] = lambda session, user_id: ()
    # Moving to another phonecloud: the user's data of it as files that server imports (none: photos and
    # videos, which go item by item).
    portable_files: Callable[[int], Sequence[PortableFile]] = lambda user_id: ()
    # The intake gate: raise (Forbidden, ...) when this user may not add data of this kind now.
    check_intake: Callable[[Any], None] = lambda principal: None
    closers: Sequence[Callable[[], None]] = ()  # run when the server stops


def usage_of(kinds: Iterable[DataKind], session: Session, user_id: int) -> dict[str, Usage]:
    return {kind.name: kind.usage(session, user_id) for kind in kinds}


Rule = Callable[[Any, str], None]  # (principal, kind name): raises when the user may not add that kind now


class IntakeGate:
    """May this user add data of this kind now? Every kind's check_intake asks here; plans and feature
    retirement add their rules."""

    def __init__(self):
        self._rules: list[Rule] = []

    def add_rule(self, rule: Rule) -> None:
        self._rules.append(rule)

    def check(self, principal: Any, kind: str) -> None:
        for rule in self._rules:
            rule(principal, kind)

    def refusals(self, principal: Any, kinds: Iterable[str]) -> dict[str, str | None]:
        """For each kind: None when the user may add it now, else why not (the refusal's message)."""
        refusals: dict[str, str | None] = {}
        for kind in kinds:
            try:
                self.check(principal, kind)
                refusals[kind] = None
            except PhonecloudError as refused:
                refusals[kind] = refused.message
        return refusals

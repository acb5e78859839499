"""Links that share an album (live) or a selection with anyone who has them, without an account.

A link's token is 256 random bits (secrets.token_urlsafe(32)), kept only as its SHA-256 like an API key: it
is shown once, when the link is made. A link may have a password (Argon2id, as account passwords; wrong
guesses are throttled as sign-ins are, per link and per address, in the database) and an expiry; revoking
deletes it. A link that never existed, has expired or was revoked, or whose owner's account is closed, is
the same 404 everywhere.

What a visit may read is decided here and in the repository, never by the request: the assets the link shows
(its album's or its selection's), of the link's owner, outside the trash. No other asset, album, or anything of
the owner's but the album's title and the name they chose to show (never their email)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from phonecloud.accounts import security
from phonecloud.accounts.service import Principal
from phonecloud.accounts.throttle import LoginThrottle
from phonecloud.core.blobstore import BlobStore
from phonecloud.core.db import Database, utcnow
from phonecloud.core.errors import BadRequest, NotFound, Unauthorized
from phonecloud.core.kinds import Purged, Record
from phonecloud.gallery import repository as gallery
from phonecloud.gallery.albums import MAX_ALBUM_CHANGE, owned_album
from phonecloud.gallery.models import Album, Asset
from phonecloud.gallery.service import Page, decode_cursor, encode_cursor
from phonecloud.gallery.sharing import archive, repository
from phonecloud.gallery.sharing.models import Share, ShareAsset
from phonecloud.gallery.sharing.ratelimit import RateLimiter
from phonecloud.media.models import AssetMedia

MAX_TITLE_CHARS = 200
MAX_PASSWORD_CHARS = 1024
MAX_LINKS = 1000  # per user: the list of links is one page
UNLOCK_LIFETIME = dt.timedelta(hours=12)  # a password once given opens the link in that browser this long
MAX_PAGE = 500
GONE = "this link does not exist, has expired or was revoked"


@dataclass(frozen=True)
class LinkInfo:
    """A link as its owner's list shows it."""

    share: Share
    album_title: str | None  # an album link's album; None for a selection
    items: int  # what it shows now

    @property
    def expired(self) -> bool:
        return self.share.expires_at is not None and self.share.expires_at <= utcnow()

    @property
    def title(self) -> str:
        return self.album_title if self.album_title is not None else (self.share.title or "Shared items")


@dataclass(frozen=True)
class Visit:
    """A live link being looked at: what its pages may say of it."""

    share: Share
    title: str
    sharer: str  # the name the owner shows (their profile's), "" when they set none: never their email

    @property
    def protected(self) -> bool:
        return self.share.password_hash is not None


@dataclass(frozen=True)
class IssuedLink:
    info: LinkInfo
    token: str  # shown this once


def token_digest(token: str) -> str:
    return security.token_digest(token)


class ShareLinks:
    def __init__(self, db: Database, blobs: BlobStore, throttle: LoginThrottle, limiter: RateLimiter):
        self.db = db
        self.blobs = blobs
        self.throttle = throttle
        self.limiter = limiter  # anonymous requests per address (see ratelimit); the routes take from it

    # -- the owner's side -------------------------------------------------------------------------------

    def create(self, principal: Principal, *, album_id: uuid.UUID | None = None,
               asset_ids: list[uuid.UUID] | None = None, title: str = "", password: str | None = None,
               expires_at: dt.datetime | None = None) -> IssuedLink:
        """A link to one of the caller's albums (live: what is added later shows too) or to a selection of
        their assets (those, as long as they are theirs and outside the trash)."""
        if (album_id is None) == (asset_ids is None):
            raise BadRequest("give either album_id (a link to an album) or asset_ids (a link to a selection)")
        title = title.strip()
        if len(title) > MAX_TITLE_CHARS or "\x00" in title:
            raise BadRequest(f"a title is at most {MAX_TITLE_CHARS} characters, without NUL")
        if password is not None and not 1 <= len(password) <= MAX_PASSWORD_CHARS:
            raise BadRequest(f"a password is 1 to {MAX_PASSWORD_CHARS} characters")
        if expires_at is not None and expires_at <= utcnow():
            raise BadRequest("expires_at is in the past: a link can only expire later than now")
        chosen = list(dict.fromkeys(asset_ids or []))
        if asset_ids is not None and not 1 <= len(chosen) <= MAX_ALBUM_CHANGE:
            raise BadRequest(f"a link shares 1 to {MAX_ALBUM_CHANGE} items")
        password_hash = security.hash_password(password) if password is not None else None  # slow: before the write
        token = secrets.token_urlsafe(32)
        share = Share(id=uuid.uuid4(), owner_id=principal.user_id, album_id=album_id,
                      title="" if album_id is not None else title, token_hash=token_digest(token),
                      token_prefix=token[:6], password_hash=password_hash, expires_at=expires_at, created_at=utcnow())
        with self.db.write() as session:
            album_title = None
            if album_id is not None:
                album_title = owned_album(session, principal, album_id).title
            else:
                owned = _owned(session, principal, chosen)
                missing = [str(asset_id) for asset_id in chosen if asset_id not in owned]
                if missing:
                    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
                    raise NotFound(f"no asset {', '.join(missing[:5])}{more}", missing=missing)
            if len(repository.owner_shares(session, principal.user_id)) >= MAX_LINKS:
                raise BadRequest(f"at most {MAX_LINKS} links per account: revoke some first")
            session.add(share)
            session.flush()
            session.add_all(ShareAsset(share_id=share.id, asset_id=asset_id) for asset_id in chosen)
            session.flush()
            info = LinkInfo(share, album_title, repository.share_count(session, share))
        return IssuedLink(info, token)

    def list_links(self, principal: Principal) -> list[LinkInfo]:
        """The caller's links, newest first."""
        with self.db.read() as session:
            shares = repository.owner_shares(session, principal.user_id)
            titles = dict(session.execute(select(Album.id, Album.title).where(
                Album.id.in_([share.album_id for share in shares if share.album_id]))).all()) if shares else {}
            return [LinkInfo(share, titles.get(share.album_id) if share.album_id else None,
                             repository.share_count(session, share)) for share in shares]

    def own_items(self, principal: Principal, asset_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        """Those of these assets that are the caller's (only those can be shared by link), in the order given."""
        chosen = list(dict.fromkeys(asset_ids))[:MAX_ALBUM_CHANGE]
        with self.db.read() as session:
            owned = _owned(session, principal, chosen)
        return [asset_id for asset_id in chosen if asset_id in owned]

    def revoke(self, principal: Principal, share_id: uuid.UUID) -> None:
        """The link stops working at once, for everyone (it is deleted)."""
        with self.db.write() as session:
            share = session.scalar(select(Share).where(Share.id == share_id, Share.owner_id == principal.user_id))
            if share is None:
                raise NotFound(f"no link {share_id}")
            session.delete(share)

    # -- a visit, without an account --------------------------------------------------------------------

    def visit(self, token: str) -> Visit:
        """The live link this token opens; NotFound (always the same) for anything else."""
        with self.db.read() as session:
            found = repository.share_by_digest(session, token_digest(token))
            if found is None:
                raise NotFound(GONE)
            share, owner = found
            if owner.disabled or (share.expires_at is not None and share.expires_at <= utcnow()):
                raise NotFound(GONE)
            title = share.title or "Shared photos"
            if share.album_id is not None:
                title = session.scalar(select(Album.title).where(Album.id == share.album_id)) or title
        return Visit(share, title, owner.display_name)

    def unlock(self, visit: Visit, password: str, address: str) -> tuple[str, int]:
        """The unlocked state for a browser that gave the link's password: (cookie value, seconds it lasts).
        Unauthorized for a wrong password; LoginThrottled (429) after too many, per link and per address."""
        share = visit.share
        if share.password_hash is None:
            raise BadRequest("this link has no password")
        admission = self.throttle.admit(f"share:{share.id}", address)  # never an email: no "@"
        if not security.verify_password(share.password_hash, password[:MAX_PASSWORD_CHARS + 1]):
            raise Unauthorized("wrong password")
        with self.db.write() as session:
            self.throttle.succeeded(session, admission)
        now = utcnow()
        until = now + UNLOCK_LIFETIME
        if share.expires_at is not None:
            until = min(until, share.expires_at)
        seconds = int(until.timestamp())
        return f"{seconds}.{_unlock_mac(share, seconds)}", max(1, seconds - int(now.timestamp()))

    @staticmethod
    def is_unlocked(visit: Visit, cookie: str | None) -> bool:
        """Whether the link may be viewed: it has no password, or the cookie is one unlock() gave for its
        current password and has not run out."""
        share = visit.share
        if share.password_hash is None:
            return True
        seconds, _, mac = (cookie or "").partition(".")
        if not seconds.isascii() or not seconds.isdigit() or len(seconds) > 12:
            return False
        return int(seconds) > utcnow().timestamp() and hmac.compare_digest(_unlock_mac(share, int(seconds)), mac)

    def page(self, visit: Visit, cursor: str | None, limit: int) -> Page:
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
        after = decode_cursor(cursor) if cursor else None
        with self.db.read() as session:
            items = list(session.scalars(repository.share_page(visit.share, after, limit + 1)))
        more = len(items) > limit
        items = items[:limit]
        return Page(items, encode_cursor(items[-1]) if more else None)

    def count(self, visit: Visit) -> int:
        with self.db.read() as session:
            return repository.share_count(session, visit.share)

    def asset(self, visit: Visit, asset_id: uuid.UUID) -> Asset:
        """One asset the link shows; NotFound for any other (another of the owner's, anybody else's, trashed)."""
        with self.db.read() as session:
            asset = repository.share_asset(session, visit.share, asset_id)
        if asset is None:
            raise NotFound("no such item in this shared album")
        return asset

    def media_of(self, assets: list[Asset]) -> dict[uuid.UUID, AssetMedia]:
        with self.db.read() as session:
            return gallery.media_rows(session, [asset.id for asset in assets])

    def neighbours(self, visit: Visit, asset: Asset) -> tuple[uuid.UUID | None, uuid.UUID | None]:
        """(newer, older) beside an asset in the link's listing."""
        position = (asset.sort_at, asset.id)
        with self.db.read() as session:
            newer = session.scalar(repository.share_newer(visit.share, position, 1))
            older = session.scalar(repository.share_page(visit.share, position, 1))
        return (newer.id if newer else None), (older.id if older else None)

    def archive(self, visit: Visit) -> archive.Archive:
        """The zip of every original the link shows, oldest first (planned from the rows, not the bytes)."""
        with self.db.read() as session:
            rows = session.scalars(repository.share_assets_oldest_first(visit.share).execution_options(yield_per=1000))
            return archive.plan(rows)

    # -- account deletion and feature retirement ---------------------------------------------------------

    def rows_of_user(self, session, user_id: int) -> int:
        return repository.rows_of_user(session, user_id)

    def purge_user(self, user_id: int, record: Record) -> None:
        """The user's links, the members of their albums, and their memberships of others' albums (their
        items leave those albums), in one transaction."""
        with self.db.write() as session:
            record(Purged(rows=repository.delete_of_user(session, user_id)), session)


def _owned(session, principal: Principal, asset_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    owned: set[uuid.UUID] = set()
    for start in range(0, len(asset_ids), 500):
        owned |= gallery.owned_asset_ids(session, principal.user_id, asset_ids[start:start + 500])
    return owned


def _unlock_mac(share: Share, seconds: int) -> str:
    """Keyed by the password's own hash, which only the server has: a new password ends every unlock."""
    return hmac.new(share.password_hash.encode(), f"phonecloud share {share.id} {seconds}".encode(),
                    hashlib.sha256).hexdigest()

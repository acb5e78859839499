"""Search of a user's library: the items that meet every criterion asked, newest first, a page at a time;
and the names (places, cameras) the user's items have, for suggestions. Everything is the caller's own: the
queries are scoped to the owner, and an album asked for must be the caller's (404 otherwise)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from phonecloud.accounts.service import Principal
from phonecloud.core.db import Database
from phonecloud.core.errors import BadRequest
from phonecloud.gallery.albums import owned_album
from phonecloud.gallery.models import Album
from phonecloud.gallery.search import repository
from phonecloud.gallery.search.index import words as words_of
from phonecloud.gallery.search.schemas import SearchParams
from phonecloud.gallery.service import MAX_PAGE, Page, decode_cursor, encode_cursor

MAX_SUGGESTIONS = 200


class SearchService:
    def __init__(self, db: Database):
        self.db = db

    def find(self, principal: Principal, params: SearchParams, cursor: str | None, limit: int) -> Page:
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE}", parameter="limit")
        try:
            after = decode_cursor(cursor) if cursor else None
        except BadRequest as refused:
            raise BadRequest(refused.message, parameter="cursor") from None
        with self.db.read() as session:
            if params.album_id is not None:
                owned_album(session, principal, params.album_id)
            criteria = repository.Criteria(
                first_day=params.first_day, last_day=params.last_day, place=params.place, camera=params.camera,
                file_words=params.file_words, words=params.words,
                word_albums=self._albums_by_word(session, principal.user_id, params.words),
                album_id=params.album_id, favorite=params.favorite, kind=params.kind)
            items = list(session.scalars(repository.search_page(session, principal.user_id, criteria, after,
                                                                limit + 1)))
        more = len(items) > limit
        items = items[:limit]
        return Page(items, encode_cursor(items[-1]) if more else None)

    @staticmethod
    def _albums_by_word(session, owner_id: int, words: tuple[str, ...]) -> dict[str, tuple[uuid.UUID, ...]]:
        """For each word, the owner's albums with a word in their title that starts with it."""
        if not words:
            return {}
        titles = [(album_id, words_of(title)) for album_id, title in
                  session.execute(select(Album.id, Album.title).where(Album.owner_id == owner_id))]
        return {word: tuple(album_id for album_id, title in titles if any(part.startswith(word) for part in title))
                for word in words}

    def names_in_use(self, principal: Principal) -> tuple[list[str], list[str]]:
        """(places, cameras) of the caller's items, the most frequent first."""
        with self.db.read() as session:
            return repository.names_in_use(session, principal.user_id, MAX_SUGGESTIONS)

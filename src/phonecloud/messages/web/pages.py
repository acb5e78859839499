"""The Messages pages: conversations (or search results), one conversation as a phone shows it, the call log,
and importing backups. They read through the same service as the API."""

from __future__ import annotations

import json
import uuid

from fastapi import APIRouter, Depends, Query, Request

from phonecloud.accounts.service import Principal
from phonecloud.messages.formats.records import ADDRESS_FROM, INBOX
from phonecloud.messages.kind import messages_of
from phonecloud.messages.rows import addresses_of
from phonecloud.messages.service import Thread
from phonecloud.messages.web import views
from phonecloud.web.pages import WebRoute, render, signed_in

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 100  # conversations, messages or calls per page
TUS_ENDPOINT = "/api/v1/uploads/"
TUS_THRESHOLD = 16 << 20  # backups from this size on go over tus (resumable), smaller ones in one request
Cursor = Query(default=None, max_length=500)


def _sender(message, group: bool) -> str | None:
    """Who wrote a received message, in a conversation with several others."""
    if not group or message.box != INBOX:
        return None
    sender = next((one for one in addresses_of(message.addresses) if one.type == ADDRESS_FROM), None)
    return (views.known(sender.contact_name) or sender.address) if sender else views.known(message.contact_name)


def _bubbles(thread: Thread, group: bool) -> list[views.Bubble]:
    return [views.bubble(message, thread.parts.get(message.id, []), _sender(message, group))
            for message in thread.messages]


@router.get("/messages")
def conversations(request: Request, me: Principal = Depends(signed_in), cursor: str | None = Cursor,
                  q: str | None = Query(default=None, max_length=500)):
    library = messages_of(request).library
    if q and q.strip():
        found = library.search(me, q, cursor, PAGE_SIZE)
        results = [(message, views.bubble(message, found.parts.get(message.id, []), None),
                    found.titles.get(message.conversation_id, "")) for message in found.messages]
        return render(request, "messages.html", me, page="messages", q=q, results=results,
                      next_cursor=found.next_cursor, tus_endpoint=TUS_ENDPOINT, tus_threshold=TUS_THRESHOLD)
    page = library.conversations(me, cursor, PAGE_SIZE)
    return render(request, "messages.html", me, page="messages", q="", conversations=page.items,
                  next_cursor=page.next_cursor, moment_of=views.moment_of, tus_endpoint=TUS_ENDPOINT,
                  tus_threshold=TUS_THRESHOLD)


@router.get("/messages/calls")
def calls(request: Request, me: Principal = Depends(signed_in), cursor: str | None = Cursor):
    page = messages_of(request).library.calls(me, cursor, PAGE_SIZE)
    return render(request, "calls.html", me, page="messages", calls=page.items, next_cursor=page.next_cursor,
                  moment_of=views.moment_of)


@router.get("/messages/{conversation_id}")
def conversation(request: Request, conversation_id: uuid.UUID, me: Principal = Depends(signed_in),
                 cursor: str | None = Cursor):
    library = messages_of(request).library
    found = library.conversation(me, conversation_id)
    thread = library.thread(me, conversation_id, cursor, PAGE_SIZE)  # newest first: the page is reversed
    participants = json.loads(found.participants)
    bubbles = list(reversed(_bubbles(thread, len(participants) > 1)))
    return render(request, "thread.html", me, page="messages", conversation=found, participants=participants,
                  days=views.days(bubbles), earlier=thread.next_cursor)

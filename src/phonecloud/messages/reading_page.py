"""messages.html: the full export's page to read every conversation in a browser, without any app. Written
as a stream, a page of rows at a time; attachments are named (their bytes are in both apps' files)."""

from __future__ import annotations

import datetime as dt
import html
from typing import BinaryIO

from sqlalchemy.orm import Session

from phonecloud.core.sizes import format_size
from phonecloud.messages import repository
from phonecloud.messages.exporter import PAGE, Snapshot
from phonecloud.messages.formats.records import INBOX

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;color:#222}"
          "h2{margin-top:2.5rem;border-bottom:1px solid #ccc}.m{margin:.4rem 0;padding:.4rem .7rem;border-radius:"
          ".8rem;max-width:80%;white-space:pre-wrap;overflow-wrap:anywhere}.in{background:#eee}.out{background:"
          "#d8ecff;margin-left:auto}.t{font-size:.75rem;color:#666}.a{font-size:.85rem;color:#444}")


def _when(date_ms: int) -> str:
    try:
        return dt.datetime.fromtimestamp(date_ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return f"{date_ms} ms"


def write_reading_page(session: Session, snapshot: Snapshot, out: BinaryIO) -> None:
    write = lambda text: out.write(text.encode("utf-8", "replace"))  # noqa: E731
    write(f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Messages</title><style>{_STYLE}'
          f"</style></head><body>\n<h1>Messages</h1>\n<p>{snapshot.messages} messages and {snapshot.calls} calls. "
          "To put them back on a phone, restore the files of the folder named after your app with that app."
          "</p>\n")
    after = None
    while True:
        conversations = list(session.scalars(repository.conversations_page(snapshot.owner_id, after, PAGE)))
        for conversation in conversations:
            write(f"<h2>{html.escape(conversation.title)}</h2>\n")
            _write_thread(session, conversation.id, write)
        if len(conversations) < PAGE:
            break
        after = (conversations[-1].last_message_ms, conversations[-1].id)
    write("</body></html>\n")


def _write_thread(session: Session, conversation_id, write) -> None:
    after = None
    while True:
        rows = list(session.scalars(repository.thread_in_order(conversation_id, after, PAGE)))
        parts = repository.parts_of(session, [row.id for row in rows])
        for row in rows:
            side = "in" if row.box == INBOX else "out"
            who = f"{html.escape(row.contact_name)} · " if row.contact_name and side == "in" else ""
            text = "\n".join(item for item in (row.subject, row.body if row.kind == "sms" else None) if item)
            texts = [part.text for part, _ in parts.get(row.id, ()) if part.content_type == "text/plain" and part.text]
            files = [f"{part.filename or part.name or part.content_location or part.content_type} "
                     f"({format_size(attachment.size_bytes)})"
                     for part, attachment in parts.get(row.id, ()) if attachment is not None]
            body = html.escape("\n".join(item for item in (text, *texts) if item))
            attached = "".join(f'<div class="a">📎 {html.escape(name)}</div>' for name in files)
            write(f'<div class="m {side}"><div class="t">{who}{_when(row.date_ms)}</div>{body}{attached}</div>\n')
        if len(rows) < PAGE:
            return
        after = (rows[-1].date_ms, rows[-1].id)

"""Where the messages kind keeps its bytes, all under users/{owner}/messages/:

- attachments/{sha1[:2]}/{sha1}.{random}: an MMS part's bytes, once per owner and content; the random end
  makes each writer the only one of its key, so a writer that loses a race deletes its own copy safely;
- imports/{import id}: an uploaded backup file, until every record of it is stored;
- exports/{sha256}: a file of the full export's Messages folder, named by its content;
- thumbnails/{id[:2]}/{attachment id}.webp: an MMS photo's thumbnail, made by the media pipeline on its first
  request (messages.thumbnails); {attachment id}.failed instead holds why it could not be made. Both are
  derived from the attachment, whose bytes never change: remade at will, never counted in the quota (as the
  gallery's derivatives), and an orphan once their attachment is gone.

A key of any other shape is not this kind's: recovery never deletes what no kind recognises.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterator, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from phonecloud.core.kinds import Orphan
from phonecloud.messages.models import Attachment, MessageImport
from phonecloud.portability.models import ExportEntry

_ATTACHMENT = re.compile(r"^users/(\d+)/messages/attachments/([0-9a-f]{2})/([0-9a-f]{40})\.[0-9a-f]+$")
_IMPORT = re.compile(r"^users/(\d+)/messages/imports/([0-9a-f-]{36})$")
_EXPORT = re.compile(r"^users/(\d+)/messages/exports/[0-9a-f]{64}$")
_THUMBNAIL = re.compile(r"^users/(\d+)/messages/thumbnails/([0-9a-f]{2})/([0-9a-f-]{36})\.(?:webp|failed)$")


def attachment_key(owner_id: int, sha1: str) -> str:
    return f"users/{owner_id}/messages/attachments/{sha1[:2]}/{sha1}.{secrets.token_hex(4)}"


def import_key(owner_id: int, import_id: uuid.UUID) -> str:
    return f"users/{owner_id}/messages/imports/{import_id}"


def export_key(owner_id: int, sha256: str) -> str:
    return f"users/{owner_id}/messages/exports/{sha256}"


def thumbnail_key(owner_id: int, attachment_id: uuid.UUID) -> str:
    """Named by the attachment, so that no row has to record it (and every part with those bytes shares it)."""
    return f"users/{owner_id}/messages/thumbnails/{str(attachment_id)[:2]}/{attachment_id}.webp"


def thumbnail_failure_key(owner_id: int, attachment_id: uuid.UUID) -> str:
    """Why the attachment's thumbnail cannot be made: kept so that a hostile file costs the renderer once."""
    return f"users/{owner_id}/messages/thumbnails/{str(attachment_id)[:2]}/{attachment_id}.failed"


def content_sha1(key: str) -> str | None:
    """The SHA-1 an attachment's key names (its bytes must have it); None for any other key."""
    match = _ATTACHMENT.match(key)
    return match.group(3) if match and match.group(3).startswith(match.group(2)) else None


def orphans(session: Session, keys: Sequence[str]) -> list[Orphan]:
    """Of these keys, this kind's that nothing references: an attachment no row has, an uploaded file whose
    import let it go (or is gone), an export file no export lists, a thumbnail whose attachment is gone."""
    attachments = {key: int(match.group(1)) for key in keys if (match := _ATTACHMENT.match(key))}
    imports = {key: int(match.group(1)) for key in keys if (match := _IMPORT.match(key))}
    exports = {key: int(match.group(1)) for key in keys if (match := _EXPORT.match(key))}
    found = []
    if attachments:
        kept = set(session.scalars(select(Attachment.blob_key).where(Attachment.blob_key.in_(list(attachments)))))
        found += [Orphan(key, owner, "message attachment") for key, owner in attachments.items() if key not in kept]
    if imports:
        kept = set(session.scalars(select(MessageImport.blob_key).where(MessageImport.blob_key.in_(list(imports)))))
        found += [Orphan(key, owner, "message backup file") for key, owner in imports.items() if key not in kept]
    if exports:
        kept = set(session.scalars(select(ExportEntry.blob_key).where(ExportEntry.blob_key.in_(list(exports)))))
        found += [Orphan(key, owner, "messages export file") for key, owner in exports.items() if key not in kept]
    return found + _orphaned_thumbnails(session, keys)


def _orphaned_thumbnails(session: Session, keys: Sequence[str]) -> list[Orphan]:
    """A thumbnail is referenced by its attachment's row, of the owner its key names."""
    thumbnails = {key: (int(match.group(1)), attachment) for key in keys
                  if (match := _THUMBNAIL.match(key)) and (attachment := _attachment_id(match))}
    if not thumbnails:
        return []
    ids = list({attachment for _, attachment in thumbnails.values()})
    live = {(owner, attachment) for owner, attachment in session.execute(
        select(Attachment.owner_id, Attachment.id).where(Attachment.id.in_(ids)))}
    return [Orphan(key, owner, "message thumbnail") for key, (owner, attachment) in thumbnails.items()
            if (owner, attachment) not in live]


def _attachment_id(match: re.Match) -> uuid.UUID | None:
    """The attachment a thumbnail's key names; None for a key not written by thumbnail_key (not this kind's)."""
    try:
        attachment_id = uuid.UUID(match.group(3))
    except ValueError:
        return None
    return attachment_id if str(attachment_id) == match.group(3) and match.group(3).startswith(match.group(2)) else None


def referenced_keys(session: Session) -> Iterator[str]:
    """Every blob the kind's rows reference (exports' files are remade by a new export, as the gallery's;
    thumbnails are referenced by no row, made on their first request and made again when missing)."""
    yield from session.scalars(select(Attachment.blob_key).execution_options(yield_per=1000))
    yield from session.scalars(select(MessageImport.blob_key).where(MessageImport.blob_key.is_not(None)))

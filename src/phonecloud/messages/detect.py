"""Which backup file an upload is, from its first bytes (the intake's identify): the four files the two apps
write. Anything else, an encrypted export and an XML document with a document type declaration (where
entity expansion and external entities start) are refused before the upload is stored."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from phonecloud.core.errors import UnsupportedMedia
from phonecloud.messages.formats import sms_backup_restore, sms_ie
from phonecloud.messages.formats.sms_ie import ENCRYPTED


@dataclass(frozen=True)
class BackupFormat:
    name: str  # as imports report it
    app: str  # the format, as the export routes and the CLI name it
    holds: str  # messages | calls
    read: Callable[[object], Iterator]  # the format's streaming reader
    # Whether its reader can yield text neither database keeps (a lone UTF-16 surrogate, from JSON's \ud83d):
    # XML cannot carry one, so SMS Backup & Restore's reader never does (see messages.rows.storable).
    may_hold_lone_surrogates: bool


SBR_MESSAGES = BackupFormat("sms-backup-restore/messages", "sms-backup-restore", "messages",
                            sms_backup_restore.read_messages, False)
SBR_CALLS = BackupFormat("sms-backup-restore/calls", "sms-backup-restore", "calls", sms_backup_restore.read_calls,
                         False)
SMS_IE_MESSAGES = BackupFormat("sms-ie/messages", "sms-ie", "messages", sms_ie.read_messages, True)
SMS_IE_CALLS = BackupFormat("sms-ie/calls", "sms-ie", "calls", sms_ie.read_calls, True)
FORMATS = {found.name: found for found in (SBR_MESSAGES, SBR_CALLS, SMS_IE_MESSAGES, SMS_IE_CALLS)}

WHAT_IS_TAKEN = ("this server takes SMS Backup & Restore files (sms-*.xml, calls-*.xml) and SMS Import / Export "
                 "files (messages-*.zip, calls-*.json)")
_BLANKS = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # an archive's first entry, or an empty archive's directory
# Before the root element: the XML declaration, processing instructions (a style sheet) and comments.
_PROLOG_ITEM = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->)", re.DOTALL)
_ROOT = re.compile(rb"\s*<([A-Za-z_][\w.:-]*)")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


def detect(head: bytes) -> BackupFormat:
    """The format of a file from its first bytes (up to 4 KiB), or UnsupportedMedia saying why not."""
    if head.startswith(ENCRYPTED):
        raise UnsupportedMedia("the file is an encrypted SMS Import / Export export (SSEF): decrypt it first, with "
                               "the app or its tools/ssef-decrypt.py")
    if head.startswith(_ZIP):
        return SMS_IE_MESSAGES
    text = head.removeprefix(_BOM).lstrip(_BLANKS)
    if text.startswith(b"["):
        return SMS_IE_CALLS
    if text.startswith(b"<"):
        return _xml(text)
    raise UnsupportedMedia(f"not a messages backup: {WHAT_IS_TAKEN}")


def _xml(text: bytes) -> BackupFormat:
    if _DOCTYPE.search(text):
        raise UnsupportedMedia("a document type declaration (<!DOCTYPE>) is not accepted: entity expansion and "
                               "external entities start there, and no SMS Backup & Restore file has one")
    at = 0
    while item := _PROLOG_ITEM.match(text, at):
        at = item.end()
    root = _ROOT.match(text, at)
    if root is None:
        raise UnsupportedMedia(f"an XML file whose first element is not in its first {len(text)} bytes: "
                               f"{WHAT_IS_TAKEN}")
    name = root.group(1)
    if name == b"smses":
        return SBR_MESSAGES
    if name == b"calls":
        return SBR_CALLS
    shown = name[:40].decode("utf-8", "replace")
    raise UnsupportedMedia(f"an XML document of <{shown}>, not <smses> or <calls>: {WHAT_IS_TAKEN}")

"""A stable identity per message and per call, derived from content only, so that importing the same or an
overlapping backup again, from either app, adds nothing twice. Pure Python.

The rule (version 1):

- Addresses are compared on their last 7 digits, whatever is written around them: `+49 151 2345 6789`,
  `0049-151-23456789`, `(0151) 23456789` and `015123456789` are one number. Seven is what Android itself
  matches phone numbers on (PhoneNumberUtils' MIN_MATCH), so numbers the phone treats as one are one here
  too, without knowing the country: the international prefix, the trunk `0` and the formatting all sit in
  front of the last 7 digits. Shorter numbers (short codes) are taken whole. An address with a letter or
  an `@` (a sender name such as `DHL`, an e-mail address) is compared as its text, without blanks and case.
  Android's stand-in for the phone's own number in a sent MMS (`insert-address-token`) is left out.
- Time is `date` in milliseconds, as both apps copy it from the same Android column (an MMS's whole
  seconds, times 1000). Direction is incoming (box 1) or outgoing (any other box), so that a message that
  moved from the outbox to sent between two backups stays one message.
- Content: an SMS's body; an MMS's parts, each as (content type, text, SHA-256 of its bytes), in sorted
  order, since parts of equal `seq` come in no fixed order.
- A call is its number (as above), `date` in milliseconds and `type`.

The identity is the SHA-256 of these values in a canonical JSON text, in hex; the version is part of it,
so a future rule gives new identities instead of colliding with these. Not part of it: names, read and
seen flags, thread and row ids, `readable_date`, subscription: what changes between backups of the same
message. An MMS whose attachments were left out of a backup (SMS Import / Export's `Include binary MMS data`
switched off) has a different identity from the same MMS with them; so has an MMS read from an SMS Backup &
Restore file too old to have <addrs>, which names the other parties only, not the phone's own number.
"""

from __future__ import annotations

import hashlib
import json
import re

from phonecloud.messages.formats.records import OWN_NUMBER_TOKEN, SMS, Call, Message, Part

SIGNIFICANT_DIGITS = 7  # Android's PhoneNumberUtils.MIN_MATCH
_NOT_DIGIT = re.compile(r"[^0-9]")
_NAME_LIKE = re.compile(r"[^\W\d_]|@")  # a letter, or an e-mail's @
_RULE = "phonecloud/messages/identity/1"
# Made once: json.dumps with options makes an encoder per call.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def normalise_address(address: str | None) -> str:
    """The part of an address that identifies it (see the module's docstring)."""
    if not address:
        return ""
    if _NAME_LIKE.search(address):
        return "text:" + "".join(address.split()).casefold()
    digits = _NOT_DIGIT.sub("", address)
    return digits[-SIGNIFICANT_DIGITS:]


def message_identity(message: Message) -> str:
    parties = sorted({normalise_address(address.address) for address in message.addresses
                      if address.address != OWN_NUMBER_TOKEN})
    content = (message.body or "") if message.kind == SMS else sorted(map(_part_key, message.parts))
    direction = "in" if message.incoming else "out"
    return _digest(["message", message.kind, direction, message.date_ms, parties, content])


def call_identity(call: Call) -> str:
    return _digest(["call", normalise_address(call.number), call.date_ms, call.type])


def _part_key(part: Part) -> list[str]:
    return [part.content_type.lower(), part.text or "", part.data.sha256 if part.data else ""]


def _digest(values: list) -> str:
    text = _JSON.encode([_RULE, *values])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

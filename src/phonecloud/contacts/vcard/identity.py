"""Who a contact is, so that importing the same people again adds nobody: the UID its source gave it, else a
key of its name, numbers and emails that does not depend on their order or formatting."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from phonecloud.contacts.vcard.card import Card

# The namespace of the UIDs phonecloud derives (uuid5): any fixed UUID would do, this one is uuid5(URL, name).
_DIGITS = re.compile(r"\d")
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://phonecloud.invalid/contacts/vcard-uid")


def normalised_phone(phone: str) -> str:
    """Digits (any script's, as ASCII) and a leading +: '+49 (151) 234-56' and '+4915123456' are one number."""
    digits = "".join(_DIGITS.findall(phone))
    if not digits.isascii():  # full-width digits from Japanese phones, Arabic-Indic ones
        digits = "".join(str(unicodedata.decimal(char)) for char in digits)
    return ("+" + digits if phone.lstrip().startswith(("+", "＋")) else digits) if digits else ""


def identity_key(name: str, phones: tuple[str, ...], emails: tuple[str, ...]) -> str:
    fields = [" ".join(name.casefold().split()),
              *sorted({number for number in map(normalised_phone, phones) if number}), "\x1e",
              *sorted({email.strip().casefold() for email in emails if email.strip()})]
    # Unit and record separators: no name, number or email holds a control character (they are dropped).
    return hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()


def derived_uid(key: str) -> str:
    """The UID given to a card that came without one: the same card gets the same UID on every import.
    It is uuid.uuid5(_NAMESPACE, "key:" + key), spelled out: uuid.UUID costs more than the rest of a card."""
    digest = bytearray(hashlib.sha1(_NAMESPACE.bytes + b"key:" + key.encode("ascii")).digest()[:16])
    digest[6] = digest[6] & 0x0F | 0x50  # version 5
    digest[8] = digest[8] & 0x3F | 0x80  # the RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def identity(card: Card) -> str:
    """'uid:<UID>' when the card's UID came from its source, else 'key:<sha256 of name, numbers, emails>'.
    A UID phonecloud derived is recognised as such (it is derived_uid of the card's own key), so a card
    exported by phonecloud and imported again keeps the identity it had."""
    key = identity_key(card.name, card.phones, card.emails)
    if not card.uid or card.uid == derived_uid(key):
        return "key:" + key
    return "uid:" + card.uid

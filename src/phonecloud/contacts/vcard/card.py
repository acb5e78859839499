"""A contact as phonecloud stores it: canonical vCard 3.0 text and the few fields the server needs from it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from phonecloud.contacts.vcard import media
from phonecloud.contacts.vcard.identity import derived_uid, identity_key
from phonecloud.contacts.vcard.properties import Property, serialise
from phonecloud.contacts.vcard.values import components, escape, split_escaped, unescape

# Han, kana and hangul: names written family name first, as Android and iOS show them.
_FAMILY_FIRST = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


@dataclass(frozen=True)
class Card:
    text: str                   # canonical vCard 3.0: CRLF, folded at 75 octets, every source property kept
    uid: str
    name: str                   # FN
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    organisation: str           # ORG's non-empty components, joined by ', '
    photo: bytes | None         # the first PHOTO with a binary value, decoded
    photo_type: str             # its media type (image/jpeg), '' when there is none
    line: int                   # the 1-based line of its BEGIN:VCARD in the source


def build_card(props: list[Property], line: int) -> tuple[Card, list[Property]]:
    """The card of canonical 3.0 properties (without VERSION): N and FN added when missing (vCard 3.0 needs
    both), and a UID when the source had none. Also returns the final properties, for other versions."""
    props = list(props)
    first = _firsts(props)
    if "N" not in first:
        props.insert(0, Property("N", ";;;;"))
    fn = first.get("FN")
    if fn is None or not unescape(fn.value).strip():
        made = escape(_formatted_name(props))
        if fn is None:
            fn = Property("FN", made)
            props.insert(0, fn)
        else:
            fn.value = made
    name = unescape(fn.value).strip()
    phones = tuple(phone for prop in props if prop.name == "TEL" if (phone := unescape(prop.value).strip()))
    emails = tuple(email for prop in props if prop.name == "EMAIL" if (email := unescape(prop.value).strip()))
    org = first.get("ORG")
    organisation = ", ".join(part for part in components(org.value) if part.strip()) if org else ""
    uid_prop = first.get("UID")
    uid = unescape(uid_prop.value).strip() if uid_prop else ""
    if not uid:
        uid = derived_uid(identity_key(name, phones, emails))
        if uid_prop is None:
            props.append(Property("UID", uid))
        else:
            uid_prop.value = uid
    photo_prop = next((prop for prop in props if prop.name == "PHOTO" and prop.data is not None), None)
    photo_type = ""
    if photo_prop is not None:
        token = photo_prop.param("TYPE")[:1]
        photo_type = media.media_of(token[0], "PHOTO") if token else media.OCTET_STREAM
    card = Card(text=serialise(props, "3.0"), uid=uid, name=name, phones=phones, emails=emails,
                organisation=organisation, photo=photo_prop.data if photo_prop else None, photo_type=photo_type,
                line=line)
    return card, props


def _firsts(props: list[Property]) -> dict[str, Property]:
    """The first property of each name."""
    first: dict[str, Property] = {}
    for prop in props:
        first.setdefault(prop.name, prop)
    return first


def _first(props: list[Property], name: str) -> Property | None:
    return next((prop for prop in props if prop.name == name), None)


def _formatted_name(props: list[Property]) -> str:
    """FN from what the card has: its N, else a nickname, organisation, email or number."""
    n = _first(props, "N")
    if n is not None:
        family, given, additional, prefix, suffix = (components(n.value) + [""] * 5)[:5]
        if _FAMILY_FIRST.search(family + given):
            parts = [prefix, family, given, additional, suffix]
        else:
            parts = [prefix, given, additional, family, suffix]
        if made := " ".join(part.strip() for part in parts if part.strip()):
            return made
    for name in ("NICKNAME", "ORG", "EMAIL", "TEL"):
        prop = _first(props, name)
        if prop is not None and (made := unescape(split_escaped(prop.value, "," if name == "NICKNAME" else ";")[0])):
            return made.strip()
    return ""

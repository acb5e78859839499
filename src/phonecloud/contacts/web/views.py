"""What the Contacts pages show, shaped for their templates from the stored vCards.

Everything in a vCard is someone else's input: the templates escape it (Jinja2's autoescape), names lose the
bidirectional controls that would reorder the text around them, a number only becomes a tel: link of its
dialling characters, an email a percent-encoded mailto: link, and a photo is only ever served as one of the
raster formats its first bytes prove it to be (never as SVG or HTML, whatever the card declares).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from urllib.parse import quote

from phonecloud.contacts.downloads import photo_of
from phonecloud.contacts.models import Contact
from phonecloud.contacts.vcard import Card, parse_card, to_version
from phonecloud.core.names import display_name

log = logging.getLogger(__name__)

AVATAR_COLOURS = 6  # .avatar-0 … .avatar-5 in contacts.css, each AA on its background
MAX_SHOWN_PROPERTIES = 100  # a card's other properties on its page; the download has them all
MAX_SHOWN_CHARS = 2000  # of one property's value, a name, a number or an email
MAX_LINK_CHARS = 320  # a number or an email longer than any real one is shown, never linked

# Properties the page shows in their own places (or that mean nothing to a person): not under "Details".
_SHOWN_ELSEWHERE = frozenset({
    "VERSION", "PRODID", "UID", "REV", "FN", "N", "ORG", "TEL", "EMAIL", "PHOTO", "X-ABLABEL", "CLIENTPIDMAP",
    "X-ABUID", "X-ABADR", "KIND", "X-ABSHOWAS", "X-ANDROID-CUSTOM-TYPE", "SORT-STRING", "X-EVOLUTION-FILE-AS",
})
_LABELS = {
    "ADR": "Address", "LABEL": "Address label", "BDAY": "Birthday", "ANNIVERSARY": "Anniversary", "NOTE": "Note",
    "URL": "Website", "TITLE": "Job title", "ROLE": "Role", "NICKNAME": "Nickname", "IMPP": "Messaging",
    "CATEGORIES": "Groups", "GEO": "Location", "TZ": "Time zone", "GENDER": "Gender", "LANG": "Language",
    "RELATED": "Related", "X-ABRELATEDNAMES": "Related", "X-ABDATE": "Date", "X-SOCIALPROFILE": "Profile",
    "X-PHONETIC-FIRST-NAME": "Phonetic first name", "X-PHONETIC-LAST-NAME": "Phonetic last name",
    "X-PHONETIC-MIDDLE-NAME": "Phonetic middle name", "X-MAIDENNAME": "Maiden name", "X-ANDROID-CUSTOM": "Android",
    "X-AIM": "AIM", "X-JABBER": "Jabber", "X-SKYPE": "Skype", "X-ICQ": "ICQ", "X-MSN": "MSN", "X-YAHOO": "Yahoo",
    "X-GOOGLE-TALK": "Google Talk", "X-QQ": "QQ", "LOGO": "Logo", "SOUND": "Sound", "KEY": "Public key",
    "MAILER": "Mailer", "SOURCE": "Source", "X-ASSISTANT": "Assistant", "X-MANAGER": "Manager",
    "X-SPOUSE": "Spouse", "EXPERTISE": "Expertise", "HOBBY": "Hobby", "INTEREST": "Interest",
    "ORG-DIRECTORY": "Directory", "FBURL": "Free/busy", "CALURI": "Calendar", "CALADRURI": "Calendar address",
}
_TYPE_WORDS = {"cell": "mobile", "home": "home", "work": "work", "fax": "fax", "pager": "pager", "main": "main",
               "iphone": "iPhone", "car": "car", "video": "video", "text": "text", "textphone": "textphone",
               "isdn": "ISDN", "other": "other", "msg": "messages", "bbs": "BBS", "modem": "modem",
               "pcs": "PCS", "dom": "domestic", "intl": "international", "postal": "postal", "parcel": "parcel"}
_APPLE_LABEL = re.compile(r"^_\$!<(.*)>!\$_$")
_DIALLING = re.compile(r"[^0-9+*#]")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MAILTO_SAFE = "@.+-_~!$'*="  # what an address keeps as it is in a mailto: link; ? & % # and the rest are encoded
_NUMBER = re.compile(r"(\+?[\d\s()./*#-]+?)(?:\s*(?:ext\.?|x|;ext=|,|;)\s*([\d\s]+))?", re.IGNORECASE)
_EMAIL = re.compile(r"[^\s@<>()\[\]\\,;:?&%\"/]+@[^\s@<>()\[\]\\,;:?&%\"/]+\.[^\s@<>()\[\]\\,;:?&%\"/]+")


@dataclass(frozen=True)
class Row:
    """A contact as the list shows it."""

    id: int
    name: str
    initials: str
    colour: int
    has_photo: bool
    organisation: str
    phone: str
    email: str


@dataclass(frozen=True)
class Line:
    """A number or an email on the card: its value, what it is (mobile, work …) and the link that uses it."""

    value: str
    label: str
    href: str | None


@dataclass(frozen=True)
class Property:
    label: str
    value: str


@dataclass
class Detail:
    id: int
    name: str
    initials: str
    colour: int
    has_photo: bool
    organisation: str
    phones: list[Line]
    emails: list[Line]
    others: list[Property] = field(default_factory=list)
    more: int = 0  # other properties past what the page shows
    modified_at: dt.datetime | None = None


def clean(text: str) -> str:
    """Text of a card fit to show: no bidirectional or other control characters (line ends stay), and no
    longer than a page should carry (a hostile card may hold a name of megabytes)."""
    text = _CONTROLS.sub("", display_name((text or "")[:MAX_SHOWN_CHARS * 2]))
    return text if len(text) <= MAX_SHOWN_CHARS else text[:MAX_SHOWN_CHARS] + "…"


def initials(name: str) -> str:
    """One or two letters for a contact without a photo: of the first and last word ("Ada Lovelace": AL)."""
    words = [word for word in clean(name).split() if word[:1].isalnum()]
    if not words:
        return "#" if any(char.isdigit() for char in name) else "?"
    first = words[0][:1]
    if first.isdigit():
        return "#"
    last = words[-1][:1] if len(words) > 1 and words[-1][:1].isalpha() else ""
    return (first + last).upper()


def colour_of(contact_id: int) -> int:
    return contact_id % AVATAR_COLOURS


def card_of(contact: Contact) -> Card | None:
    """The stored vCard read, or None when it cannot be (the page then shows what the row holds)."""
    try:
        return parse_card(contact.vcard)
    except Exception:  # a card stored before a reader's fix must not take the whole list down
        log.warning("contact %s: its vCard could not be read for the page", contact.id, exc_info=True)
        return None


def _matching(values: tuple[str, ...], words: list[str]) -> str:
    """The value most of the searched words are found in (a number by its digits too), else the first."""
    def found(value: str) -> int:
        folded, digits = value.casefold(), re.sub(r"\D", "", value)
        return sum(word in folded or (word.isdigit() and word in digits) for word in words)

    return max(values, key=found) if values else ""  # max keeps the first of equals


def row(contact: Contact, query: str = "") -> Row:
    """A contact as the list shows it; with a search, the number and email it was found by."""
    card = card_of(contact)
    name = clean(contact.display_name) or "(no name)"
    words = [re.sub(r"[^\d]", "", word) or word for word in query.casefold().split()] if query else []
    return Row(contact.id, name, initials(name), colour_of(contact.id), photo_of(card) is not None,
               clean(card.organisation) if card else "", clean(_matching(card.phones, words)) if card else "",
               clean(_matching(card.emails, words)) if card else "")


def tel_href(number: str) -> str | None:
    """A tel: link for what reads as a number (digits and the signs people write between them), else None."""
    if len(number) > MAX_LINK_CHARS:  # no number is this long; and the pattern is not run on megabytes
        return None
    found = _NUMBER.fullmatch(number.strip())
    if found is None or sum(char.isdigit() for char in found.group(1)) < 3:
        return None
    extension = _DIALLING.sub("", found.group(2) or "")
    dialled = _DIALLING.sub("", found.group(1)) + (f";ext={extension}" if extension else "")
    return "tel:" + dialled.replace("#", "%23")  # a # would start the link's fragment


def mailto_href(email: str) -> str | None:
    """A mailto: link for what reads as one address (no headers or second address smuggled in), else None."""
    email = email.strip()
    if len(email) > MAX_LINK_CHARS:
        return None
    return "mailto:" + quote(email, safe=_MAILTO_SAFE) if _EMAIL.fullmatch(email) else None


def _plain(value) -> str:
    """A property's value as text: structured values (ADR, N, ORG, CATEGORIES) joined, binary data named."""
    if isinstance(value, bytes):
        return f"(binary data, {len(value)} bytes)"
    if isinstance(value, (list, tuple)):
        return ", ".join(part for part in (_plain(item) for item in value) if part)
    if hasattr(value, "street") and hasattr(value, "country"):  # vobject's Address
        parts = [value.box, value.extended, value.street, " ".join(filter(None, (
            _plain(value.code), _plain(value.city)))), value.region, value.country]
        return "\n".join(part for part in (_plain(item) for item in parts) if part.strip())
    return str(value).strip()


def _type_label(params: dict, group_label: str | None) -> str:
    if group_label:
        return group_label
    words = []
    for raw in params.get("TYPE", []):
        for word in str(raw).lower().split(","):
            word = word.strip()
            if word in _TYPE_WORDS and _TYPE_WORDS[word] not in words:
                words.append(_TYPE_WORDS[word])
    return ", ".join(words)


def _apple_label(text: str) -> str:
    """iOS's own labels (_$!<HomePage>!$_) in words; a custom label as typed."""
    found = _APPLE_LABEL.match(text.strip())
    if not found:
        return clean(text.strip())
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", found.group(1)).lower()


def _properties(text: str) -> tuple[list, dict[str, str]]:
    """Every content line of the card (vobject's reading of its 3.0 form) and the labels iOS gave groups."""
    import vobject

    card = vobject.readOne(to_version(text, "3.0"))
    lines = list(card.getChildren())
    groups = {line.group.lower(): _apple_label(_plain(line.value)) for line in lines
              if line.name.upper() == "X-ABLABEL" and line.group}
    return lines, groups


def detail(contact: Contact) -> Detail:
    card = card_of(contact)
    name = clean(contact.display_name) or "(no name)"
    found = Detail(contact.id, name, initials(name), colour_of(contact.id), photo_of(card) is not None,
                   clean(card.organisation) if card else "", [], [], modified_at=contact.modified_at)
    try:
        lines, groups = _properties(contact.vcard)
    except Exception:
        log.warning("contact %s: its properties could not be read for the page", contact.id, exc_info=True)
        lines, groups = [], {}
    labels: dict[tuple[str, str], str] = {}
    for line in lines:
        property_name = line.name.upper()
        group_label = groups.get((line.group or "").lower())
        if property_name in ("TEL", "EMAIL"):
            labels.setdefault((property_name, _plain(line.value)), _type_label(line.params, group_label))
            continue
        if property_name in _SHOWN_ELSEWHERE:
            continue
        if len(found.others) >= MAX_SHOWN_PROPERTIES:
            found.more += 1
            continue
        value = clean(_plain(line.value))
        if not value:
            continue
        label = _LABELS.get(property_name, property_name)
        kind = group_label or _type_label(line.params, None)
        if kind:
            label = f"{label} ({kind})"
        if len(value) > MAX_SHOWN_CHARS:
            value = value[:MAX_SHOWN_CHARS] + "…"
        found.others.append(Property(clean(label), value))
    if card is not None:
        found.phones = [Line(clean(phone), clean(labels.get(("TEL", phone), "")), tel_href(phone))
                        for phone in card.phones]
        found.emails = [Line(clean(email), clean(labels.get(("EMAIL", email), "")), mailto_href(email))
                        for email in card.emails]
    return found



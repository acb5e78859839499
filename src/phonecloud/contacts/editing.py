"""An edit from the web app applied to a stored vCard: the fields a person edits there (name, organisation,
numbers, emails) are replaced; every other property, the photo and the parameters of numbers and emails that
stay, are kept."""

from __future__ import annotations

import vobject

from phonecloud.contacts.vcard import parse_card, to_version
from phonecloud.core.errors import BadRequest


def edited(text: str, name: str, organisation: str, phones: list[str], emails: list[str]) -> str:
    card = vobject.readOne(to_version(text, "3.0"))
    name = " ".join(name.split())
    if not name:
        raise BadRequest("a contact needs a name")
    if getattr(card, "fn", None) is None or card.fn.value != name:
        _replace(card, "fn", [name])
        given, _, family = name.rpartition(" ")
        _replace(card, "n", [vobject.vcard.Name(family=family, given=given)])
    if organisation.strip() != parse_card(text).organisation:  # unchanged: ORG keeps its parts (unit, department)
        _replace(card, "org", [[organisation.strip()]] if organisation.strip() else [])
    _keep_matching(card, "tel", [phone.strip() for phone in phones if phone.strip()], "CELL")
    _keep_matching(card, "email", [email.strip() for email in emails if email.strip()], "INTERNET")
    return card.serialize()


def _replace(card, name: str, values: list) -> None:
    for line in list(card.contents.get(name, [])):
        card.remove(line)
    for value in values:
        card.add(name).value = value


def _keep_matching(card, name: str, wanted: list[str], default_type: str) -> None:
    """Lines whose value is still wanted stay as they are (their TYPE and group); the others go; new values
    are added with the default type."""
    kept = set()
    for line in list(card.contents.get(name, [])):
        if line.value in wanted and line.value not in kept:
            kept.add(line.value)
        else:
            card.remove(line)
    for value in wanted:
        if value not in kept:
            kept.add(value)
            line = card.add(name)
            line.value = value
            line.type_param = default_type

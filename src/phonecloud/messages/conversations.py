"""Which conversation a message belongs to: the set of the other people in it, by normalised address
(formats.identity.normalise_address), so that `+49 151 …` and `0151…` are one person.

The phone's own number is not one of the others, but a backup rarely says which it is. It is learned:
- SMS Backup & Restore names an MMS's thread by its other parties in the `address` attribute: a party of
  the MMS missing from it is the phone's own;
- a sent MMS's sender is the phone itself (unless Android's `insert-address-token` stands for it);
- a received MMS whose address table (SMS Import / Export's, or an <addrs> of SMS Backup & Restore) has a
  single recipient was sent to the phone alone (old SMS Backup & Restore files without <addrs> list the
  other parties only, so their single recipient is somebody else).
Learned numbers are kept per owner (message_own_addresses) and left out of every later MMS. A group MMS
read before any of these told the phone's number may count it as a participant: its conversation then
differs from the one of the same people's later messages.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from phonecloud.messages.formats.identity import normalise_address
from phonecloud.messages.formats.records import ADDRESS_FROM, MMS, OWN_NUMBER_TOKEN, Message

UNKNOWN_NAMES = {"", "(Unknown)"}  # what the backup apps write when the phone has no contact
TITLE_CHARS = 500
NO_ONE = "(no recipient)"


@dataclass(frozen=True)
class Party:
    normalised: str
    address: str  # as the message wrote it
    name: str | None


def _name(text: str | None) -> str | None:
    return None if text is None or text.strip() in UNKNOWN_NAMES else text.strip()


def _thread_addresses(message: Message) -> list[str] | None:
    """An SMS Backup & Restore MMS's other parties, from its `address` attribute (kept in its extras)."""
    listed = message.extras.get("address")
    if message.kind != MMS or not listed:
        return None
    return [address for address in listed.split("~") if address and address != OWN_NUMBER_TOKEN]


def own_numbers(message: Message) -> set[str]:
    """The phone's own numbers this message tells (see the module's docstring); numbers only."""
    if message.kind != MMS:
        return set()
    found: set[str] = set()
    thread = _thread_addresses(message)
    if thread is not None:
        others = {normalise_address(address) for address in thread}
        found = {normalise_address(address.address) for address in message.addresses
                 if address.address != OWN_NUMBER_TOKEN and not (message.incoming and address.type == ADDRESS_FROM)}
        found -= others
    elif not message.incoming:
        found = {normalise_address(address.address) for address in message.addresses
                 if address.type == ADDRESS_FROM and address.address != OWN_NUMBER_TOKEN}
    elif (alone := _sent_to_the_phone_alone(message)) is not None:
        found = {normalise_address(alone)}
    return {number for number in found if number.isdigit()}


def _sent_to_the_phone_alone(message: Message) -> str | None:
    """The one recipient of a received MMS read from an address table, which is then the phone's number."""
    recipients = [address for address in message.addresses if address.type != ADDRESS_FROM]
    if message.kind != MMS or not message.incoming or len(recipients) != 1:
        return None
    table = recipients[0].charset is not None or recipients[0].extras or recipients[0].contact_name is not None
    return recipients[0].address if table else None


def parties(message: Message, own: set[str]) -> list[Party]:
    """The other people of the message, each once, in a fixed order (by normalised address)."""
    thread = _thread_addresses(message)
    if thread is not None:
        names = (message.contact_name or "").split(", ")
        named = len(names) == len(thread)
        found = [Party(normalise_address(address), address, _name(names[index]) if named else None)
                 for index, address in enumerate(thread)]
    else:
        alone = _sent_to_the_phone_alone(message)
        people = [address for address in message.addresses
                  if address.address != OWN_NUMBER_TOKEN and (alone is None or address.type == ADDRESS_FROM)]
        # One other person: the message's contact name is theirs (an MMS's lists every party's, ", "-joined).
        single = len(people) == 1 and ", " not in (message.contact_name or "")
        found = [Party(normalise_address(address.address), address.address,
                       _name(address.contact_name) or (_name(message.contact_name) if single else None))
                 for address in people]
    unique: dict[str, Party] = {}
    for party in found:
        if party.normalised not in own or message.kind != MMS:
            unique.setdefault(party.normalised, party)
    return [unique[key] for key in sorted(unique)]


def participants_key(found: Iterable[Party]) -> str:
    return hashlib.sha256(json.dumps([party.normalised for party in found]).encode()).hexdigest()


def better_named(stored: list[dict], found: list[Party]) -> list[Party] | None:
    """A conversation's people (`stored`: its participants JSON, read; of the same participants key as
    `found`, so in the same order) with the names `found` gives for those it has none for; None when it
    gives none new. A later backup names people the phone had no contact for before; a name once known is
    never taken back."""
    if len(stored) != len(found):
        return None
    merged = [Party(party.normalised, kept["address"], kept["name"] or party.name)
              for kept, party in zip(stored, found)]
    return merged if any(kept["name"] is None and party.name for kept, party in zip(stored, merged)) else None


def people_json(found: Iterable[Party]) -> list[dict]:
    return [{"address": party.address, "name": party.name} for party in found]


def participants_json(found: Iterable[Party]) -> str:
    return json.dumps(people_json(found), ensure_ascii=False)


def title(found: list[Party]) -> str:
    return ", ".join(party.name or party.address for party in found)[:TITLE_CHARS] or NO_ONE

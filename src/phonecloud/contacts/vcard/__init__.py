"""vCard files of every dialect read into canonical vCard 3.0, and written as 3.0 or 4.0. Pure Python.

- `read_cards`: a .vcf file, streamed card by card (Android's and Outlook's 2.1 with quoted-printable and
  their charsets, iOS, Google, Thunderbird, BlackBerry, 3.0 and 4.0).
- `parse_card`: one card given as text (what a CardDAV client PUTs).
- `to_version`: a card as 3.0 or 4.0 text; 3.0 -> 4.0 -> 3.0 is lossless.
- `identity`: who a card is, for importing the same people once.

Every file is treated as hostile: what cannot be read is a `VCardError` naming the line. See
docs/formats/vcard.md for each dialect's quirks.
"""

from phonecloud.contacts.vcard.card import Card
from phonecloud.contacts.vcard.errors import VCardError
from phonecloud.contacts.vcard.identity import identity
from phonecloud.contacts.vcard.reader import parse_card, read_cards, to_version

__all__ = ["Card", "VCardError", "identity", "parse_card", "read_cards", "to_version"]

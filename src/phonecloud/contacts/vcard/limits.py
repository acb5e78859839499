"""How much of a vCard file the reader accepts. Each bound is far above what a phone or a desktop program
writes, and each keeps a hostile file from costing more than a bounded amount of memory or time."""

from __future__ import annotations

# One card: a contact with a large photo is a few hundred kB; Outlook's 2.1 export repeats the photo (PHOTO and
# X-MS-CARDPICTURE), and phones scale photos down, so 8 MiB is generous (read_cards takes another bound).
MAX_CARD_BYTES = 8 << 20
# Cards in one file: the largest address books phones sync hold tens of thousands.
MAX_CARDS = 200_000
# Properties of one card: a busy business card has about a hundred; each costs a few hundred bytes of memory.
MAX_PROPERTIES = 10_000
# Parameters of one property: iOS writes at most five or six (type=CELL;type=VOICE;type=pref;...).
MAX_PARAMETERS = 100
# A property's name and parameters: iOS's longest (PHOTO with X-ABCROP-RECTANGLE) is about a hundred bytes.
MAX_HEAD_BYTES = 64 << 10
# Cards inside cards: vCard 2.1 nests an AGENT's card; a card, its agent and the agent's agent is the most
# anything writes, and each level is a parser frame.
MAX_NESTING = 3
# Bytes read from the file at a time.
CHUNK_BYTES = 64 << 10

"""How much of a messages file the readers accept. Each bound is far above what a phone writes, and each
keeps a hostile file from costing more than a bounded amount of memory, disk or time."""

from __future__ import annotations

# One attachment, decoded: carriers cap an MMS at 0.3-3.5 MB; RCS media that phones keep as MMS reach tens of MB.
MAX_PART_BYTES = 64 << 20
# One XML tag (the bytes between two '<'): a <part> whose base64 data holds the largest attachment, with room
# for its other attributes. Expat keeps a whole tag in memory before it reports it, so this is what bounds it.
MAX_MARKUP_BYTES = (MAX_PART_BYTES + 2) // 3 * 4 + (1 << 20)
# XML nesting: <smses><mms><parts><part> is 4 deep, and nothing SMS Backup & Restore writes goes deeper.
MAX_XML_DEPTH = 8
# One line of messages.ndjson: an MMS with its texts, addresses and base64 BLOB columns (previews), not its files.
MAX_JSON_LINE_BYTES = 4 << 20
# One call of an SMS Import / Export call log: a few dozen short columns.
MAX_CALL_RECORD_BYTES = 256 << 10
# messages.ndjson inflated: a million messages take about a gigabyte; 32 times that is no phone's.
MAX_NDJSON_BYTES = 32 << 30
# Entries of an SMS Import / Export archive: one file per MMS attachment, and a phone keeps far fewer.
MAX_ZIP_MEMBERS = 1_000_000
# Attachments up to this size stay in memory; larger ones are spooled to a temporary file as they are read.
INLINE_BLOB_BYTES = 1 << 20

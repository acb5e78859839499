"""Android's own column names, which both backup apps copy as strings, and the record fields they map to.

A format reads each record as column name → string (leaving out absent values and the literal `null`);
`Table.decode` turns that into the record's fields and the extras it does not name, and `Table.encode`
turns a record back into strings. The formats differ from Android, and from each other, in a few columns
only (an MMS's date unit, where the contact name goes), which they declare by extending these tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from phonecloud.messages.formats.errors import FormatError
from phonecloud.messages.formats.records import ADDRESS_FROM, ADDRESS_TO, INBOX, Address, Message


def _flag(text: str) -> bool:
    if text not in ("0", "1"):
        raise ValueError("not 0 or 1")
    return text == "1"


@dataclass(frozen=True)
class Codec:
    decode: Any  # str → value, raising ValueError
    encode: Any  # value → str
    problem: str | None = None  # what a ValueError of decode means (else its own message says)


TEXT = Codec(str, str)
INT = Codec(int, str, "not a whole number")
FLAG = Codec(_flag, lambda value: "1" if value else "0")
MILLIS = INT
# Android keeps an MMS's times in whole seconds; records hold milliseconds everywhere.
SECONDS = Codec(lambda text: int(text) * 1000, lambda millis: str(millis // 1000), "not a whole number")


@dataclass(frozen=True)
class Column:
    name: str
    field: str
    codec: Codec = TEXT
    required: bool = False


class Table:
    """The columns of one record type that its fields name."""

    def __init__(self, columns: tuple[Column, ...]):
        self.columns = columns
        self._names = frozenset(column.name for column in columns)
        # What decode does per column, worked out once: it runs for every record of a file.
        self._plan = tuple((column.name, column.field, None if column.codec is TEXT else column.codec.decode,
                            column.codec.problem, column.required) for column in columns)

    def extended(self, *columns: Column) -> Table:
        """This table with `columns` added, each replacing the column of the same name."""
        replaced = {column.name for column in columns}
        return Table(tuple(c for c in self.columns if c.name not in replaced) + columns)

    def decode(self, values: dict[str, str], label: str, *,
               null: str | None = None) -> tuple[dict[str, Any], dict[str, str]]:
        """(every field the table names, None where absent; the other values in their order). `label` names
        the record in errors ("<sms>", "an MMS part"); a value equal to `null` is absent (SMS Backup &
        Restore writes a null column as the text `null`)."""
        decoded = {}
        for name, field, convert, problem, required in self._plan:
            text = values.get(name)
            if text is None or text == null:
                if required:
                    raise FormatError(f"{label} has no {name!r}, which it needs")
                decoded[field] = None
            elif convert is None:
                decoded[field] = text
            else:
                try:
                    decoded[field] = convert(text)
                except ValueError as error:
                    raise FormatError(f"{label} has {name}={text[:40]!r}: {problem or error}") from None
        names = self._names
        return decoded, {name: text for name, text in values.items() if name not in names and text != null}

    def encode(self, record: Any) -> dict[str, str | None]:
        """Column → string for every column of the table (None where the field is None)."""
        encoded = {}
        for column in self.columns:
            value = getattr(record, column.field)
            encoded[column.name] = None if value is None else column.codec.encode(value)
        return encoded


SMS_COLUMNS = Table((
    Column("date", "date_ms", MILLIS, required=True),
    Column("type", "box", INT, required=True),
    Column("date_sent", "date_sent_ms", MILLIS),
    Column("read", "read", FLAG),
    Column("status", "status", INT),
    Column("locked", "locked", FLAG),
    Column("subject", "subject"),
    Column("body", "body"),
    Column("sub_id", "sub_id", INT),
    Column("service_center", "service_center"),
))
MMS_COLUMNS = Table((
    Column("date", "date_ms", SECONDS, required=True),
    Column("msg_box", "box", INT, required=True),
    Column("date_sent", "date_sent_ms", SECONDS),
    Column("read", "read", FLAG),
    Column("locked", "locked", FLAG),
    Column("sub", "subject"),
    Column("sub_id", "sub_id", INT),
    Column("m_type", "mms_type", INT),
    Column("m_id", "mms_message_id"),
    Column("tr_id", "mms_transaction_id"),
    Column("ct_t", "content_type"),
))
PART_COLUMNS = Table((
    Column("seq", "seq", INT, required=True),
    Column("ct", "content_type", required=True),
    Column("name", "name"),
    Column("chset", "charset"),
    Column("cd", "content_disposition"),
    Column("fn", "filename"),
    Column("cid", "content_id"),
    Column("cl", "content_location"),
    Column("text", "text"),
))
ADDRESS_COLUMNS = Table((
    Column("address", "address", required=True),
    Column("type", "type", INT, required=True),
    Column("charset", "charset"),
))
CALL_COLUMNS = Table((
    Column("number", "number"),
    Column("duration", "duration_s", INT, required=True),
    Column("date", "date_ms", MILLIS, required=True),
    Column("type", "type", INT, required=True),
    Column("presentation", "presentation", INT),
    Column("subscription_id", "subscription_id"),
))


def sms_addresses(address: str | None, box: int) -> tuple[Address, ...]:
    """An SMS's one `address` as its party: the sender of a received SMS, else the recipient."""
    if address is None:
        return ()
    return (Address(address=address, type=ADDRESS_FROM if box == INBOX else ADDRESS_TO),)


def sms_address(message: Message) -> str | None:
    return message.addresses[0].address if message.addresses else None


"""The file formats Android phones back messages up in, read and written as neutral records. Pure Python.

- `records`: Message (SMS or MMS) with its Parts and Addresses, and Call: what every format reads into.
- `sms_backup_restore`: SMS Backup & Restore's XML (`sms-*.xml`, `calls-*.xml`).
- `sms_ie`: SMS Import / Export's version 2 (`messages-*.zip`, `calls-*.json`).
- `identity`: a stable identity per message and call, for importing overlapping backups once.

Readers stream in bounded memory and treat every file as hostile: what they refuse, and where a damaged
file stopped, is a `FormatError`. See docs/formats/messages.md.
"""

from phonecloud.messages.formats.errors import FormatError

__all__ = ["FormatError"]

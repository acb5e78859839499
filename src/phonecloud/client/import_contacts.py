"""The contacts part of an export being imported (`phonecloud import-export`): which of its files to send.

A phonecloud export's `Takeout/Contacts/` holds each address book as one .vcf file in vCard 4.0, and the
same contacts again in vCard 3.0 under `vCard 3.0/` (contacts/export.py writes them). Sending both would
only count every contact again as already there (or, where the 3.0 text says less, as changed), so the 4.0
files are taken, and the 3.0 ones only where the export has no other. A .vcf file in another folder below
Contacts (a Google Takeout's `Contacts/<label>/<label>.vcf`) is a contacts file too. Each goes into the
account's default address book. Files under Contacts that are no .vcf file are left where they were: with
the rest of the export. Pure Python, like the rest of the client.
"""

from __future__ import annotations

from phonecloud.client.import_messages import below_folder
from phonecloud.portability.archive import SourceFile

CONTACTS_FOLDER = "Contacts"
OLDER_VERSION_FOLDER = "vCard 3.0"  # what contacts/export.py names it (the client cannot import the server's)
VCARD_SUFFIX = ".vcf"


def split_contacts(files: list[SourceFile]) -> tuple[list[SourceFile], list[SourceFile]]:
    """(the .vcf files to send, the rest of the export): the vCard 4.0 files (and any other .vcf of the
    Contacts folder), else, when there is none, the vCard 3.0 ones."""
    rest: list[SourceFile] = []
    current: list[SourceFile] = []
    older: list[SourceFile] = []
    for source in files:
        parts = below_folder(source.path, CONTACTS_FOLDER)
        if parts is None or not parts[-1].lower().endswith(VCARD_SUFFIX) or parts[-1].startswith("."):
            rest.append(source)
        elif parts[0] == OLDER_VERSION_FOLDER and len(parts) > 1:
            older.append(source)
        else:
            current.append(source)
    return current or older, rest

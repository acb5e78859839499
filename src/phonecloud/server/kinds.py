"""The kinds of user data this server keeps, in the order their data is shown, exported and deleted.
A new kind adds one line here; everything else is in its own folder (see core/kinds.py)."""

from phonecloud.contacts.kind import KIND as CONTACTS
from phonecloud.gallery.kind import KIND as GALLERY
from phonecloud.messages.kind import KIND as MESSAGES

KINDS = (
    GALLERY,
    MESSAGES,
    CONTACTS,
)
# Where an upload goes when it names no destination (the sync client and tus clients of before).
DEFAULT_DESTINATION = GALLERY.name

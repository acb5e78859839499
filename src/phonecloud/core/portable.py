"""What a kind of data gives of a user's data for another phonecloud to import: shared by the server's kinds
(core.kinds) and the command-line client, which imports no server package (so: no SQLAlchemy here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PortableFile:
    """A user's data of a kind as one file that another phonecloud imports (messages and calls as SMS Backup &
    Restore files, contacts as one vCard 4.0 file), written only when asked: `write(path)` writes it whole
    and says how many records it holds, where it knows."""

    holds: str  # messages | calls | contacts
    write: Callable[[Path], int | None]

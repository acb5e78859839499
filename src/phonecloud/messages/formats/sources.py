"""What readers read from and writers write to: a path, or an open binary file the caller keeps."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import BinaryIO

Source = str | os.PathLike | BinaryIO


@contextlib.contextmanager
def opened(source: Source, mode: str = "rb") -> Iterator[BinaryIO]:
    """The file itself, or the path opened (and closed afterwards)."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, mode) as stream:
            yield stream
    else:
        yield source


def source_name(source: Source) -> str:
    """How errors name the file."""
    if isinstance(source, (str, os.PathLike)):
        return os.path.basename(os.fspath(source))
    name = getattr(source, "name", None)
    return os.path.basename(name) if isinstance(name, str) else "the file"

"""The one exception of the vCard reader: a file that is hostile or cannot be read, and the line where."""

from __future__ import annotations


class VCardError(ValueError):
    """What is wrong with a vCard file; `line` is the 1-based line it names (0 when no line applies)."""

    def __init__(self, line: int, problem: str):
        self.line = line
        self.problem = problem
        super().__init__(f"line {line}: {problem}" if line else problem)

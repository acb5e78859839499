"""The one exception of the formats: a file that cannot be read (further), with what is wrong and where."""

from __future__ import annotations


class FormatError(ValueError):
    """What is wrong with a file and where reading stopped: every record before `record` was read whole.

    `line` is the line of the file (of messages.ndjson in an SMS Import / Export archive) and `record` the
    1-based number of the record being read when reading stopped; either is None where it does not apply
    (an archive refused before its first record has neither)."""

    def __init__(self, problem: str, *, source: str | None = None, line: int | None = None,
                 record: int | None = None):
        self.problem = problem
        self.source = source
        self.line = line
        self.record = record
        super().__init__(self._describe())

    def located(self, *, source: str, line: int | None, record: int | None) -> FormatError:
        """The same problem placed where the reader stopped; a place the raiser already knew is kept."""
        return FormatError(self.problem, source=self.source or source, line=self.line or line,
                           record=self.record or record)

    def _describe(self) -> str:
        where = [f"line {self.line}"] if self.line else []
        if self.record:
            where.append(f"record {self.record}")
        text = f"{self.source}: " if self.source else ""
        text += f"{self.problem}"
        if where:
            text += f" (at {', '.join(where)})"
        if self.record:
            before = self.record - 1
            text += f"; the {before} record{'' if before == 1 else 's'} before it {'was' if before == 1 else 'were'} " \
                    "read whole"
        return text

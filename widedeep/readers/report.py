"""What a reader found wrong in a file: `BadLine`, the `BadLineError` raised for it, and the
`ReadReport` a reader fills while skipping bad lines (``skip_bad_lines=True``)."""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BadLine", "BadLineError", "ReadReport"]


@dataclass(frozen=True)
class BadLine:
    """One malformed record: ``line`` is the 1-based physical line where the record starts
    (a header counts as line 1); ``column`` the name of the column at fault and ``field``
    its 1-based position on the line (token position for libsvm/libffm), when known."""

    path: str
    line: int
    column: str | None
    reason: str
    field: int | None = None

    def __str__(self):
        where = f"{self.path}, line {self.line}"
        if self.column is not None:
            where += f", column {self.column!r}"
            if self.field is not None:
                where += f" (field {self.field})"
        elif self.field is not None:
            where += f", field {self.field}"
        return f"{where}: {self.reason}"


class BadLineError(ValueError):
    """A malformed record; ``str()`` names the file, line and column. ``.bad_line`` holds
    the structured `BadLine`."""

    def __init__(self, bad_line):
        super().__init__(str(bad_line))
        self.bad_line = bad_line


@dataclass
class ReadReport:
    """Counts for the most recent pass over a file (reset at the start of every pass).

    ``rows`` rows yielded; ``n_bad_lines`` records skipped; ``bad_lines`` the first
    ``max_kept`` of them (kept bounded so a badly broken large file cannot fill memory).
    """

    rows: int = 0
    n_bad_lines: int = 0
    bad_lines: list = field(default_factory=list)
    max_kept: int = 1000

    def add(self, bad_line):
        self.n_bad_lines += 1
        if len(self.bad_lines) < self.max_kept:
            self.bad_lines.append(bad_line)

    def __str__(self):
        lines = [f"{self.rows} rows read, {self.n_bad_lines} bad lines skipped"]
        lines += [f"  {b}" for b in self.bad_lines[:10]]
        if self.n_bad_lines > 10:
            lines.append(f"  ... and {self.n_bad_lines - 10} more")
        return "\n".join(lines)

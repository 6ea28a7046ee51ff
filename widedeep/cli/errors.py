"""`CliError`: a problem with the command's input, reported as one line (file, line,
column, what was expected) and a non-zero exit status, without a traceback."""
from __future__ import annotations

__all__ = ["CliError"]


class CliError(Exception):
    """An error the user can fix; ``str()`` is the whole message."""

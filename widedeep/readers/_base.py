"""What every file reader shares: opening (plain or gzip) text, turning decoding and
decompression failures into errors that name the file and line, checked constructor
arguments, the epoch counter behind re-iteration, and the per-pass `ReadReport`."""
from __future__ import annotations

import codecs
import contextlib
import gzip
import itertools
import numbers
import os
import zlib

from .report import BadLine, BadLineError, ReadReport
from .shuffle import epoch_rng, shuffle_buffer

__all__ = ["open_text", "read_errors", "chunks", "StreamReader"]

_COMPRESSION_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def _reading_encoding(encoding):
    """UTF-8 is read as ``utf-8-sig``: a byte-order mark at the start of the file is
    dropped (with or without a header line), never kept in the first cell."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(f"unknown text encoding {encoding!r}") from None
    return "utf-8-sig" if name == "utf-8" else encoding


def open_text(path, encoding, newline=None):
    """Open ``path`` for reading text; ``*.gz`` files are decompressed on the fly. Wrap
    the reading in `read_errors` to get errors that name the line."""
    encoding = _reading_encoding(encoding)
    if os.fspath(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding=encoding, newline=newline)
    return open(path, "r", encoding=encoding, newline=newline)


@contextlib.contextmanager
def read_errors(path, encoding):
    """Turn a ``UnicodeDecodeError`` or a damaged/truncated gzip stream met while reading
    ``path`` into a `BadLineError` (a ``ValueError``) naming the file and the line. These
    are never skipped by ``skip_bad_lines``: the rest of the file cannot be trusted."""
    try:
        yield
    except UnicodeDecodeError as error:
        line = _first_broken_line(path, encoding)
        raise BadLineError(BadLine(
            path, line, None, f"cannot decode the bytes as {encoding} ({error.reason}: "
            f"{error.object[error.start:error.end]!r}); give the file's encoding "
            f"(encoding=... in Python, --encoding on the command line; e.g. "
            f"'latin-1')")) from None
    except _COMPRESSION_ERRORS as error:
        line = _first_broken_line(path, encoding)
        raise BadLineError(BadLine(
            path, line, None, f"the compressed stream is truncated or damaged ({error}); "
            f"the file ends early")) from None


def _first_broken_line(path, encoding):
    """1-based number of the first line that cannot be decompressed or decoded (slow:
    only called to name the line of an error)."""
    decoder = codecs.getincrementaldecoder(_reading_encoding(encoding))()
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    number = 0
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                decoder.decode(raw)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return max(number, 1)
    except _COMPRESSION_ERRORS:
        return number + 1   # the line being read when the stream broke
    return number + 1


def chunks(iterable, size):
    """Lists of ``size`` consecutive items (the last one shorter)."""
    iterator = iter(iterable)
    while True:
        chunk = list(itertools.islice(iterator, size))
        if not chunk:
            return
        yield chunk


def check_positive_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral,)) \
            or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class StreamReader:
    """Base of the file readers: re-iterable, one pass per ``iter()``.

    Each ``iter(reader)`` starts a new pass (epoch) from the beginning of the file; the
    ``k``-th call (0-based) shuffles with ``epoch_rng(random_state, k)`` (see
    `widedeep.readers.shuffle`). `iter_epoch` replays a given epoch's order explicitly.
    """

    def __init__(self, path, *, batch_size, shuffle_buffer, random_state, skip_bad_lines,
                 encoding):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"no such file: {self.path}")
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.shuffle_buffer = check_positive_int("shuffle_buffer", shuffle_buffer, minimum=0)
        epoch_rng(random_state, 0)  # fail early on a bad random_state
        self.random_state = random_state
        self.skip_bad_lines = bool(skip_bad_lines)
        self.encoding = encoding
        self.report = ReadReport()
        self._next_epoch = 0

    def __iter__(self):
        epoch = self._next_epoch
        self._next_epoch += 1
        return self.iter_epoch(epoch)

    def iter_epoch(self, epoch):
        """Batches of pass number ``epoch`` (its shuffle order is fixed by
        ``random_state`` and ``epoch``)."""
        raise NotImplementedError

    def _shuffled(self, records, epoch):
        if self.shuffle_buffer > 1:
            return shuffle_buffer(records, self.shuffle_buffer,
                                  epoch_rng(self.random_state, epoch))
        return records

    @property
    def bad_lines(self):
        """Bad lines skipped in the most recent pass (the first ``report.max_kept``)."""
        return self.report.bad_lines

    @property
    def n_bad_lines(self):
        """Number of bad lines skipped in the most recent pass."""
        return self.report.n_bad_lines

"""What every file reader shares: opening (plain or gzip) text, checked constructor
arguments, the epoch counter behind re-iteration, and the per-pass `ReadReport`."""
from __future__ import annotations

import gzip
import itertools
import numbers
import os

from .report import ReadReport
from .shuffle import epoch_rng, shuffle_buffer

__all__ = ["open_text", "chunks", "StreamReader"]


def open_text(path, encoding, newline=None):
    """Open ``path`` for reading text; ``*.gz`` files are decompressed on the fly."""
    if os.fspath(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding=encoding, newline=newline)
    return open(path, "r", encoding=encoding, newline=newline)


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

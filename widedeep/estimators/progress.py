"""Training progress through `logging` (logger ``"widedeep"``).

With ``verbose >= 1`` the loop logs, at INFO, one line per finished epoch and, inside an
epoch that runs long, a progress line at most every ``interval`` seconds (rows done, ex/s,
ETA; for a stream the row total is the previous epoch's). With ``verbose=0`` it logs
nothing at INFO. If nothing would print the lines (no handler anywhere on the logger's
path), `verbose_output` attaches a stdout handler to ``"widedeep"`` for the duration of the
fit, so ``verbose=1`` shows the lines in a plain script as it always did; configure
``logging`` yourself to route them elsewhere.
"""
from __future__ import annotations

import contextlib
import logging
import sys
import time

__all__ = ["LOGGER", "verbose_output", "EpochProgress", "epoch_line"]

LOGGER = logging.getLogger("widedeep")


@contextlib.contextmanager
def verbose_output(verbose):
    """Within the block, INFO lines of ``"widedeep"`` reach stdout when ``verbose`` and no
    handler is configured; the logger is left as it was afterwards."""
    if not verbose or LOGGER.hasHandlers():
        yield
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    old_level = LOGGER.level
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    try:
        yield
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.setLevel(old_level)


class EpochProgress:
    """Progress lines inside one epoch: call `batch_done(rows)` after every batch.

    ``total_rows``: rows in the epoch (None: unknown); ``estimated``: the total is a guess
    (a stream's previous epoch). Logs nothing unless ``enabled``.
    """

    def __init__(self, epoch, total_rows, interval, enabled, estimated=False, clock=None):
        self.epoch = epoch
        self.total_rows = total_rows
        self.interval = interval
        self.enabled = enabled
        self.estimated = estimated
        self.clock = clock or time.perf_counter
        self.start = self.last = self.clock()
        self.rows = 0
        self.lines = 0

    def batch_done(self, rows):
        self.rows += rows
        if not self.enabled:
            return
        now = self.clock()
        if now - self.last < self.interval:
            return
        self.last = now
        self.lines += 1
        LOGGER.info(self.line(now))

    def line(self, now):
        seconds = now - self.start
        speed = self.rows / seconds if seconds > 0 else float("inf")
        parts = [f"epoch {self.epoch:>3}: {self.rows:,} rows"]
        if self.total_rows:
            approx = "~" if self.estimated else ""
            share = 100 * self.rows / self.total_rows
            parts[0] += f" of {approx}{self.total_rows:,} ({share:.0f}%)"
        parts.append(f"{speed:,.0f} ex/s")
        if self.total_rows and speed > 0 and self.rows < self.total_rows:
            parts.append(f"ETA {(self.total_rows - self.rows) / speed:,.0f} s")
        return "  ".join(parts)


def epoch_line(record):
    """The one-line summary of an epoch's `history_` record."""
    parts = [f"epoch {record['epoch']:>3}"]
    for key, value in record.items():
        if key in ("epoch", "examples", "seconds", "examples_per_second") \
                or not isinstance(value, float):
            continue
        parts.append(f"{key.replace('_', ' ')} {value:.4g}" if key.startswith("lr_")
                     else f"{key.replace('_', ' ')} {value:.4f}")
    parts.append(f"{record['examples_per_second']:,.0f} ex/s")
    parts.append(f"{record['seconds']:.2f} s")
    return "  ".join(parts)

"""Printing helpers shared by the examples: the per-epoch table and the side-by-side summary.

Both examples train the same three models (wide only, deep only, Wide & Deep) and print,
for each, one row per epoch from the estimator's ``history_`` (filled by
``fit(..., eval_set=...)``), then one summary row per model.
"""
from __future__ import annotations

import time

__all__ = ["print_title", "print_epoch_table", "print_summary", "Stopwatch"]


def print_title(text, file=None):
    print(f"\n## {text}", file=file, flush=True)


def print_epoch_table(history, eval_name="test", file=None):
    """One Markdown row per epoch of ``history`` (the estimator's ``history_``); the eval
    columns are labelled ``eval_name`` ("test", or "validation" while choosing settings)."""
    header = ("epoch", "train logloss", f"{eval_name} logloss", f"{eval_name} AUC",
              f"{eval_name} accuracy", "train ex/s")
    _print_row(header, file)
    _print_row(["---:"] * len(header), file)
    for record in history:
        _print_row([str(record["epoch"]), f"{record['train_logloss']:.4f}",
                    f"{record['eval_logloss']:.4f}", f"{record['eval_auc']:.4f}",
                    f"{record['eval_accuracy']:.4f}",
                    f"{record['examples_per_second']:,.0f}"], file)


def print_summary(results, eval_name="test", file=None):
    """``results``: ``{model name: {"auc", "logloss", "accuracy", "seconds"}}``."""
    header = ("model", f"{eval_name} AUC", f"{eval_name} logloss", f"{eval_name} accuracy",
              "train seconds")
    _print_row(header, file)
    _print_row(["---"] + ["---:"] * (len(header) - 1), file)
    for name, metrics in results.items():
        _print_row([name, f"{metrics['auc']:.4f}", f"{metrics['logloss']:.4f}",
                    f"{metrics['accuracy']:.4f}", f"{metrics['seconds']:.1f}"], file)


def _print_row(cells, file):
    print("| " + " | ".join(cells) + " |", file=file, flush=True)


class Stopwatch:
    """``with Stopwatch() as watch: ...`` then ``watch.seconds``."""

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc_info):
        self.seconds = time.perf_counter() - self._start
        return False

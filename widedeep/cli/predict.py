"""``widedeep predict MODEL --data new.csv --output scores.csv``: the model's prediction
for every row, streamed to a CSV file (``-`` for standard output) batch by batch, so files
of any size fit in memory; rows in file order. Columns: the ``--id-column`` values (if
asked), the ``logit`` (with ``--logit``; one per class for multiclass) and, by objective:

- binary: ``probability`` = P(label = positive);
- multiclass: ``class`` (the most probable label value) and ``p_<label>`` per class;
- regression: ``prediction``.
"""
from __future__ import annotations

import csv
import logging
import sys
import time

import numpy as np

from ..threads import limit_blas_threads
from ._project import ModelDirectory, add_data_arguments
from .errors import CliError

HELP = "score a file with a saved model, streaming probabilities to CSV"
logger = logging.getLogger("widedeep")


def add_arguments(parser):
    parser.add_argument("model", help="model directory written by widedeep train")
    parser.add_argument("--data", required=True, help="file to score")
    parser.add_argument("--output", required=True, help="output CSV file ('-': stdout)")
    parser.add_argument("--id-column", help="copy this column of the input to the output")
    parser.add_argument("--logit", action="store_true", help="write the logit as well")
    add_data_arguments(parser, label=False)


def run(args):
    directory = ModelDirectory(args.model)
    options = directory.options_for(args, args.data)
    if args.id_column and not options.is_table():
        raise CliError("--id-column needs a csv/tsv input")
    extra = [args.id_column] if args.id_column else []
    batches = directory.batches(options, args.data, args, with_labels=False,
                                extra_columns=extra)
    handle = sys.stdout if args.output == "-" else open(args.output, "w", newline="",
                                                          encoding="utf-8")
    rows, start, last_report = 0, time.perf_counter(), 0.0
    try:
        writer = csv.writer(handle)
        coding, model = directory.coding, directory.model
        writer.writerow(extra + _header(coding, args.logit))
        with limit_blas_threads(args.n_threads):
            for features, columns in batches:
                logits = model.predict_logit(features).astype(np.float64)
                out = _prediction_columns(coding, model, logits, args.logit)
                if extra:
                    out.insert(0, np.asarray(columns[args.id_column]).astype(str))
                writer.writerows(zip(*out))
                rows += logits.shape[0]
                elapsed = time.perf_counter() - start
                if elapsed - last_report > 5:
                    last_report = elapsed
                    logger.info("%d rows scored (%.0f rows/s)", rows, rows / elapsed)
    finally:
        if handle is not sys.stdout:
            handle.close()
    logger.info("%d rows scored in %.2f s -> %s", rows, time.perf_counter() - start,
                args.output)
    return 0


def _header(coding, with_logit):
    if coding.objective == "regression":
        return ["prediction"]
    if coding.objective == "multiclass":
        names = [_text(c) for c in coding.classes]
        return ((["logit_" + n for n in names] if with_logit else []) + ["class"]
                + ["p_" + n for n in names])
    return (["logit"] if with_logit else []) + ["probability"]


def _prediction_columns(coding, model, logits, with_logit):
    """The output columns of one batch as text arrays, in `_header`'s order."""
    if coding.objective == "regression":
        return [np.char.mod("%.6g", logits)]
    proba = model.loss_.link(logits)
    if coding.objective == "multiclass":
        labels = np.asarray([_text(c) for c in coding.classes])[np.argmax(logits, axis=1)]
        columns = [labels] + [np.char.mod("%.6g", p) for p in proba.T]
        if with_logit:
            columns = [np.char.mod("%.6g", z) for z in logits.T] + columns
        return columns
    columns = [np.char.mod("%.6g", proba)]
    if with_logit:
        columns.insert(0, np.char.mod("%.6g", logits))
    return columns


def _text(value):
    """A label value as written in a CSV cell (whole numbers without ``.0``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)

"""``widedeep predict MODEL --data new.csv --output scores.csv``: P(label = positive) of
every row, streamed to a CSV file (``-`` for standard output) batch by batch, so files
of any size fit in memory. Columns: the ``--id-column`` values (if asked) and
``probability``; rows in file order."""
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
        writer.writerow(extra + (["logit"] if args.logit else []) + ["probability"])
        with limit_blas_threads(args.n_threads):
            for features, columns in batches:
                logits = directory.model.predict_logit(features).astype(np.float64)
                proba = 1.0 / (1.0 + np.exp(-logits))
                out = [np.char.mod("%.6g", proba)]
                if args.logit:
                    out.insert(0, np.char.mod("%.6g", logits))
                if extra:
                    out.insert(0, np.asarray(columns[args.id_column]).astype(str))
                writer.writerows(zip(*out))
                rows += proba.shape[0]
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

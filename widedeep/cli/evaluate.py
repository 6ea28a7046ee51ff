"""``widedeep evaluate MODEL --data test.csv``: log-loss, AUC and accuracy of a saved model
on a labelled file (read the way the model's training file was), printed as JSON."""
from __future__ import annotations

import json
import logging

from ..threads import limit_blas_threads
from ._project import ModelDirectory, add_data_arguments

HELP = "evaluate a saved model on a labelled file (prints JSON metrics)"
logger = logging.getLogger("widedeep")


def add_arguments(parser):
    parser.add_argument("model", help="model directory written by widedeep train")
    parser.add_argument("--data", required=True, help="labelled file")
    add_data_arguments(parser)


def run(args):
    directory = ModelDirectory(args.model)
    options = directory.options_for(args, args.data)
    batches = directory.batches(options, args.data, args)
    with limit_blas_threads(args.n_threads):
        metrics = directory.model.evaluate(batches)
    logger.info("evaluated %s on %s", args.model, args.data)
    print(json.dumps({"data": args.data, **metrics}))
    return 0

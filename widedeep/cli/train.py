"""``widedeep train``: fit the feature spec and a model on a file, save both.

One pass reads the training file to fit the spec (vocabularies, moments, quantiles) and
learn the labels' coding for ``--objective`` (binary: the two values; multiclass: the
classes; regression: numbers as they are) and, for libsvm/libffm, the id range; then
``--epochs``
passes train the model, streaming (memory: a batch plus the shuffle buffer). A
``--valid`` file is evaluated after every epoch. The model directory holds the model, its
spec and ``cli.json`` (how to read files for it and what its labels mean).
"""
from __future__ import annotations

import json
import logging
import time

import numpy as np

from ..io import save_model
from ..threads import limit_blas_threads
from ._columns import build_spec, read_columns_argument
from ._data import peek_rows
from ._labels import MAX_CLASSES, OBJECTIVES, LabelCoding
from ._project import (UNION_FIELD, EncodedBatches, ModelDirectory, add_data_arguments,
                       data_options_from_args, sparse_transform)
from .errors import CliError

HELP = "train a model on a csv/tsv/libsvm/libffm file and save it"
logger = logging.getLogger("widedeep")

MAX_SPARSE_FEATURES = 2 ** 22     # default --max-features: tables of at most ~4.2M rows


def add_arguments(parser):
    parser.add_argument("--data", required=True, help="training file")
    parser.add_argument("--model", required=True, help="output model directory")
    parser.add_argument("--columns", default="auto",
                        help="FeatureSpec JSON file, a column-list file, comma-separated "
                             "entries, or 'auto' (csv/tsv; see widedeep.cli._columns)")
    parser.add_argument("--valid", help="validation file, evaluated after every epoch")
    parser.add_argument("--kind", choices=["wide", "deep", "wide_deep"], default="wide_deep",
                        help="which model (default wide_deep)")
    parser.add_argument("--objective", choices=list(OBJECTIVES), default="binary",
                        help="binary (two label values; default), multiclass (class "
                             "indices in sorted label order) or regression (numbers)")
    parser.add_argument("--positive", help="binary: the label value meaning 1 (default: the "
                                           "larger one)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--hidden-units", default="100,50",
                        help="deep layer widths, comma-separated")
    parser.add_argument("--embedding-dim", type=int, default=8,
                        help="embedding width for libsvm/libffm ids")
    parser.add_argument("--shuffle-buffer", type=int, default=10_000,
                        help="rows shuffled together while streaming (0: file order)")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--max-features", type=int, default=MAX_SPARSE_FEATURES,
                        help="libsvm/libffm without --field-ranges: the largest feature id "
                             "+ 1 sizes the tables, and may not exceed this (default "
                             f"{MAX_SPARSE_FEATURES:,}; a table row costs ~(20 + 8 * "
                             "embedding dim) bytes)")
    add_data_arguments(parser)


def run(args):
    if args.max_features < 1:
        raise CliError(f"--max-features must be >= 1, got {args.max_features}")
    options = data_options_from_args(args).resolved(args.data)
    hidden_units = tuple(int(h) for h in args.hidden_units.split(",") if h.strip())
    with limit_blas_threads(args.n_threads):
        if options.is_table():
            spec, numeric, coding, extra = _prepare_table(args, options)
            reader = options.table_reader(
                args.data, batch_size=args.batch_size, numeric=numeric,
                columns=_needed(spec, options), skip_bad_lines=args.skip_bad_lines)
            model = spec.build_estimator(args.kind, **_model_params(args, hidden_units, coding))
            transform = spec.transform
        else:
            spec, (coding, n_features) = None, _prepare_sparse(args, options)
            numeric, extra = [], {"n_features": n_features}
            reader = options.sparse_reader(args.data, batch_size=args.batch_size,
                                           n_features=n_features,
                                           skip_bad_lines=args.skip_bad_lines)
            model = _sparse_model(args, options, reader, n_features, hidden_units, coding)
            transform = sparse_transform(options.format)
        reader.shuffle_buffer = max(0, args.shuffle_buffer)
        reader.random_state = args.random_state
        train = EncodedBatches(reader, args.data, options, coding, transform)
        valid = None
        if args.valid:
            valid_options = options.resolved(args.valid)
            valid_reader = options.table_reader(args.valid, batch_size=args.batch_size,
                                                numeric=numeric,
                                                columns=_needed(spec, options),
                                                skip_bad_lines=args.skip_bad_lines) \
                if options.is_table() else options.sparse_reader(
                    args.valid, batch_size=args.batch_size, n_features=extra["n_features"],
                    skip_bad_lines=args.skip_bad_lines)
            valid = EncodedBatches(valid_reader, args.valid, valid_options, coding, transform)
        model.set_params(n_threads=args.n_threads)
        logger.info("training %s for %d epochs on %s", type(model).__name__, args.epochs,
                    args.data)
        start = time.perf_counter()
        model.fit(train, eval_set=valid)
        seconds = time.perf_counter() - start
    if reader.report.n_bad_lines:
        logger.warning("%s: %d bad lines skipped (last pass), first: %s", args.data,
                       reader.report.n_bad_lines, reader.report.bad_lines[0])
    save_model(model, args.model, spec=spec)
    ModelDirectory.write_info(args.model, options, coding,
                              {"numeric": sorted(numeric), "kind": args.kind, **extra})
    # the record of the epoch the model holds: the best one when early stopping restored it
    best = getattr(model, "best_epoch_", None)
    record = next((h for h in model.history_ if h["epoch"] == best), model.history_[-1])
    summary = {"model": args.model, "train_seconds": round(seconds, 3), "best_epoch": best,
               **record}
    print(json.dumps(summary))
    return 0


def _model_params(args, hidden_units, coding):
    params = {"epochs": args.epochs, "random_state": args.random_state,
              "verbose": 0 if args.quiet else 1, "objective": coding.objective}
    if coding.objective == "multiclass":
        params["n_classes"] = coding.n_classes
    if args.kind != "wide":
        params["hidden_units"] = hidden_units
    return params


def _needed(spec, options):
    names = [s for c in spec.columns for s in c.sources]
    names += [n for n in (options.label, options.weight) if n]
    return list(dict.fromkeys(names))


def _prepare_table(args, options):
    if options.label is None:
        raise CliError(f"{args.data}: pass --label (the column holding the labels)")
    sample = peek_rows(options, args.data)
    for name in (options.label, options.weight):
        if name is not None and name not in sample:
            raise CliError(f"{args.data}: column {name!r} is not in the file; its columns "
                           f"are {list(sample)[:40]}")
    kind, value = read_columns_argument(args.columns)
    exclude = {n for n in (options.label, options.weight) if n}
    spec, numeric = build_spec(kind, value, sample, model=args.kind, exclude=exclude)
    numeric = sorted(set(numeric) | ({options.weight} if options.weight else set()))
    reader = options.table_reader(args.data, batch_size=max(args.batch_size, 8192),
                                  numeric=numeric, columns=_needed(spec, options),
                                  skip_bad_lines=args.skip_bad_lines)
    label_values = _LabelValues(options.label, args.objective, args.data)
    logger.info("fitting the feature spec on %s", args.data)
    spec.fit(label_values.observe(batch) for batch in _named_errors(reader, args.data))
    coding = LabelCoding.learn(label_values.values(), args.positive, args.data,
                               args.objective)
    logger.info("spec fitted on %d rows; %s labels %s", spec.n_rows_seen_, args.objective,
                coding.classes if coding.classes is not None else "(numbers)")
    return spec, numeric, coding, {}


def _named_errors(reader, path):
    from ..readers.report import BadLineError
    try:
        yield from reader
    except BadLineError as error:
        raise CliError(str(error)) from None


class _LabelValues:
    """Distinct label values seen while fitting a classifier (bounded: more than
    `MAX_CLASSES` values is an error; a regression model collects none)."""

    def __init__(self, label, objective, path):
        self.label, self.objective, self.path, self.seen = label, objective, path, set()
        self.rows = 0

    def observe(self, batch):
        labels = batch[self.label] if isinstance(batch, dict) else batch[1]
        self.rows += len(labels)
        if self.objective == "regression":     # numbers only, checked in file order
            LabelCoding(None, True, "regression").encode(labels, self.path,
                                                         self.rows - len(labels) + 1)
            return batch
        self.seen.update(np.unique(np.asarray(labels)).tolist())
        if len(self.seen) > MAX_CLASSES:
            raise CliError(f"the label column has more than {MAX_CLASSES} distinct values; "
                           f"a {self.objective} model needs "
                           + ("two" if self.objective == "binary" else f"at most {MAX_CLASSES}")
                           + (" (--objective regression for numeric targets)"))
        return batch

    def values(self):
        return np.asarray(sorted(self.seen, key=str))


def _prepare_sparse(args, options):
    reader = options.sparse_reader(args.data, batch_size=max(args.batch_size, 8192),
                                   skip_bad_lines=args.skip_bad_lines)
    labels, largest, rows = _LabelValues(None, args.objective, args.data), -1, 0
    limit = None if options.field_ranges else args.max_features
    for features, y in _named_errors(reader, args.data):
        labels.observe((features, y))
        for field in features.values():
            if field.nnz:
                largest = max(largest, int(field.feature_ids.max()))
                if limit is not None and largest >= limit:
                    _refuse_large_id(field, limit, rows, args)
        rows += len(y)
    if options.format == "libffm":
        options.n_fields = len(reader.field_names)
    coding = LabelCoding.learn(labels.values(), args.positive, args.data, args.objective)
    if options.field_ranges:         # the ranges bound the ids (and give each field's size)
        return coding, None
    return coding, largest + 1


def _refuse_large_id(field, limit, rows_before, args):
    """The error for a feature id that would size the tables beyond ``--max-features``
    (a 30-byte file naming id 4e9 would otherwise allocate tens of GB)."""
    at = int(np.argmax(field.feature_ids >= limit))
    row = rows_before + int(field.example_indices[at]) + 1
    feature_id = int(field.feature_ids[at])
    raise CliError(f"{args.data}, data row {row}: feature id {feature_id:,} needs tables of "
                   f"{feature_id + 1:,} rows, more than --max-features {limit:,}; raise "
                   f"--max-features if the ids really go that high, or give --field-ranges")


def _sparse_model(args, options, reader, n_features, hidden_units, coding):
    from .. import estimators
    if options.format == "libsvm" and reader.field_ranges:
        # one field per id range: its own FTRL model and embedding table
        sizes = {name: stop - start for name, (start, stop) in reader.field_ranges.items()}
        deep = {"vocabularies": {name: (size, args.embedding_dim)
                                 for name, size in sizes.items()},
                "embedding_fields": {name: name for name in sizes}, "combiners": "sum"}
        params = _model_params(args, hidden_units, coding)
        if args.kind == "wide":
            return estimators.WideEstimator(sizes, **params)
        if args.kind == "deep":
            return estimators.DeepEstimator(**deep, **params)
        return estimators.WideDeepEstimator(sizes, **deep, **params)
    if options.format == "libsvm":
        fields = [reader.field]
        wide_field = reader.field
    else:
        fields = list(reader.field_names.values())
        wide_field = UNION_FIELD
    deep = {"vocabularies": {"ids": (n_features, args.embedding_dim)},
            "embedding_fields": {f: "ids" for f in fields}, "combiners": "sum"}
    params = _model_params(args, hidden_units, coding)
    if args.kind == "wide":
        return estimators.WideEstimator({wide_field: n_features}, **params)
    if args.kind == "deep":
        return estimators.DeepEstimator(**deep, **params)
    return estimators.WideDeepEstimator({wide_field: n_features}, **deep, **params)

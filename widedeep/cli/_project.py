"""What the subcommands share: the batch stream of a data file for a model, and the model
directory (the saved model and spec plus ``cli.json``: how its data files are read and
what its labels mean)."""
from __future__ import annotations

import codecs
import json
import logging
import os

import numpy as np

from ..inputs import SparseInput
from ..io import load_model, load_spec
from ..readers.report import BadLineError
from ._data import DataOptions
from ._labels import LabelCoding
from .errors import CliError

__all__ = ["EncodedBatches", "union_field", "ModelDirectory", "add_data_arguments",
           "data_options_from_args"]

logger = logging.getLogger("widedeep")
CLI_FILE = "cli.json"
UNION_FIELD = "ids"


def add_data_arguments(parser, *, label=True):
    """Options describing how to read a data file (shared by every subcommand)."""
    group = parser.add_argument_group("data format")
    group.add_argument("--format", choices=["csv", "tsv", "libsvm", "libffm"],
                       help="default: from the file name")
    group.add_argument("--delimiter", help="field separator of csv/tsv (default , or tab)")
    header = group.add_mutually_exclusive_group()
    header.add_argument("--header", dest="header", action="store_true", default=None,
                        help="the first line holds the column names (default: detected)")
    header.add_argument("--no-header", dest="header", action="store_false",
                        help="no header line (names from --names, else c0, c1, ...)")
    group.add_argument("--names", help="comma-separated column names of a csv/tsv file")
    group.add_argument("--encoding", default=None,
                       help="text encoding of the data files (default utf-8; e.g. latin-1)")
    if label:
        group.add_argument("--label", help="label column (csv/tsv)")
        group.add_argument("--weight", help="example-weight column (csv/tsv)")
    group.add_argument("--one-based", action="store_true",
                       help="libsvm/libffm ids start at 1")
    group.add_argument("--field-ranges",
                       help="libsvm/libfm files whose fields are consecutive id ranges: "
                            "name:size,... (e.g. user:957,item:4082,daytime:7) or "
                            "name:start-stop,...; each range becomes its own field")
    group.add_argument("--batch-size", type=int, default=1024, help="rows per batch")
    group.add_argument("--skip-bad-lines", action="store_true",
                       help="skip malformed lines (counted and reported) instead of stopping")
    group.add_argument("--n-threads", type=int, default=None,
                       help="BLAS threads (default 1; -1: every CPU; see widedeep.threads)")


def data_options_from_args(args):
    return DataOptions(format=args.format, delimiter=_unescape(args.delimiter),
                       header=args.header,
                       names=None if args.names is None else
                       [n.strip() for n in args.names.split(",")],
                       label=getattr(args, "label", None), weight=getattr(args, "weight", None),
                       zero_based=not args.one_based,
                       field_ranges=_field_ranges(args.field_ranges),
                       encoding=_encoding(args.encoding))


def _encoding(name):
    """The codec name ``name`` (None: utf-8) checked now, so that an unknown one is a
    one-line error rather than a failure in the middle of reading."""
    if name is None:
        return None
    try:
        codecs.lookup(name)
    except LookupError:
        raise CliError(f"--encoding: unknown text encoding {name!r} (e.g. utf-8, "
                       f"latin-1, cp1252)") from None
    return name


def _field_ranges(text):
    """``{name: [start, stop]}`` from ``name:size,...`` or ``name:start-stop,...``."""
    if not text:
        return None
    ranges, start = {}, 0
    for entry in text.split(","):
        name, sep, bound = entry.strip().partition(":")
        try:
            if "-" in bound:
                low, high = (int(x) for x in bound.split("-", 1))
            else:
                low, high = start, start + int(bound)
        except ValueError:
            raise CliError(f"--field-ranges: cannot read {entry!r} (expected name:size or "
                           f"name:start-stop)") from None
        if not sep or not name:
            raise CliError(f"--field-ranges: {entry!r} has no field name")
        ranges[name] = [low, high]
        start = high
    return ranges


def _unescape(delimiter):
    return {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)


def union_field(features):
    """One `SparseInput` holding every entry of every sparse field (libffm's global id
    space as one wide field), entries ordered by example."""
    fields = [f for f in features.values() if isinstance(f, SparseInput)]
    n = fields[0].n_examples
    rows = np.concatenate([f.example_indices for f in fields])
    order = np.argsort(rows, kind="stable")
    return SparseInput(rows[order], np.concatenate([f.feature_ids for f in fields])[order],
                       np.concatenate([f.feature_values for f in fields])[order],
                       n_examples=n, field=UNION_FIELD, dtype=fields[0].feature_values.dtype,
                       validate=False)


class EncodedBatches:
    """Re-iterable ``(features, labels[, weights])`` from a reader: labels coded for the
    model's objective by a `LabelCoding`, raw columns turned into features by ``transform``. An error in a batch
    is re-raised as a `CliError` naming the file and the rows."""

    def __init__(self, reader, path, options, coding, transform, with_labels=True):
        self.reader, self.path, self.options = reader, path, options
        self.coding, self.transform, self.with_labels = coding, transform, with_labels

    def __iter__(self):
        first_row = 1
        batches = iter(self.reader)
        while True:
            try:
                raw = next(batches)
            except StopIteration:
                return
            except BadLineError as error:
                raise CliError(str(error)) from None
            try:
                yield self.encode(raw, first_row)
            except (ValueError, TypeError) as error:
                n = _n_rows(raw)
                raise CliError(f"{self.path}, data rows {first_row}-{first_row + n - 1}: "
                               f"{error}") from None
            first_row += _n_rows(raw)

    def encode(self, raw, first_row=1):
        """``(features, labels[, weights])`` of one raw batch whose first row is data row
        ``first_row`` of the file (in file order; a shuffled stream's rows are approximate,
        which is why ``widedeep train`` checks the labels in its first, ordered pass)."""
        if isinstance(raw, tuple):           # libsvm / libffm: (features, labels)
            columns, labels = raw
            weights = None
        else:
            columns = dict(raw)
            labels = columns.pop(self.options.label, None) if self.options.label else None
            weights = columns.pop(self.options.weight, None) if self.options.weight else None
        features = self.transform(columns)
        if not self.with_labels:
            return features, columns
        if labels is None:
            raise CliError(f"{self.path}: no label column (pass --label)")
        y = self.coding.encode(labels, self.path, first_row)
        if weights is None:
            return features, y
        return features, y, np.asarray(weights, dtype=np.float64)


def _n_rows(raw):
    if isinstance(raw, tuple):
        return len(raw[1])
    first = next(iter(raw.values()))
    return len(first)


class ModelDirectory:
    """A model saved by ``widedeep train``: estimator, spec (csv/tsv) and ``cli.json``."""

    def __init__(self, path):
        self.path = os.fspath(path)
        info_file = os.path.join(self.path, CLI_FILE)
        if not os.path.isfile(info_file):
            raise CliError(f"{self.path}: not a model directory written by widedeep train "
                           f"({CLI_FILE} is missing)")
        with open(info_file, encoding="utf-8") as handle:
            self.info = json.load(handle)
        self.model = load_model(self.path)
        self.spec = load_spec(self.path) if self.info["options"]["format"] in ("csv", "tsv") \
            else None
        self.options = DataOptions.from_dict(self.info["options"])
        self.coding = LabelCoding.from_dict(self.info["labels"])

    @staticmethod
    def write_info(path, options, coding, extra):
        info = {"options": options.to_dict(), "labels": coding.to_dict(), **extra}
        with open(os.path.join(path, CLI_FILE), "w", encoding="utf-8") as handle:
            json.dump(info, handle, indent=1)

    def options_for(self, args, path):
        """The training data options, overridden by what this command line gives."""
        options = DataOptions.from_dict(self.info["options"])
        given = data_options_from_args(args)
        for key in ("format", "delimiter", "header", "names", "label", "weight",
                    "field_ranges", "encoding"):
            if getattr(given, key) is not None:
                setattr(options, key, getattr(given, key))
        return options.resolved(path)

    def batches(self, options, path, args, with_labels=True, extra_columns=()):
        """`EncodedBatches` over ``path`` for this model."""
        if options.is_table():
            needed = list(dict.fromkeys(
                [s for c in self.spec.columns for s in c.sources]
                + ([options.label] if with_labels and options.label else [])
                + ([options.weight] if with_labels and options.weight else [])
                + list(extra_columns)))
            reader = options.table_reader(path, batch_size=args.batch_size,
                                          numeric=self.info["numeric"], columns=needed,
                                          skip_bad_lines=args.skip_bad_lines,
                                          strings=list(extra_columns))
            transform = self.spec.transform
        else:
            reader = options.sparse_reader(path, batch_size=args.batch_size,
                                           n_features=self.info["n_features"],
                                           skip_bad_lines=args.skip_bad_lines)
            transform = sparse_transform(options.format)
        return EncodedBatches(reader, path, options, self.coding, transform, with_labels)


def sparse_transform(fmt):
    if fmt == "libffm":
        def transform(features):
            return {**features, UNION_FIELD: union_field(features)}
        return transform
    return dict

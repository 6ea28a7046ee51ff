"""Input files for the command line: format detection and readers (labels:
`widedeep.cli._labels`).

Formats: ``csv`` / ``tsv`` (any delimiter, with or without a header line; raw columns go
through a `FeatureSpec`), ``libsvm`` and ``libffm`` (sparse ids straight to model inputs).
The format comes from ``--format`` or the file name (``.csv``, ``.tsv``/``.txt``,
``.svm``/``.libsvm``, ``.ffm``/``.libffm``; a trailing ``.gz`` is ignored).
"""
from __future__ import annotations

import csv
import os

from ..readers import CsvReader, LibffmReader, LibsvmReader
from ..readers._base import open_text, read_errors
from .errors import CliError

__all__ = ["detect_format", "DataOptions", "peek_rows"]

TABLE_FORMATS = ("csv", "tsv")
SPARSE_FORMATS = ("libsvm", "libffm")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".svm": "libsvm",
               ".libsvm": "libsvm", ".ffm": "libffm", ".libffm": "libffm"}


def detect_format(path, given=None):
    if given:
        return given
    name = os.fspath(path)
    if name.endswith(".gz"):
        name = name[:-3]
    fmt = _EXTENSIONS.get(os.path.splitext(name)[1].lower())
    if fmt is None:
        raise CliError(f"{path}: cannot tell the format from the file name; pass --format "
                       f"(one of {', '.join(TABLE_FORMATS + SPARSE_FORMATS)})")
    return fmt


class DataOptions:
    """How to read the data files of one model (saved with it, so that ``evaluate`` and
    ``predict`` read their files the way ``train`` did)."""

    KEYS = ("format", "delimiter", "header", "names", "label", "weight", "zero_based",
            "n_fields", "field_ranges", "encoding")

    def __init__(self, format=None, delimiter=None, header=None, names=None, label=None,
                 weight=None, zero_based=True, n_fields=None, field_ranges=None,
                 encoding=None):
        self.format = format
        self.delimiter = delimiter
        self.header = header
        self.names = names
        self.label = label
        self.weight = weight
        self.zero_based = zero_based
        self.n_fields = n_fields
        self.field_ranges = field_ranges       # libsvm: {field: [start, stop]}
        self.encoding = encoding               # text encoding of the files, None: utf-8

    def to_dict(self):
        return {key: getattr(self, key) for key in self.KEYS}

    @classmethod
    def from_dict(cls, data):
        return cls(**{key: data.get(key) for key in cls.KEYS})

    # ------------------------------------------------------------------ resolving
    def resolved(self, path):
        """A copy with the format, delimiter, header and names filled in from ``path``."""
        out = DataOptions(**self.to_dict())
        out.format = detect_format(path, self.format)
        if out.format in TABLE_FORMATS:
            if out.delimiter is None:
                out.delimiter = "," if out.format == "csv" else "\t"
            if out.header is None:
                out.header = self.names is None and _looks_like_header(
                    path, out.delimiter, out.text_encoding)
            if out.names is None and not out.header:
                width = len(_first_record(path, out.delimiter, out.text_encoding))
                out.names = [f"c{k}" for k in range(width)]
        return out

    @property
    def text_encoding(self):
        return self.encoding or "utf-8"

    def is_table(self):
        return self.format in TABLE_FORMATS

    def table_reader(self, path, *, batch_size, numeric=(), columns=None,
                     skip_bad_lines=False, strings=()):
        """A `CsvReader`: columns in ``numeric`` parsed as float64, the rest as text."""
        dtypes = {name: "float64" for name in numeric if name not in strings}
        return CsvReader(path, batch_size=batch_size, names=self.names, header=self.header,
                         delimiter=self.delimiter, columns=columns, dtypes=dtypes,
                         skip_bad_lines=skip_bad_lines, encoding=self.text_encoding)

    def sparse_reader(self, path, *, batch_size, n_features=None, skip_bad_lines=False):
        if self.format == "libsvm":
            ranges = None if not self.field_ranges else \
                {name: tuple(bounds) for name, bounds in self.field_ranges.items()}
            return LibsvmReader(path, batch_size=batch_size, n_features=n_features,
                                field_ranges=ranges, zero_based=self.zero_based,
                                skip_bad_lines=skip_bad_lines,
                                encoding=self.text_encoding)
        return LibffmReader(path, batch_size=batch_size, n_fields=self.n_fields,
                            n_features=n_features, zero_based=self.zero_based,
                            skip_bad_lines=skip_bad_lines, encoding=self.text_encoding)


def _first_record(path, delimiter, encoding):
    with read_errors(path, encoding), open_text(path, encoding, newline="") as handle:
        for record in csv.reader(handle, delimiter=delimiter):
            if record:
                return record
    raise CliError(f"{path}: the file is empty")


def _looks_like_header(path, delimiter, encoding):
    """A first record whose cells are all distinct non-numeric names is a header; one of
    non-empty, non-numeric names with a name twice is refused (a header nobody can read
    by name), rather than silently read as a data row."""
    record = [cell.strip().lstrip("\ufeff") for cell in _first_record(path, delimiter, encoding)]
    if any(not cell for cell in record):
        return False
    for cell in record:
        try:
            float(cell)
            return False
        except ValueError:
            pass
    seen = set()
    for position, cell in enumerate(record, 1):
        if cell in seen:
            raise CliError(f"{path}, line 1, field {position}: the first line looks like a "
                           f"header, but the column name {cell!r} appears twice; rename "
                           f"it, or say --no-header (with --names) if line 1 is data")
        seen.add(cell)
    return True


def peek_rows(options, path, n_rows=2000):
    """The first ``n_rows`` rows of a table file, every column as text."""
    reader = options.table_reader(path, batch_size=n_rows)
    return next(iter(reader), None) or {}

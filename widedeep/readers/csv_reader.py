"""`CsvReader`: stream a delimited text file (CSV, TSV) as column batches.

The file is read in blocks of lines (about 256K characters, see
`widedeep.readers._csv_split`): a block without quote characters is split into fields
with array operations, any other block by Python's ``csv`` module (so quoted fields may
contain the delimiter, doubled quotes and newlines; ``\\n``, ``\\r\\n`` and a missing
final newline all work). Each wanted column of a block is then converted in one
vectorized NumPy call, shuffled (optionally) and re-cut into ``batch_size`` rows. Memory
is bounded by one block plus ``batch_size + shuffle_buffer`` rows, whatever the file
size.
"""
from __future__ import annotations

import csv
import logging

import numpy as np

from ._base import StreamReader, check_positive_int, open_text, read_errors
from ._csv_arrow import arrow_batches, have_pyarrow
from ._csv_cells import column_kind, parse_numbers, parse_strings
from ._csv_split import (DEFAULT_MAX_RECORD_LINES, read_preamble, split_csv_block,
                         split_plain_block, splits_plainly, text_blocks)
from .batching import batch_length, concat_batches, rebatch
from .report import BadLine, BadLineError, ReadReport
from .shuffle import epoch_rng, shuffle_rows

__all__ = ["CsvReader"]

logger = logging.getLogger("widedeep")


class CsvReader(StreamReader):
    """Stream column batches (``dict[str, np.ndarray]``) from a delimited text file.

    Parameters
    ----------
    path : str or PathLike
        The file; ``*.gz`` is decompressed on the fly.
    batch_size : int
        Rows per batch (the last batch of a pass may be smaller).
    names : list of str, optional
        Names of the file's columns in order. Required when ``header=False``.
    header : bool or None
        Whether the first record (after ``skip_rows``) holds the column names. ``None``
        (default): a header unless ``names`` is given, so ``CsvReader(path, names=[...])``
        reads every line as data. ``header=True`` together with ``names`` means "skip the
        header line and use ``names`` instead" (the counts must agree); when the skipped
        line differs from ``names`` a warning on the ``"widedeep"`` logger shows it, so
        no data row is dropped silently.
    columns : list of str, optional
        Columns to yield, in this order (default: all, in file order).
    engine : {"python", "arrow"}
        ``"python"`` (default): the built-in parser, exact bad-line reports.
        ``"arrow"`` (extra ``widedeep[arrow]``): pyarrow splits the file and parses the
        numbers, on background threads, giving the same batches several times faster;
        bad-line numbers count records (exact when every record is one line and no
        line is blank), and ``max_record_lines`` is not enforced (see
        `widedeep.readers._csv_arrow`).
    label : str, optional
        A column to yield separately: batches become ``(columns, labels)`` pairs, the
        form `FeatureSpec.batches` and the estimators take. The label column is parsed as
        ``float64`` unless ``dtypes`` says otherwise (e.g. ``{"income": "str"}``).
    dtypes : dict[str, dtype], optional
        Per-column kind: ``"str"`` (default for unlisted columns, see ``default_dtype``), a
        float dtype (missing -> NaN) or an integer dtype (a missing value is a bad cell).
    default_dtype : dtype or "str"
        Kind of the columns not in ``dtypes``.
    delimiter : str
        Field separator, e.g. ``"\\t"`` for TSV.
    quotechar : str or None
        Quote character; ``None`` turns quoting off (quotes are ordinary characters).
    na_values : iterable of str
        Cell contents that mean "missing" (compared after ``strip``).
    string_na : str or None
        What a missing string cell becomes: ``""`` (default; the column stays a compact
        NumPy unicode array) or ``None`` (the column becomes an object array).
    strip : bool
        Strip surrounding whitespace from every cell (e.g. the raw UCI Adult files, whose
        fields are separated by ``", "``).
    skip_rows : int
        Records to skip before the header / first data row.
    skip_bad_lines : bool
        If False (default) a malformed record raises `BadLineError` (a ``ValueError``)
        naming the file, line and column. If True it is skipped and recorded in
        ``reader.report`` (``n_bad_lines``, ``bad_lines``) for that pass.
    shuffle_buffer : int
        0 or 1 keep file order; ``k > 1`` shuffles records through a buffer of ``k`` (see
        `widedeep.readers.shuffle.shuffle_buffer`; `~widedeep.readers.shuffle.shuffle_rows`
        gives that order a block of rows at a time).
    random_state : None, int or numpy Generator
        Shuffle seed; pass ``k`` uses ``default_rng([random_state, k])``.
    encoding : str
        Text encoding of the file. A UTF-8 byte-order mark is dropped. Bytes that do not
        decode, and a truncated or damaged ``.gz`` file, raise `BadLineError` naming the
        line (even with ``skip_bad_lines=True``).
    max_record_lines : int
        Physical lines a quoted field may span (default 100). A quote still open after
        that many lines, or at the end of the file, is an unclosed quote: a bad line at
        the line where the quote opened (raised, or skipped and counted), and reading
        resumes on the next line, so a stray quote never swallows the lines after it.

    Notes
    -----
    Blank lines are skipped. Line numbers in errors are 1-based physical lines (a header
    is line 1; a record spanning several lines is reported at its first line). Bad lines
    are raised or recorded in file order; the rows of a block read before a raised bad
    line are not yielded. A bad record spanning several lines (an open quote) is reported
    at its first line and the following lines are read again as records of their own.
    A string column of a block whose fixed-width array would exceed 64 MB (one very long
    cell) is returned as an object array of ``str`` instead.

    Examples
    --------
    >>> reader = CsvReader("train.csv", batch_size=4096,   # doctest: +SKIP
    ...                    dtypes={"age": "float64", "hours_per_week": "float64"})
    >>> for batch in reader:          # doctest: +SKIP
    ...     batch["age"]              # float64 [<= 4096], NaN where missing
    """

    def __init__(self, path, *, batch_size=1024, names=None, header=None, columns=None,
                 label=None, engine="python",
                 dtypes=None, default_dtype="str", delimiter=",", quotechar='"',
                 na_values=("", "?"), string_na="", strip=False, skip_rows=0,
                 skip_bad_lines=False, shuffle_buffer=0, random_state=None,
                 encoding="utf-8", max_record_lines=DEFAULT_MAX_RECORD_LINES):
        super().__init__(path, batch_size=batch_size, shuffle_buffer=shuffle_buffer,
                         random_state=random_state, skip_bad_lines=skip_bad_lines,
                         encoding=encoding)
        self.header = names is None if header is None else bool(header)
        if engine not in ("python", "arrow"):
            raise ValueError(f"engine must be 'python' or 'arrow', got {engine!r}")
        if engine == "arrow" and not have_pyarrow():
            raise ImportError("CsvReader(engine='arrow') needs pyarrow: pip install "
                              "'widedeep[arrow]'")
        self.engine = engine
        self.delimiter = delimiter
        self.quotechar = quotechar
        self.na_values = tuple(na_values)
        if string_na is not None and not isinstance(string_na, str):
            raise TypeError(f"string_na must be a str or None, got {string_na!r}")
        self.string_na = string_na
        self.strip = bool(strip)
        self.skip_rows = int(skip_rows)
        self.max_record_lines = check_positive_int("max_record_lines", max_record_lines)
        if names is None and not self.header:
            raise ValueError(f"{self.path}: a file without a header needs names=[...]")
        file_header = self._read_header() if self.header else None
        if names is None:
            names = file_header
        names = [str(n) for n in names]
        if file_header is not None and len(file_header) != len(names):
            raise ValueError(f"{self.path}: {len(names)} names given but the header has "
                             f"{len(file_header)} columns")
        if file_header is not None and file_header != names:
            logger.warning("%s: header=True with names=: skipping the first line %s and "
                           "naming the columns %s", self.path, file_header[:8], names[:8])
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"{self.path}: duplicate column names {duplicates}")
        self.names = names
        self._position = {n: i for i, n in enumerate(names)}
        self.columns = list(names) if columns is None else list(columns)
        if label is not None:
            label = str(label)
            self._check_known("label", [label])
            self.columns = [c for c in self.columns if c != label] + [label]
        self.label = label
        if not self.columns:
            raise ValueError(f"{self.path}: columns must name at least one column")
        self._check_known("columns", self.columns)
        dtypes = dict(dtypes or {})
        if label is not None:
            dtypes.setdefault(label, "float64")
        self._check_known("dtypes", dtypes)
        self.dtypes = dtypes
        self.default_dtype = default_dtype
        self._kinds = {n: column_kind(n, dtypes.get(n, default_dtype)) for n in self.columns}

    # ------------------------------------------------------------------ public
    def iter_epoch(self, epoch):
        report = ReadReport()
        self.report = report
        if self.engine == "arrow":
            batches = arrow_batches(self, report)
        else:
            batches = (self._convert(block, report) for block in self._blocks(report))
        if self.shuffle_buffer > 1:
            batches = shuffle_rows(batches, self.shuffle_buffer,
                                   epoch_rng(self.random_state, epoch))
        for batch in rebatch(batches, self.batch_size):
            report.rows += batch_length(batch)
            if self.label is None:
                yield batch
            else:
                labels = batch.pop(self.label)
                yield batch, labels

    def read(self, epoch=0):
        """All rows of one pass as a single column batch (for files that fit in memory);
        with ``label``, a ``(columns, labels)`` pair."""
        batches = list(self.iter_epoch(epoch))
        if self.label is not None:
            if not batches:
                empty = self._empty()
                return empty, empty.pop(self.label)
            return (concat_batches([columns for columns, _ in batches]),
                    np.concatenate([labels for _, labels in batches]))
        return concat_batches(batches) if batches else self._empty()

    def _empty(self):
        return {n: np.asarray([], dtype=np.str_ if k is str else k)
                for n, k in self._kinds.items()}

    def __repr__(self):
        return (f"CsvReader({self.path!r}, batch_size={self.batch_size}, "
                f"columns={len(self.columns)}, shuffle_buffer={self.shuffle_buffer})")

    # ------------------------------------------------------------------ records
    def _csv_options(self):
        if self.quotechar is None:
            return dict(delimiter=self.delimiter, quoting=csv.QUOTE_NONE)
        # strict: text after a closing quote (``"ab"c``) is an error, not glued on, so a
        # stray quote that opens a field is found where the next quote closes it
        return dict(delimiter=self.delimiter, quotechar=self.quotechar, strict=True)

    def _csv_reader(self, handle):
        return csv.reader(handle, **self._csv_options())

    def _read_header(self):
        with open_text(self.path, self.encoding, newline="") as handle, \
                read_errors(self.path, self.encoding):
            header, _ = self._preamble(handle)
        if header is None:
            raise ValueError(f"{self.path}: the file is empty, expected a header line")
        return [name.strip() for name in header]

    def _preamble(self, handle):
        """``(header record or None, physical lines spanned)`` of the ``skip_rows``
        records and the header line at the start of ``handle``."""
        return read_preamble(handle, self.skip_rows, self.header, self._csv_options(),
                             self.max_record_lines, self.path)

    def _check_known(self, what, names):
        unknown = [n for n in names if n not in self._position]
        if unknown:
            raise ValueError(f"{self.path}: {what}= asks for column(s) {unknown} that the "
                             f"file does not have; its columns are {self.names}")

    def _blocks(self, report):
        """`FieldBlock`s of the data records (after ``skip_rows`` and the header)."""
        positions = [self._position[name] for name in self.columns]
        with open_text(self.path, self.encoding, newline="") as handle, \
                read_errors(self.path, self.encoding):
            _, lines_done = self._preamble(handle)
            for block in text_blocks(handle):
                if splits_plainly(block, self.quotechar):
                    fields = split_plain_block(block, lines_done + 1, len(self.names),
                                               positions, self.delimiter, self.path,
                                               self.names)
                else:
                    fields = split_csv_block(block, lines_done + 1, handle,
                                             self._csv_options(), positions, self.path,
                                             self.names, self.max_record_lines)
                lines_done += fields.n_lines
                yield fields

    def _bad(self, report, bad_line):
        if not self.skip_bad_lines:
            raise BadLineError(bad_line)
        report.add(bad_line)

    # ------------------------------------------------------------------ conversion
    def _convert(self, block, report):
        """Column batch from a `FieldBlock`; a bad record (wrong field count, CSV error
        or unparsable cell) either raises (the first one in file order) or drops its
        row."""
        batch, bad = {}, {}
        for name in self.columns:
            text = block.texts[self._position[name]]
            kind = self._kinds[name]
            if kind is str:
                batch[name] = parse_strings(text, self.na_values, self.string_na, self.strip)
            else:
                values, bad_cells = parse_numbers(text, kind, self.na_values, self.strip)
                batch[name] = values
                for row, reason in bad_cells:
                    bad.setdefault(row, (name, reason))
        bad_cells = [BadLine(self.path, int(block.lines[row]), name, reason,
                             field=self._position[name] + 1)
                     for row, (name, reason) in bad.items()]
        for bad_line in sorted(block.bad_lines + bad_cells, key=lambda b: b.line):
            self._bad(report, bad_line)
        if not bad:
            return batch
        keep = np.ones(len(block.lines), dtype=bool)
        keep[list(bad)] = False
        return {name: column[keep] for name, column in batch.items()}

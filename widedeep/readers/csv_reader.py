"""`CsvReader`: stream a delimited text file (CSV, TSV) as column batches.

Records are split by Python's ``csv`` module (so quoted fields may contain the delimiter,
doubled quotes and newlines; ``\\n``, ``\\r\\n`` and a missing final newline all work) and
collected ``batch_size`` at a time; each column of a batch is then converted in one
vectorized NumPy call. Memory is bounded by ``batch_size + shuffle_buffer`` records,
whatever the file size.
"""
from __future__ import annotations

import csv
from itertools import chain

import numpy as np

from ._base import StreamReader, chunks, open_text
from .batching import batch_length, concat_batches, rebatch
from .report import BadLine, BadLineError, ReadReport

__all__ = ["CsvReader"]

_STRING_NAMES = {"str", "string", "object", "U"}


def _column_kind(name, dtype):
    """``str`` for a string column, else the NumPy numeric dtype."""
    if dtype is str or dtype is object or (isinstance(dtype, str) and dtype in _STRING_NAMES):
        return str
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.kind not in "fiu":
        raise ValueError(f"column {name!r}: dtype must be a float or integer dtype or 'str', "
                         f"got {dtype!r}")
    return resolved


def _parses_as_float(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


class CsvReader(StreamReader):
    """Stream column batches (``dict[str, np.ndarray]``) from a delimited text file.

    Parameters
    ----------
    path : str or PathLike
        The file; ``*.gz`` is decompressed on the fly.
    batch_size : int
        Rows per batch (the last batch of a pass may be smaller).
    names : list of str, optional
        Names of the file's columns in order. Required when ``header=False``; with a header
        they replace the header's names (the counts must agree).
    header : bool
        Whether the first record (after ``skip_rows``) holds the column names.
    columns : list of str, optional
        Columns to yield, in this order (default: all, in file order).
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
        `widedeep.readers.shuffle.shuffle_buffer`).
    random_state : None, int or numpy Generator
        Shuffle seed; pass ``k`` uses ``default_rng([random_state, k])``.
    encoding : str
        Text encoding of the file.

    Notes
    -----
    Blank lines are skipped. Line numbers in errors are 1-based physical lines (a header
    is line 1; a record spanning several lines is reported at its first line).

    Examples
    --------
    >>> reader = CsvReader("train.csv", batch_size=4096,   # doctest: +SKIP
    ...                    dtypes={"age": "float64", "hours_per_week": "float64"})
    >>> for batch in reader:          # doctest: +SKIP
    ...     batch["age"]              # float64 [<= 4096], NaN where missing
    """

    def __init__(self, path, *, batch_size=1024, names=None, header=True, columns=None,
                 dtypes=None, default_dtype="str", delimiter=",", quotechar='"',
                 na_values=("", "?"), string_na="", strip=False, skip_rows=0,
                 skip_bad_lines=False, shuffle_buffer=0, random_state=None,
                 encoding="utf-8"):
        super().__init__(path, batch_size=batch_size, shuffle_buffer=shuffle_buffer,
                         random_state=random_state, skip_bad_lines=skip_bad_lines,
                         encoding=encoding)
        self.header = bool(header)
        self.delimiter = delimiter
        self.quotechar = quotechar
        self.na_values = tuple(na_values)
        self._numeric_na_token = any(_parses_as_float(t) for t in self.na_values)
        if string_na is not None and not isinstance(string_na, str):
            raise TypeError(f"string_na must be a str or None, got {string_na!r}")
        self.string_na = string_na
        self.strip = bool(strip)
        self.skip_rows = int(skip_rows)
        if names is None and not self.header:
            raise ValueError(f"{self.path}: a file without a header needs names=[...]")
        file_header = self._read_header() if self.header else None
        if names is None:
            names = file_header
        names = [str(n) for n in names]
        if file_header is not None and len(file_header) != len(names):
            raise ValueError(f"{self.path}: {len(names)} names given but the header has "
                             f"{len(file_header)} columns")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"{self.path}: duplicate column names {duplicates}")
        self.names = names
        self._position = {n: i for i, n in enumerate(names)}
        self.columns = list(names) if columns is None else list(columns)
        if not self.columns:
            raise ValueError(f"{self.path}: columns must name at least one column")
        self._check_known("columns", self.columns)
        dtypes = dict(dtypes or {})
        self._check_known("dtypes", dtypes)
        self.dtypes = dtypes
        self.default_dtype = default_dtype
        self._kinds = {n: _column_kind(n, dtypes.get(n, default_dtype)) for n in self.columns}

    # ------------------------------------------------------------------ public
    def iter_epoch(self, epoch):
        report = ReadReport()
        self.report = report
        records = self._shuffled(self._records(report), epoch)
        batches = (self._convert(chunk, report) for chunk in chunks(records, self.batch_size))
        for batch in rebatch(batches, self.batch_size):
            report.rows += batch_length(batch)
            yield batch

    def read(self, epoch=0):
        """All rows of one pass as a single column batch (for files that fit in memory)."""
        batches = list(self.iter_epoch(epoch))
        if batches:
            return concat_batches(batches)
        return {n: np.asarray([], dtype=np.str_ if k is str else k)
                for n, k in self._kinds.items()}

    def __repr__(self):
        return (f"CsvReader({self.path!r}, batch_size={self.batch_size}, "
                f"columns={len(self.columns)}, shuffle_buffer={self.shuffle_buffer})")

    # ------------------------------------------------------------------ records
    def _csv_reader(self, handle):
        if self.quotechar is None:
            return csv.reader(handle, delimiter=self.delimiter, quoting=csv.QUOTE_NONE)
        return csv.reader(handle, delimiter=self.delimiter, quotechar=self.quotechar)

    def _read_header(self):
        with open_text(self.path, self.encoding, newline="") as handle:
            reader = self._csv_reader(handle)
            skipped = 0
            for record in reader:
                if skipped < self.skip_rows:
                    skipped += 1
                    continue
                if record:
                    if record[0].startswith("\ufeff"):
                        record[0] = record[0][1:]
                    return [name.strip() for name in record]
        raise ValueError(f"{self.path}: the file is empty, expected a header line")

    def _check_known(self, what, names):
        unknown = [n for n in names if n not in self._position]
        if unknown:
            raise ValueError(f"{self.path}: {what} names unknown column(s) {unknown}; the "
                             f"file's columns are {self.names}")

    def _records(self, report):
        """``(line_number, fields)`` for every well-formed data record."""
        n_fields = len(self.names)
        with open_text(self.path, self.encoding, newline="") as handle:
            reader = self._csv_reader(handle)
            lines_done = 0
            rows_to_skip, header_pending = self.skip_rows, self.header
            while True:
                line = lines_done + 1
                try:
                    record = next(reader)
                except StopIteration:
                    return
                except csv.Error as error:
                    lines_done = reader.line_num
                    self._bad(report, BadLine(self.path, line, None, f"CSV error: {error}"))
                    continue
                lines_done = reader.line_num
                if rows_to_skip:
                    rows_to_skip -= 1
                    continue
                if not record:
                    continue
                if header_pending:
                    header_pending = False
                    continue
                if len(record) != n_fields:
                    self._bad(report, self._field_count_error(line, len(record)))
                    continue
                yield line, record

    def _field_count_error(self, line, found):
        expected = len(self.names)
        if found < expected:
            name = self.names[found]
            return BadLine(self.path, line, name,
                           f"expected {expected} fields, found {found}; column {name!r} "
                           f"and after are missing", field=found + 1)
        return BadLine(self.path, line, None,
                       f"expected {expected} fields, found {found}; unexpected field after "
                       f"the last column {self.names[-1]!r}", field=expected + 1)

    def _bad(self, report, bad_line):
        if not self.skip_bad_lines:
            raise BadLineError(bad_line)
        report.add(bad_line)

    # ------------------------------------------------------------------ conversion
    def _convert(self, chunk, report):
        """Column batch from a list of ``(line, fields)``; bad cells either raise or drop
        their row."""
        line_numbers, records = zip(*chunk)
        # one flat list and strided slices: cheaper than transposing with zip(*records)
        flat = list(chain.from_iterable(records))
        n_fields = len(self.names)
        batch, bad = {}, {}
        for name in self.columns:
            cells = flat[self._position[name]::n_fields]
            kind = self._kinds[name]
            if kind is str:
                batch[name] = self._strings(cells)
            else:
                values, bad_cells = self._numbers(cells, kind)
                batch[name] = values
                for row, reason in bad_cells:
                    bad.setdefault(row, (name, reason))
        if not bad:
            return batch
        bad_lines = sorted((line_numbers[row], name, reason, row)
                           for row, (name, reason) in bad.items())
        for line, name, reason, _ in bad_lines:
            self._bad(report, BadLine(self.path, line, name, reason,
                                      field=self._position[name] + 1))
        keep = np.ones(len(records), dtype=bool)
        keep[[row for *_, row in bad_lines]] = False
        return {name: column[keep] for name, column in batch.items()}

    def _cells(self, cells):
        """Cells as a unicode array (stripped if asked) and the missing-value mask."""
        text = np.asarray(cells, dtype=np.str_)
        if self.strip:
            text = np.char.strip(text)
        missing = np.zeros(text.shape[0], dtype=bool)
        for token in self.na_values:
            missing |= text == token
        return text, missing

    def _strings(self, cells):
        if self.string_na is None:
            values = np.array([c.strip() for c in cells] if self.strip else cells,
                              dtype=object)
            values[np.isin(values, self.na_values)] = None
            return values
        text, missing = self._cells(cells)
        if missing.any():
            text = np.where(missing, self.string_na, text)
        return text

    def _numbers(self, cells, dtype):
        """``(values, [(row, reason), ...])``: parsed column and its unparsable cells."""
        if dtype.kind == "f" and not self._numeric_na_token:
            try:  # fast path: no missing cell at all
                return np.asarray(cells, dtype=dtype), []
            except ValueError:
                pass
        text, missing = self._cells(cells)
        if dtype.kind == "f":
            try:
                return np.where(missing, "nan", text).astype(dtype), []
            except ValueError:
                pass
        elif not missing.any():
            try:
                return text.astype(dtype), []
            except (ValueError, OverflowError):
                pass
        # slow path, only for a batch that holds a bad cell: find every one
        parse = float if dtype.kind == "f" else int
        values = np.zeros(text.shape[0], dtype=dtype)
        bad = []
        for row, cell in enumerate(text.tolist()):
            if missing[row]:
                if dtype.kind == "f":
                    values[row] = np.nan
                else:
                    bad.append((row, f"missing value in integer column (cell {cell!r})"))
                continue
            try:
                values[row] = parse(cell)
            except (ValueError, OverflowError):
                kind = "a number" if dtype.kind == "f" else "an integer"
                bad.append((row, f"cannot parse {cell!r} as {kind}"))
        return values, bad

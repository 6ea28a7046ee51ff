"""`CsvReader(engine="arrow")`: pyarrow splits the file and parses the numbers; widedeep
converts the text cells.

pyarrow's C++ CSV parser does the splitting (quotes, quoted newlines, blank lines) and
hands each block's string columns over as Arrow strings, which
`widedeep.readers._arrow_strings` turns into the built-in engine's arrays (straight from
Arrow's buffers for ASCII text; otherwise through the built-in engine's own conversion of
the block's distinct texts). Numeric columns are parsed by pyarrow itself
(float64/int64, missing tokens as nulls, then narrowed to the column's dtype). Where
pyarrow refuses a cell, an integer is missing or a number does not fit its dtype, the
file is read again with the numbers as text, converted by the built-in engine's
functions (which name the bad cells), skipping the rows already yielded. The batches are
those of the built-in engine (tested on real files and on random tricky cells).

Three threads: pyarrow parses block k + 1 while block k is converted and cut into the
reader's ``batch_size`` batches and the caller uses the batches before them
(`widedeep.read_ahead.ReadAhead`, at most three items ahead per stage); the batches, the
bad-line reports and the errors come in the order one thread would give, though
``reader.report`` may already hold the bad lines of a block not yet yielded.

Text that is not valid UTF-8 (pyarrow is told not to check it; the conversion does, see
`widedeep.readers._arrow_strings`) raises the built-in engine's error, naming the line.

Differences, documented in `CsvReader`: line numbers in bad-line reports count records,
not physical lines (pyarrow numbers the records it skips that way, and an unparsable
cell's line is header lines + records before it), so they are exact when every record
is one line and no line is blank; a field-count error does not name the column;
``max_record_lines`` is not enforced.
"""
from __future__ import annotations

import numpy as np

from ..read_ahead import ReadAhead
from ._arrow_strings import InvalidText, block_strings, check_text
from ._base import open_text, read_errors
from ._csv_cells import parse_numbers
from .batching import batch_length, rebatch, slice_batch
from .report import BadLine, BadLineError

__all__ = ["arrow_batches", "have_pyarrow"]


def have_pyarrow():
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


def arrow_batches(reader, report, block_bytes=1 << 20):
    """Column batches of ``reader`` (a `CsvReader`) read by pyarrow (see module).

    First pass: pyarrow also parses the numeric columns (typed float64/int64, the missing
    tokens as nulls), the cheapest path. Any cell it cannot parse, a missing integer or a
    number outside a narrow dtype's range stops that pass; the file is then read again
    with every numeric column as text and converted by the built-in engine's functions,
    which name the bad cells, and the rows already yielded are skipped (bad lines already
    reported are not reported twice)."""
    with read_errors(reader.path, reader.encoding):
        rows_done, lines_reported = 0, set()
        if any(reader._kinds[name] is not str for name in reader.columns):
            try:
                for batch in _arrow_pass(reader, report, block_bytes, typed=True,
                                         lines_reported=lines_reported):
                    yield batch
                    rows_done += batch_length(batch)
                return
            except _NeedsExactPath:
                pass                # the exact pass judges (and names) the cell
        yield from _skip_rows(_arrow_pass(reader, report, block_bytes, typed=False,
                                          lines_reported=lines_reported), rows_done)


class _NeedsExactPath(Exception):
    """A typed pass met a value that only the exact conversion can judge."""


def _skip_rows(batches, n_rows):
    """``batches`` without their first ``n_rows`` rows."""
    for batch in batches:
        n = batch_length(batch)
        if n_rows >= n:
            n_rows -= n
            continue
        yield slice_batch(batch, n_rows, n) if n_rows else batch
        n_rows = 0


def _arrow_pass(reader, report, block_bytes, typed, lines_reported):
    """One read of the file by pyarrow: numeric columns parsed by pyarrow (``typed``,
    may raise `_NeedsExactPath` or ``ArrowInvalid``) or as text for the exact functions.

    pyarrow parses the next block on one background thread while the block before it is
    converted on another (`ReadAhead`), so parsing, conversion and the caller's work
    overlap; batches, bad-line reports and errors come in file order all the same."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header_lines = reader.skip_rows + (1 if reader.header else 0)
    pending, skipped = [], []   # records with a wrong field count: to raise / skipped

    def invalid_row(row):       # called by pyarrow, on the parsing thread
        # row.number: the record's 1-based number in the file, blank lines not counted
        # (known because pyarrow parses on one thread, use_threads=False)
        line = row.number if row.number is not None else -1
        bad = BadLine(reader.path, line, None,
                      f"expected {row.expected_columns} fields, found {row.actual_columns}")
        (skipped if reader.skip_bad_lines else pending).append(bad)
        return "skip" if reader.skip_bad_lines else "error"

    read_options = pacsv.ReadOptions(column_names=reader.names, skip_rows=header_lines,
                                     block_size=block_bytes, use_threads=False,
                                     encoding=reader.encoding)
    parse_options = pacsv.ParseOptions(delimiter=reader.delimiter,
                                       quote_char=reader.quotechar or False,
                                       newlines_in_values=True, ignore_empty_lines=True,
                                       invalid_row_handler=invalid_row)

    def arrow_type(kind):
        if kind is str or not typed:
            return pa.string()
        return pa.float64() if kind.kind == "f" else pa.int64()

    convert_options = pacsv.ConvertOptions(
        include_columns=list(reader.columns),
        column_types={name: arrow_type(reader._kinds[name]) for name in reader.columns},
        strings_can_be_null=False, quoted_strings_can_be_null=False,
        null_values=list(reader.na_values) if typed else [],
        check_utf8=False)     # checked by the conversion, cheaper (see _arrow_strings)
    progress = _Progress(header_lines, skipped, lines_reported)
    try:
        stream = pacsv.open_csv(pa.input_stream(reader.path, compression="detect"),
                                read_options=read_options, parse_options=parse_options,
                                convert_options=convert_options)
        # cut into the reader's batches on the conversion thread too: the caller's
        # `rebatch` then passes them through
        converted = rebatch(_converted(reader, report, stream, typed, progress),
                            reader.batch_size)
        with ReadAhead(converted, depth=3, name="widedeep-csv-convert") as batches:
            yield from batches
    except InvalidText:
        _raise_decode_error(reader)
    except (pa.ArrowInvalid, pa.ArrowKeyError) as error:
        if pending:
            raise BadLineError(pending[0]) from None
        if typed and isinstance(error, pa.ArrowInvalid) and "conversion error" in str(error):
            raise _NeedsExactPath() from None
        raise BadLineError(BadLine(reader.path, header_lines + progress.rows + 1, None,
                                   f"pyarrow: {error}")) from None


def _raise_decode_error(reader):
    """The built-in engine's error for text that is not UTF-8 (or not ``encoding``),
    naming the first such line: found by decoding the file (only on this error)."""
    with read_errors(reader.path, reader.encoding), \
            open_text(reader.path, reader.encoding, newline="") as handle:
        while handle.read(1 << 20):
            pass
    raise BadLineError(BadLine(reader.path, -1, None,       # (pyarrow saw what Python
                               f"a cell is not valid {reader.encoding}"))  # did not)


class _Progress:
    """What one pass has converted and reported so far: ``rows`` converted; ``skipped``
    (records pyarrow skipped, appended on the parsing thread in file order, possibly a
    block ahead of the conversion) of which the first ``n_flushed`` went to the report;
    ``lines_reported`` across both passes."""

    def __init__(self, header_lines, skipped, lines_reported):
        self.header_lines, self.skipped, self.lines_reported = (header_lines, skipped,
                                                                lines_reported)
        self.rows, self.n_flushed = 0, 0

    def report(self, reader, report, n_rows, bad_cells, final=False):
        """Raise or record, in line order, the bad cells (``(row in block, column,
        reason)``) of a block of ``n_rows`` converted rows and the records skipped
        before its end (each once across passes; all that are left when ``final``)."""
        waiting = self.skipped[self.n_flushed:]
        rows_before = self._rows_before(waiting)
        n_due = len(waiting) if final else int(np.searchsorted(rows_before,
                                                               self.rows + n_rows,
                                                               side="right"))
        bad_lines = [bad for bad in waiting[:n_due]
                     if bad.line == -1 or bad.line not in self.lines_reported]
        self.lines_reported.update(bad.line for bad in bad_lines)
        if bad_cells:
            rows = self.rows + np.asarray([row for row, _, _ in bad_cells], dtype=np.int64)
            # header lines + records before: the converted rows and the skipped records
            lines = (self.header_lines + rows + 1 + self.n_flushed
                     + np.searchsorted(rows_before, rows, side="right"))
            bad_lines += [BadLine(reader.path, int(line), name, reason,
                                  field=reader._position[name] + 1)
                          for line, (_, name, reason) in zip(lines, bad_cells)]
        self.n_flushed += n_due
        self.rows += n_rows
        for bad in sorted(bad_lines, key=lambda b: b.line):
            reader._bad(report, bad)

    def _rows_before(self, waiting):
        """For each record of ``waiting`` (skipped, not yet reported): the rows converted
        before it, from its record number (an unknown number counts as 0)."""
        lines = np.asarray([bad.line for bad in waiting], dtype=np.int64)
        rows_before = lines - self.header_lines - 1 - (self.n_flushed +
                                                        np.arange(lines.size))
        rows_before[lines == -1] = 0
        return np.maximum.accumulate(rows_before) if rows_before.size else rows_before


def _converted(reader, report, stream, typed, progress):
    """Column batches of the blocks, with their bad lines reported (runs on the
    conversion thread)."""
    # pyarrow parses the next block on the parsing thread
    with ReadAhead(stream, depth=3, name="widedeep-csv-parse") as blocks:
        for record_batch in blocks:
            n = record_batch.num_rows
            batch, bad_cells = {}, []
            if n:
                batch, bad_cells = ((_convert_typed(reader, record_batch), []) if typed else
                                    _convert(reader, record_batch))
            progress.report(reader, report, n, bad_cells)
            if batch and batch_length(batch):
                yield batch
    progress.report(reader, report, 0, [], final=True)


def _convert_typed(reader, record_batch):
    """A batch whose numeric columns pyarrow parsed: strings as in `_convert`, numbers
    narrowed to their dtype (missing -> NaN in floats); `_NeedsExactPath` for a missing
    integer or a number outside its dtype's range."""
    batch = _strings(reader, record_batch)
    for name in reader.columns:
        chunk = record_batch.column(name)
        kind = reader._kinds[name]
        if kind is str:
            continue
        if kind.kind != "f" and chunk.null_count:
            raise _NeedsExactPath()
        values = chunk.to_numpy(zero_copy_only=False)
        narrowed = _narrowed(values, kind)
        if narrowed is None:
            raise _NeedsExactPath()
        batch[name] = narrowed
    return {name: batch[name] for name in reader.columns}


def _strings(reader, record_batch):
    """The block's string columns as the built-in engine gives them (see
    `block_strings`)."""
    names = [name for name in reader.columns if reader._kinds[name] is str]
    return dict(zip(names, block_strings([record_batch.column(name) for name in names],
                                         reader.na_values, reader.string_na,
                                         reader.strip)))


def _narrowed(values, kind):
    """float64/int64 ``values`` as ``kind``, or None when a value does not fit (a finite
    number overflowing a narrow float, an integer outside a narrow integer's range)."""
    if kind.kind == "f":
        with np.errstate(over="ignore"):
            narrowed = values.astype(kind, copy=False)
        if narrowed is not values and np.any(np.isinf(narrowed) & np.isfinite(values)):
            return None
        return narrowed
    limits = np.iinfo(kind)
    if values.size and (values.min() < limits.min or values.max() > limits.max):
        return None
    return values.astype(kind, copy=False)


def _convert(reader, record_batch):
    """``(batch, bad cells as (row, column, reason))``: a block converted with the numbers as text, by pyarrow
    where it can and else by the built-in engine's exact functions, which name the bad
    cells; their rows are dropped from the batch."""
    batch, bad_rows = _strings(reader, record_batch), {}
    for name in reader.columns:
        chunk = record_batch.column(name)
        kind = reader._kinds[name]
        if kind is str:
            continue
        check_text(chunk)
        values = _fast_numbers(chunk, kind, reader.na_values)
        if values is None:     # something pyarrow cannot cast: the exact (numpy) path
            texts = np.asarray(chunk.to_numpy(zero_copy_only=False), dtype=str)
            values, bad_cells = parse_numbers(texts, kind, reader.na_values, reader.strip)
            for row, reason in bad_cells:
                bad_rows.setdefault(row, (name, reason))
        batch[name] = values
    batch = {name: batch[name] for name in reader.columns}
    if not bad_rows:
        return batch, []
    keep = np.ones(record_batch.num_rows, dtype=bool)
    keep[list(bad_rows)] = False
    return ({name: column[keep] for name, column in batch.items()},
            [(row, name, reason) for row, (name, reason) in sorted(bad_rows.items())])


def _fast_numbers(chunk, kind, na_values):
    """Numbers of a string column cast by pyarrow (missing -> NaN for floats), or None when
    any cell needs the exact path (an unparsable cell, a missing integer, a number outside
    a narrow dtype's range), which then reports the bad cells as the built-in engine does."""
    import pyarrow as pa
    import pyarrow.compute as pc
    trimmed = pc.utf8_trim_whitespace(chunk)
    missing = pc.is_in(trimmed, value_set=pa.array(list(na_values), pa.string()))
    if kind.kind in "iu" and pc.any(missing).as_py():
        return None
    try:
        cast = pc.cast(pc.if_else(missing, pa.scalar(None, pa.string()), trimmed),
                       pa.float64() if kind.kind == "f" else pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return _narrowed(cast.to_numpy(zero_copy_only=False), kind)

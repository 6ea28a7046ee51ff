"""`CsvReader(engine="arrow")`: pyarrow splits the file and parses the numbers; widedeep
converts the text cells.

pyarrow's C++ CSV parser does the splitting (quotes, quoted newlines, blank lines) and
dictionary-encodes every string column, so each block arrives as the block's *distinct*
cell texts plus one index per row. The distinct texts go through the same conversion
functions as the built-in engine (`widedeep.readers._csv_cells`: missing values, strip),
and the results are gathered by the indices: conversion work is proportional to distinct
values, not rows. Numeric columns are parsed by pyarrow itself (float64/int64, missing
tokens as nulls, then narrowed to the column's dtype). Where pyarrow refuses a cell, an
integer is missing or a number does not fit its dtype, the file is read again with the
numbers as text, converted by the built-in engine's functions (which name the bad cells),
skipping the rows already yielded. The batches are those of the built-in engine (tested
on real files and on random tricky cells).

Differences, documented in `CsvReader`: a bad line's number is exact for field-count
errors (reported by pyarrow) but for an unparsable cell it is computed as header lines +
data rows before it, exact only when every record is one line and there are no blank
lines; ``max_record_lines`` is not enforced.
"""
from __future__ import annotations

import numpy as np

from ._csv_cells import parse_numbers, parse_strings
from .batching import batch_length, slice_batch
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
    may raise `_NeedsExactPath` or ``ArrowInvalid``) or as text for the exact functions."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header_lines = reader.skip_rows + (1 if reader.header else 0)
    pending = []

    def invalid_row(row):
        line = header_lines + row.number if row.number is not None else None
        bad = BadLine(reader.path, line if line is not None else -1, None,
                      f"expected {row.expected_columns} fields, found {row.actual_columns}")
        if reader.skip_bad_lines:
            if line is None or line not in lines_reported:     # not twice across passes
                lines_reported.add(line)
                report.add(bad)
            return "skip"
        pending.append(bad)
        return "error"

    read_options = pacsv.ReadOptions(column_names=reader.names, skip_rows=header_lines,
                                     block_size=block_bytes, use_threads=True,
                                     encoding=reader.encoding)
    parse_options = pacsv.ParseOptions(delimiter=reader.delimiter,
                                       quote_char=reader.quotechar or False,
                                       newlines_in_values=True, ignore_empty_lines=True,
                                       invalid_row_handler=invalid_row)
    dictionary = pa.dictionary(pa.int32(), pa.string())

    def arrow_type(kind):
        if kind is str:
            return dictionary
        if not typed:
            return pa.string()
        return pa.float64() if kind.kind == "f" else pa.int64()

    convert_options = pacsv.ConvertOptions(
        include_columns=list(reader.columns),
        column_types={name: arrow_type(reader._kinds[name]) for name in reader.columns},
        strings_can_be_null=False, quoted_strings_can_be_null=False,
        null_values=list(reader.na_values) if typed else [])
    rows_done = 0
    try:
        stream = pacsv.open_csv(pa.input_stream(reader.path, compression="detect"),
                                read_options=read_options, parse_options=parse_options,
                                convert_options=convert_options)
        for record_batch in stream:
            n = record_batch.num_rows
            if n:
                yield (_convert_typed(reader, record_batch) if typed else
                       _convert(reader, report, record_batch, rows_done, header_lines))
            rows_done += n
    except (pa.ArrowInvalid, pa.ArrowKeyError) as error:
        if pending:
            raise BadLineError(pending[0]) from None
        if typed and isinstance(error, pa.ArrowInvalid) and "conversion error" in str(error):
            raise _NeedsExactPath() from None
        raise BadLineError(BadLine(reader.path, header_lines + rows_done + 1, None,
                                   f"pyarrow: {error}")) from None


def _convert_typed(reader, record_batch):
    """A batch whose numeric columns pyarrow parsed: strings as in `_convert`, numbers
    narrowed to their dtype (missing -> NaN in floats); `_NeedsExactPath` for a missing
    integer or a number outside its dtype's range."""
    batch = {}
    for name in reader.columns:
        chunk = record_batch.column(name)
        kind = reader._kinds[name]
        if kind is str:
            batch[name] = _strings(reader, chunk)
            continue
        if kind.kind != "f" and chunk.null_count:
            raise _NeedsExactPath()
        values = chunk.to_numpy(zero_copy_only=False)
        narrowed = _narrowed(values, kind)
        if narrowed is None:
            raise _NeedsExactPath()
        batch[name] = narrowed
    return batch


def _strings(reader, chunk):
    """A dictionary-encoded string column: the distinct texts converted, then gathered."""
    texts = np.asarray(chunk.dictionary.to_numpy(zero_copy_only=False), dtype=str)
    indices = chunk.indices.to_numpy(zero_copy_only=False)
    return parse_strings(texts, reader.na_values, reader.string_na, reader.strip)[indices]


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


def _convert(reader, report, record_batch, rows_done, header_lines):
    batch, bad_rows = {}, {}
    for name in reader.columns:
        chunk = record_batch.column(name)
        kind = reader._kinds[name]
        if kind is str:
            batch[name] = _strings(reader, chunk)
            continue
        values = _fast_numbers(chunk, kind, reader.na_values)
        if values is None:     # something pyarrow cannot cast: the exact (numpy) path
            texts = np.asarray(chunk.to_numpy(zero_copy_only=False), dtype=str)
            values, bad_cells = parse_numbers(texts, kind, reader.na_values, reader.strip)
            for row, reason in bad_cells:
                bad_rows.setdefault(row, (name, reason))
        batch[name] = values
    if not bad_rows:
        return batch
    for row in sorted(bad_rows):
        name, reason = bad_rows[row]
        reader._bad(report, BadLine(reader.path, header_lines + rows_done + row + 1, name,
                                    reason, field=reader._position[name] + 1))
    keep = np.ones(record_batch.num_rows, dtype=bool)
    keep[list(bad_rows)] = False
    return {name: column[keep] for name, column in batch.items()}


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

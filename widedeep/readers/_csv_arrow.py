"""`CsvReader(engine="arrow")`: pyarrow splits the file, widedeep converts the cells.

pyarrow's C++ CSV parser does the splitting (quotes, quoted newlines, blank lines) and
dictionary-encodes every wanted column, so each block arrives as the block's *distinct*
cell texts plus one index per row. The distinct texts go through the same conversion
functions as the built-in engine (`widedeep.readers._csv_cells`: missing values, strip,
numbers, bad cells), and the results are gathered by the indices: the values are those
of the built-in engine, and conversion work is proportional to distinct values, not rows.

Differences, documented in `CsvReader`: a bad line's number is exact for field-count
errors (reported by pyarrow) but for an unparsable cell it is computed as header lines +
data rows before it, exact only when every record is one line and there are no blank
lines; ``max_record_lines`` is not enforced.
"""
from __future__ import annotations

import numpy as np

from ._csv_cells import parse_numbers, parse_strings
from .report import BadLine, BadLineError

__all__ = ["arrow_batches", "have_pyarrow"]


def have_pyarrow():
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


def arrow_batches(reader, report, block_bytes=1 << 20):
    """Column batches of ``reader`` (a `CsvReader`) read by pyarrow (see module)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header_lines = reader.skip_rows + (1 if reader.header else 0)
    pending = []

    def invalid_row(row):
        line = header_lines + row.number if row.number is not None else None
        bad = BadLine(reader.path, line if line is not None else -1, None,
                      f"expected {row.expected_columns} fields, found {row.actual_columns}")
        if reader.skip_bad_lines:
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
    convert_options = pacsv.ConvertOptions(
        include_columns=list(reader.columns),
        column_types={name: dictionary if reader._kinds[name] is str else pa.string()
                      for name in reader.columns},
        strings_can_be_null=False, quoted_strings_can_be_null=False, null_values=[])
    rows_done = 0
    try:
        stream = pacsv.open_csv(pa.input_stream(reader.path, compression="detect"),
                                read_options=read_options, parse_options=parse_options,
                                convert_options=convert_options)
        for record_batch in stream:
            n = record_batch.num_rows
            if n:
                yield _convert(reader, report, record_batch, rows_done, header_lines)
            rows_done += n
    except (pa.ArrowInvalid, pa.ArrowKeyError) as error:
        if pending:
            raise BadLineError(pending[0]) from None
        raise BadLineError(BadLine(reader.path, header_lines + rows_done + 1, None,
                                   f"pyarrow: {error}")) from None


def _convert(reader, report, record_batch, rows_done, header_lines):
    batch, bad_rows = {}, {}
    for name in reader.columns:
        chunk = record_batch.column(name)
        kind = reader._kinds[name]
        if kind is str:        # a DictionaryArray: convert the distinct texts, then gather
            texts = np.asarray(chunk.dictionary.to_numpy(zero_copy_only=False), dtype=str)
            indices = chunk.indices.to_numpy(zero_copy_only=False)
            batch[name] = parse_strings(texts, reader.na_values, reader.string_na,
                                        reader.strip)[indices]
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
    any cell needs the exact path (an unparsable cell, a missing integer)."""
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
    values = cast.to_numpy(zero_copy_only=False)
    if kind.kind == "f":
        return values.astype(kind, copy=False)
    return values.astype(kind)

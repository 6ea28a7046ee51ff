"""Converting one column of CSV cells (a NumPy string array) into values, vectorized:
strings with missing-value tokens replaced, floats with NaN where missing, integers; and,
only for a column holding a bad cell, the rows and reasons of the bad cells.

Cells arrive as ``U`` arrays, as ``S`` arrays (one byte per character) from ASCII
text, or as object arrays of ``str`` for a block with a very long cell (see
`widedeep.readers._csv_split`).
"""
from __future__ import annotations

import numpy as np

__all__ = ["column_kind", "parse_strings", "parse_numbers"]

_STRING_NAMES = {"str", "string", "object", "U"}
_MAX_DIGITS = 15  # 10**15 < 2**53: a float64 holds every such integer exactly


def column_kind(name, dtype):
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


def _unicode(text):
    """``U`` text from ``S`` text of ASCII bytes (each byte one character)."""
    if text.dtype.kind != "S":
        return text
    width = text.dtype.itemsize
    return text.view(np.uint8).reshape(-1, width).astype(np.uint32).view(
        f"U{width}").reshape(text.shape)


def _cells(text, na_values, strip):
    """Cells as a unicode array (stripped if asked) and the missing-value mask."""
    text = _unicode(text)
    if strip:
        if text.dtype.kind == "O":   # a column of very long cells (see _csv_split)
            stripped = np.empty(text.shape[0], dtype=object)
            stripped[:] = [cell.strip() for cell in text.tolist()]
            text = stripped
        else:
            text = np.char.strip(text)
    missing = np.zeros(text.shape[0], dtype=bool)
    for token in na_values:
        missing |= text == token
    return text, missing


def parse_strings(text, na_values, string_na, strip):
    """String column: a ``U`` array with missing cells (``na_values``, compared after
    ``strip``) replaced by ``string_na``; an object array when ``string_na`` is None."""
    text, missing = _cells(text, na_values, strip)
    if string_na is None:
        values = text.astype(object)
        values[missing] = None
        return values
    if missing.any():
        text = np.where(missing, string_na, text)
    return text


def _digit_cells(text):
    """int64 values of an ``S`` column whose every cell is 1 to 15 decimal digits
    (counts, ids, ages...), by Horner's rule over the digit positions; None if any cell
    is something else (sign, point, space, empty...)."""
    width = text.dtype.itemsize
    if text.dtype.kind != "S" or text.size == 0 or width > _MAX_DIGITS:
        return None
    codes = text.view(np.uint8).reshape(text.size, width)
    padding = codes == 0  # a cell shorter than the width ends in NULs
    digits = codes - np.uint8(ord("0"))
    if padding[:, 0].any() or not np.all((digits <= 9) | padding):
        return None
    values = np.zeros(text.size, dtype=np.int64)
    for position in range(width):
        values = np.where(padding[:, position], values,
                          values * 10 + digits[:, position])
    return values


def parse_numbers(text, dtype, na_values, strip):
    """``(values, [(row, reason), ...])``: the column parsed as ``dtype`` (a float
    dtype gives NaN for a missing cell; in an integer dtype a missing cell is bad) and
    its unparsable cells. In a float32 (or narrower) column a finite number that
    overflows to inf, such as ``1e39``, is a bad cell."""
    with np.errstate(over="ignore"):
        values, bad = _parse_numbers(text, dtype, na_values, strip)
    if dtype.kind == "f" and dtype.itemsize < 8:
        infinite = np.flatnonzero(np.isinf(values))
        if infinite.size:
            cells = _unicode(text[infinite]).tolist()
            known = {row for row, _ in bad}
            for row, cell in zip(infinite.tolist(), cells):
                if row not in known and np.isfinite(float(cell)):
                    bad.append((row, f"{cell.strip()} overflows {dtype.name} (largest "
                                     f"magnitude {float(np.finfo(dtype).max):.4g})"))
            bad.sort()
    return values, bad


def _parse_numbers(text, dtype, na_values, strip):
    numeric_na_token = any(_parses_as_float(token) for token in na_values)
    if not numeric_na_token and (dtype.kind == "f" or dtype == np.int64):
        values = _digit_cells(text)
        if values is not None:
            return values.astype(dtype, copy=False), []
    if dtype.kind == "f" and not numeric_na_token:
        try:  # fast path: no missing cell at all
            return text.astype(dtype), []
        except ValueError:
            pass
    text, missing = _cells(text, na_values, strip)
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
    # slow path, only for a column that holds a bad cell: find every one
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

"""JSON values to raw column batches (`widedeep.records`), checked against a model's columns.

A model's spec says which raw columns it reads and what each holds (`FeatureSpec.raw_columns`):

- ``"number"``: JSON numbers, or ``null`` for a missing value (the column's default, or an
  error naming the row, as in training);
- ``"category"``: strings or integers (``null`` is missing: the OOV bucket), or lists of
  them (a bag, e.g. the installed apps).

Anything else (a string where a number is expected, a bool, an object, a nested list, a
string longer than ``max_string_length``, a bag longer than ``max_bag_length``) is a
`RequestError` (400) naming the JSON path of the first bad value, e.g.
``candidates.price[3]``. A column's cells are checked by their Python types (one ``map`` per
column) and converted by NumPy in one call.
"""
from __future__ import annotations

from collections.abc import Mapping
from itertools import chain

import numpy as np

from ..records import Ragged
from .errors import RequestError

__all__ = ["column_from_json", "columns_from_json", "query_columns_from_json",
           "check_column_names"]

_NUMBER_TYPES = (int, float, type(None))
_TOKEN_TYPES = (str, int, type(None))
_STR_ONLY = {str}


def columns_from_json(data, kinds, where, limits, max_rows, max_rows_name):
    """A column batch ``{column: array | Ragged}`` from JSON ``data``: columns
    ``{column: [cell, ...]}`` or rows ``[{column: cell}, ...]``; ``kinds`` maps each column
    the model knows to ``"number"``/``"category"`` (unknown columns are refused)."""
    if isinstance(data, Mapping):
        columns = dict(data)
        for name, cells in columns.items():
            if not isinstance(cells, list):
                raise RequestError(400, f"{where}.{name}: expected a list of values (one per "
                                        f"row), got {_json_type(cells)}", f"{where}.{name}")
        lengths = {len(cells) for cells in columns.values()}
        if len(lengths) > 1:
            sizes = {name: len(cells) for name, cells in columns.items()}
            raise RequestError(400, f"{where}: columns have different lengths {sizes}", where)
        n = lengths.pop() if lengths else 0
    elif isinstance(data, list):
        columns, n = _rows_to_columns(data, where), len(data)
    else:
        raise RequestError(400, f"{where}: expected an object of columns or a list of rows, "
                                f"got {_json_type(data)}", where)
    if n > max_rows:
        raise RequestError(400, f"{where}: {n} rows exceed the limit of {max_rows} "
                                f"({max_rows_name})", where)
    unknown = [name for name in columns if name not in kinds]
    if unknown:
        raise RequestError(400, f"{where}.{unknown[0]}: unknown column {unknown[0]!r}; the "
                                f"model reads {list(kinds)}", f"{where}.{unknown[0]}")
    return {name: column_from_json(cells, kinds[name], f"{where}.{name}", limits)
            for name, cells in columns.items()}, n


def query_columns_from_json(query, kinds, where, limits):
    """The 1-row column batch of a query object ``{column: cell}``: the same arrays and
    errors as ``columns_from_json({name: [cell] ...})``, but a plain string of a category
    column or a number of a number column (the usual query cells: ~30 per request) becomes
    its 1-element array directly, without the per-column type survey."""
    unknown = [name for name in query if name not in kinds]
    if unknown:
        raise RequestError(400, f"{where}.{unknown[0]}: unknown column {unknown[0]!r}; the "
                                f"model reads {list(kinds)}", f"{where}.{unknown[0]}")
    columns = {}
    for name, cell in query.items():
        kind, cell_type = kinds[name], type(cell)
        if cell_type is str and kind == "category" and len(cell) <= limits.max_string_length:
            columns[name] = np.array([cell])
            continue
        if (cell_type is float or cell_type is int) and kind == "number" \
                and -1e300 < cell < 1e300:
            columns[name] = np.array([cell], dtype=np.float64)
            continue
        columns[name] = column_from_json([cell], kind, f"{where}.{name}", limits)
    return columns


def check_column_names(present, kinds, where):
    """Refuse a batch that lacks one of the model's columns (400 naming it)."""
    missing = [name for name in kinds if name not in present]
    if missing:
        raise RequestError(400, f"{where}: column {missing[0]!r} is missing (the model reads "
                                f"{list(kinds)})", f"{where}.{missing[0]}")


def column_from_json(cells, kind, where, limits):
    """One raw column from its JSON cells: float64 array (``None`` -> NaN) for a number
    column; a string/integer array, or a `Ragged` of bags, for a category column."""
    types = set(map(type, cells))
    if kind == "number":
        bad = types - set(_NUMBER_TYPES)
        if bad:
            raise _bad_cell(cells, _NUMBER_TYPES, where, "numbers (or null)")
        try:
            return np.asarray(cells, dtype=np.float64)
        except OverflowError:
            raise RequestError(400, f"{where}: a number is out of the float64 range",
                               where) from None
    if types == _STR_ONLY:     # the usual column of ids or names
        return _strings(cells, where, limits)
    if list in types:
        bags = [cell if isinstance(cell, list) else ([] if cell is None else [cell])
                for cell in cells]
        lengths = np.fromiter(map(len, bags), dtype=np.int64, count=len(bags))
        if lengths.shape[0] and lengths.max() > limits.max_bag_length:
            row = int(np.argmax(lengths))
            raise RequestError(400, f"{where}[{row}]: a bag of {lengths[row]} values exceeds "
                                    f"the limit of {limits.max_bag_length} (max_bag_length)",
                               f"{where}[{row}]")
        flat = list(chain.from_iterable(bags))
        values = _tokens(flat, f"{where}[]", limits)
        return Ragged(values, lengths)
    return _tokens(cells, where, limits)


def _strings(cells, where, limits):
    """A ``U`` array of a list of ``str`` (one conversion, its width checked; ``np.array``
    finds the ``U`` width itself, ~20 % faster than asking for ``dtype=str``)."""
    values = np.array(cells)
    if values.dtype.itemsize // 4 > limits.max_string_length:
        row = int(np.argmax(np.char.str_len(values)))
        raise _too_long(len(cells[row]), where, row, limits)
    return values


def _too_long(length, where, row, limits):
    return RequestError(400, f"{where}[{row}]: a string of {length} characters exceeds the "
                             f"limit of {limits.max_string_length} (max_string_length)",
                        f"{where}[{row}]")


def _tokens(cells, where, limits):
    types = set(map(type, cells))
    if types == _STR_ONLY:
        return _strings(cells, where, limits)
    bad = types - set(_TOKEN_TYPES)
    if bad:
        raise _bad_cell(cells, _TOKEN_TYPES, where, "strings or integers (or null)")
    if not cells:
        return np.asarray([], dtype=object)
    strings = [cell for cell in cells if type(cell) is str] if str in types else []
    if strings:
        longest = max(map(len, strings))
        if longest > limits.max_string_length:
            row = next(i for i, cell in enumerate(cells)
                       if type(cell) is str and len(cell) == longest)
            raise _too_long(longest, where, row, limits)
    try:
        values = np.asarray(cells)
    except OverflowError:
        values = np.asarray(cells, dtype=object)
    if values.dtype.kind == "O" or values.dtype.kind not in "iuU":
        values = np.asarray(cells, dtype=object)
        big = [i for i, cell in enumerate(cells)
               if type(cell) is int and not -2 ** 63 <= cell < 2 ** 63]
        if big:
            raise RequestError(400, f"{where}[{big[0]}]: integer out of the int64 range",
                               f"{where}[{big[0]}]")
    return values


def _rows_to_columns(rows, where):
    if not rows:
        return {}
    first = rows[0]
    if not isinstance(first, Mapping):
        raise RequestError(400, f"{where}[0]: expected an object of column values, got "
                                f"{_json_type(first)}", f"{where}[0]")
    names = list(first)
    for row_number, row in enumerate(rows):
        if not isinstance(row, Mapping) or row.keys() != first.keys():
            if not isinstance(row, Mapping):
                raise RequestError(400, f"{where}[{row_number}]: expected an object, got "
                                        f"{_json_type(row)}", f"{where}[{row_number}]")
            differ = sorted(set(row) ^ set(first))
            raise RequestError(400, f"{where}[{row_number}]: has different columns from row "
                                    f"0 (differing: {differ[:5]})",
                               f"{where}[{row_number}].{differ[0]}")
    return {name: [row[name] for row in rows] for name in names}


def _bad_cell(cells, allowed, where, expected):
    row = next(i for i, cell in enumerate(cells) if type(cell) not in allowed)
    return RequestError(400, f"{where}[{row}]: expected {expected}, got "
                             f"{_json_type(cells[row])}", f"{where}[{row}]")


def _json_type(value):
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value),
                                                                        type(value).__name__)

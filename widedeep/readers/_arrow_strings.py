"""A pyarrow string column of one CSV block as the string array the built-in engine makes
(`widedeep.readers._csv_cells.parse_strings`): a ``U`` array with the missing-value
tokens replaced by ``string_na``, an object array when ``string_na`` is None or when the
fixed-width array would exceed `MAX_FIXED_WIDTH_BYTES`.

Two ways, the same values:

* ASCII cells, no ``strip`` (the common case): straight from Arrow's buffers, with no
  Python string made. pyarrow pads every cell with NULs to the widest cell's length
  (``ascii_rpad``), so its data buffer *is* an ``S{width}`` array; the missing tokens are
  compared on those bytes and the ``U`` array is the bytes widened to UTF-32 code units
  (one ASCII byte = one code point). A trailing NUL ends a NumPy string, so a cell and
  its padded form compare, and convert, alike — as they do in the built-in engine, whose
  cells are NumPy strings too.
* Anything else (non-ASCII text, ``strip``, ``string_na=None``, a very long cell): the
  column is dictionary-encoded, its distinct texts go through ``parse_strings`` itself
  and the results are gathered by the codes (work proportional to distinct values).
"""
from __future__ import annotations

import numpy as np

from ._csv_cells import parse_strings
from ._csv_split import MAX_FIXED_WIDTH_BYTES

__all__ = ["arrow_strings"]


def arrow_strings(chunk, na_values, string_na, strip):
    """``chunk`` (a pyarrow ``string`` array without nulls, [rows]) converted as
    ``parse_strings(cells, na_values, string_na, strip)`` converts the same cells."""
    if not strip and string_na is not None and len(chunk):
        cells = _ascii_cells(chunk)
        if cells is not None:
            return _replace_missing(cells, na_values, string_na)
    return _distinct_strings(chunk, na_values, string_na, strip)


def _offsets(array):
    """int32 [rows + 1] start of each cell in ``array``'s data buffer."""
    return np.frombuffer(array.buffers()[1], dtype=np.int32, count=len(array) + 1,
                         offset=4 * array.offset)


def _ascii_cells(chunk):
    """The cells as an ``S{width}`` array (a view of pyarrow's padded copy), or None when
    a cell is not ASCII or the fixed-width ``U`` array would be too large."""
    import pyarrow.compute as pc
    n_rows = len(chunk)
    offsets = _offsets(chunk)
    width = max(int(np.diff(offsets).max()), 1)
    if n_rows * width * 4 > MAX_FIXED_WIDTH_BYTES:
        return None
    start, stop = int(offsets[0]), int(offsets[-1])
    if stop > start:        # (an array of empty strings may have no data buffer)
        text = np.frombuffer(chunk.buffers()[2], dtype=np.uint8, count=stop - start,
                             offset=start)
        if text.max() >= 0x80:
            return None
    padded = pc.ascii_rpad(chunk, width=width, padding="\x00")
    return np.frombuffer(padded.buffers()[2], dtype=f"S{width}", count=n_rows,
                         offset=int(_offsets(padded)[0]))


def _replace_missing(cells, na_values, string_na):
    """``U`` array of ASCII ``cells`` (``S``) with the cells equal to a token of
    ``na_values`` replaced by ``string_na`` (see module)."""
    n_rows, width = cells.shape[0], cells.dtype.itemsize
    # an empty cell already is "": with string_na == "" only the other tokens are replaced
    tokens = [token for token in na_values if token or string_na]
    missing = np.zeros(n_rows, dtype=bool)
    for token in tokens:
        missing |= cells == token.encode("utf-8")
    code_points = cells.view(np.uint8).reshape(n_rows, width).astype(np.uint32)
    text = code_points.view(f"U{width}").reshape(n_rows)
    if not missing.any():
        return text
    if string_na == "":
        code_points[missing] = 0      # in place: the array is ours
        return text
    return np.where(missing, string_na, text)


def _distinct_strings(chunk, na_values, string_na, strip):
    """The general way (see module): convert the distinct texts, gather by the codes."""
    import pyarrow.compute as pc
    encoded = pc.dictionary_encode(chunk)
    distinct = encoded.dictionary.to_numpy(zero_copy_only=False)   # object array of str
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    widest = max(map(len, distinct), default=0)
    if len(chunk) * max(widest, 1) * 4 <= MAX_FIXED_WIDTH_BYTES:
        distinct = np.asarray(distinct, dtype=str)
    return parse_strings(distinct, na_values, string_na, strip)[codes]

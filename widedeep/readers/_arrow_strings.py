"""A pyarrow string column of one CSV block as the string array the built-in engine makes
(`widedeep.readers._csv_cells.parse_strings`): a ``U`` array with the missing-value
tokens replaced by ``string_na``, an object array when ``string_na`` is None or when the
fixed-width array would exceed `MAX_FIXED_WIDTH_BYTES`.

Two ways, the same values:

* ASCII cells, no ``strip`` (the common case): straight from Arrow's buffers, with no
  Python string made. pyarrow pads every cell with NULs to the widest cell's length
  (``ascii_rpad``), so its data buffer *is* an ``S{width}`` array, and the ``U`` array
  is those bytes widened to UTF-32 code units (one ASCII byte = one code point). The
  missing tokens are found from the cells' lengths (Arrow's offsets) and, for a
  non-empty token, the few bytes of the cells that long. NumPy ignores trailing NULs
  when it compares strings, as the built-in engine's comparisons do; a column holding a
  NUL byte is therefore compared on the padded cells themselves, NumPy's way.
* Anything else (non-ASCII text, ``strip``, ``string_na=None``, a very long cell): the
  column is dictionary-encoded, its distinct texts go through ``parse_strings`` itself
  and the results are gathered by the codes (work proportional to distinct values).

pyarrow is asked not to check UTF-8 while parsing (the costliest step it could skip);
`arrow_strings` checks it instead: an ASCII column is valid UTF-8, any other column is
validated and a bad one raises `InvalidText`.
"""
from __future__ import annotations

import numpy as np

from ._csv_cells import parse_strings
from ._csv_split import MAX_FIXED_WIDTH_BYTES

__all__ = ["arrow_strings", "block_strings", "check_text", "InvalidText"]


class InvalidText(ValueError):
    """A cell of a string column is not valid UTF-8."""


def arrow_strings(chunk, na_values, string_na, strip):
    """``chunk`` (a pyarrow ``string`` array without nulls, [rows], UTF-8 not yet
    checked) converted as ``parse_strings(cells, na_values, string_na, strip)`` converts
    the same cells; `InvalidText` if a cell is not UTF-8."""
    return block_strings([chunk], na_values, string_na, strip)[0]


def block_strings(chunks, na_values, string_na, strip):
    """`arrow_strings` of each of ``chunks`` (the string columns of one block). The ``U``
    arrays made from ASCII cells are consecutive pieces of one allocation: one large
    allocation is reused by the allocator (or mapped in huge pages) where a dozen
    medium-sized fresh ones cost a page fault per 4 KB written; the columns of a block
    are freed together."""
    values, ascii_columns = [None] * len(chunks), []
    for k, chunk in enumerate(chunks):
        text = _text_bytes(chunk)
        ascii_text = text.size == 0 or int(text.max()) < 0x80
        if not ascii_text:
            check_text(chunk, ascii_text=False)
        elif not strip and string_na is not None and len(chunk):
            cells = _ascii_cells(chunk)
            if cells is not None:
                ascii_columns.append((k, cells, _missing(chunk, text, cells, na_values,
                                                         string_na)))
                continue
        values[k] = _distinct_strings(chunk, na_values, string_na, strip)
    code_points = _widened([cells for _, cells, _ in ascii_columns])
    for (k, _, missing), points in zip(ascii_columns, code_points):
        values[k] = _with_missing_replaced(points, missing, string_na)
    return values


def check_text(chunk, ascii_text=None):
    """Raise `InvalidText` unless every cell of the string array ``chunk`` is UTF-8
    (``ascii_text``: whether its bytes are known to be ASCII, None: not known)."""
    if ascii_text is None:
        text = _text_bytes(chunk)
        ascii_text = text.size == 0 or int(text.max()) < 0x80
    if ascii_text:
        return
    import pyarrow as pa
    try:
        chunk.validate(full=True)
    except pa.ArrowInvalid as error:
        raise InvalidText(str(error)) from None


def _offsets(array):
    """int32 [rows + 1] start of each cell in ``array``'s data buffer."""
    return np.frombuffer(array.buffers()[1], dtype=np.int32, count=len(array) + 1,
                         offset=4 * array.offset)


def _text_bytes(chunk):
    """uint8 view of the bytes of ``chunk``'s cells (all of them, end to end)."""
    offsets = _offsets(chunk) if len(chunk) else np.zeros(1, dtype=np.int32)
    start, stop = int(offsets[0]), int(offsets[-1])
    if stop == start:       # (an array of empty strings may have no data buffer)
        return np.zeros(0, dtype=np.uint8)
    return np.frombuffer(chunk.buffers()[2], dtype=np.uint8, count=stop - start,
                         offset=start)


def _ascii_cells(chunk):
    """The cells of an ASCII ``chunk`` as an ``S{width}`` array (a view of pyarrow's
    padded copy), or None when the fixed-width ``U`` array would be too large."""
    import pyarrow.compute as pc
    n_rows = len(chunk)
    width = max(int(np.diff(_offsets(chunk)).max()), 1)
    if n_rows * width * 4 > MAX_FIXED_WIDTH_BYTES:
        return None
    padded = pc.ascii_rpad(chunk, width=width, padding="\x00")
    return np.frombuffer(padded.buffers()[2], dtype=f"S{width}", count=n_rows,
                         offset=int(_offsets(padded)[0]))


def _missing(chunk, text, cells, na_values, string_na):
    """bool [rows]: the ASCII cells (``S``, the padded form of ``chunk``, whose bytes are
    ``text``) equal to a token of ``na_values`` that must be replaced (see module)."""
    # an empty cell already is "": with string_na == "" only the other tokens are replaced
    tokens = [token for token in na_values if token or string_na]
    if any("\x00" in token for token in tokens) or (text.size and int(text.min()) == 0):
        return _missing_by_comparison(cells, tokens)
    return _missing_by_length(chunk, text, tokens)


def _widened(cells_list):
    """For each ``S{width}`` array of ASCII cells [rows]: uint32 code points [rows,
    width], all pieces of one buffer."""
    shapes = [(cells.shape[0], cells.dtype.itemsize) for cells in cells_list]
    buffer = np.empty(sum(rows * width for rows, width in shapes), dtype=np.uint32)
    pieces, start = [], 0
    for cells, (rows, width) in zip(cells_list, shapes):
        piece = buffer[start:start + rows * width].reshape(rows, width)
        np.copyto(piece, cells.view(np.uint8).reshape(rows, width), casting="unsafe")
        pieces.append(piece)
        start += rows * width
    return pieces


def _with_missing_replaced(code_points, missing, string_na):
    """``U`` array of the ``code_points`` [rows, width] (ours to change) with the
    ``missing`` rows replaced by ``string_na``."""
    rows, width = code_points.shape
    values = code_points.view(f"U{width}").reshape(rows)
    if not missing.any():
        return values
    if string_na == "":
        code_points[missing] = 0      # in place: the array is ours
        return values
    return np.where(missing, string_na, values)


def _missing_by_comparison(cells, tokens):
    """bool [rows]: cells equal (NumPy's comparison) to one of ``tokens``."""
    missing = np.zeros(cells.shape[0], dtype=bool)
    for token in tokens:
        missing |= cells == token.encode("utf-8")
    return missing


def _missing_by_length(chunk, text, tokens):
    """bool [rows]: cells equal to one of ``tokens``, for cells without NUL bytes: a
    cell as long as the token whose bytes are the token's."""
    offsets = _offsets(chunk)
    starts = offsets[:-1] - offsets[0]
    lengths = np.diff(offsets)
    missing = np.zeros(len(chunk), dtype=bool)
    for token in tokens:
        token_bytes = token.encode("utf-8")
        rows = np.flatnonzero(lengths == len(token_bytes))
        for position, byte in enumerate(token_bytes):
            rows = rows[text[starts[rows] + position] == byte]
        missing[rows] = True
    return missing


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

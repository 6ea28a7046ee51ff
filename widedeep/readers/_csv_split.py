"""Splitting delimited text into fields, a block of lines at a time (used by `CsvReader`).

The file is read in blocks of about ``BLOCK_CHARS`` characters that end at a line end
(`text_blocks`). A block without quote characters, bare ``\\r`` or NUL is split without
creating one Python string per cell (`split_plain_block`): the block becomes one array
of code units (bytes for ASCII text, UTF-32 otherwise), the separators are found with
one comparison, and each wanted column is gathered into a fixed-width NumPy string
array. Any other block goes through Python's ``csv`` module (`split_csv_block`), which
handles quoting, doubled quotes and quoted newlines, even across the block's end.

Both return a `FieldBlock`: the text of the wanted columns for the well-formed records,
their 1-based physical line numbers, and the records with the wrong number of fields
(or a ``csv.Error``) as `BadLine`s.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from itertools import chain

import numpy as np

from .report import BadLine

__all__ = ["BLOCK_CHARS", "FieldBlock", "text_blocks", "splits_plainly",
           "split_plain_block", "split_csv_block", "field_count_error"]

BLOCK_CHARS = 1 << 18
"""Characters read per block: large enough that per-block overhead is negligible, small
enough that the per-column temporaries stay in the allocator's cache."""

_NEWLINE = ord("\n")


@dataclass
class FieldBlock:
    """Fields of the well-formed records of one block of lines.

    ``lines``: int64 [rows], the physical line each record starts on; ``texts``:
    ``{column position: text array [rows]}`` (``U`` or, for ASCII text, ``S`` strings,
    unstripped); ``bad_lines``: records with the wrong field count or a CSV error;
    ``n_lines``: physical lines the block spans.
    """

    lines: np.ndarray
    texts: dict
    bad_lines: list
    n_lines: int


def text_blocks(handle, block_chars=None):
    """Blocks of about ``block_chars`` (default `BLOCK_CHARS`) characters from
    ``handle`` (opened with ``newline=""``), each ending at a line end (the last one
    possibly at end of file)."""
    block_chars = BLOCK_CHARS if block_chars is None else block_chars
    while True:
        block = handle.read(block_chars)
        if not block:
            return
        if not block.endswith("\n"):
            block += handle.readline()
        yield block


def splits_plainly(block, quotechar):
    """Whether `split_plain_block` gives what the ``csv`` module would: no quote
    character, no NUL, and no ``\\r`` except in ``\\r\\n`` line ends."""
    if (quotechar is not None and quotechar in block) or "\x00" in block:
        return False
    return "\r" not in block or block.count("\r") == block.count("\r\n")


def field_count_error(path, names, line, found):
    """`BadLine` for a record with ``found`` fields instead of ``len(names)``."""
    expected = len(names)
    if found < expected:
        name = names[found]
        return BadLine(path, line, name,
                       f"expected {expected} fields, found {found}; column {name!r} "
                       f"and after are missing", field=found + 1)
    return BadLine(path, line, None,
                   f"expected {expected} fields, found {found}; unexpected field after "
                   f"the last column {names[-1]!r}", field=expected + 1)


def _code_units(block, delimiter):
    """The block as an array of code units: bytes when the block and the delimiter are
    ASCII (one byte per character), else UTF-32 code points."""
    if block.isascii() and delimiter.isascii():
        return np.frombuffer(block.encode("ascii"), dtype=np.uint8)
    return np.frombuffer(block.encode("utf-32-le"), dtype="<u4")


def _gather_column(windows, starts, lengths):
    """Fixed-width string array [rows] of the fields ``text[starts[i]:starts[i] +
    lengths[i]]``, where ``windows[p]`` is ``text[p:p + widest field]``: ``S`` for byte
    text, ``U`` for UTF-32 text."""
    kind = "S" if windows.dtype == np.uint8 else "U"
    if starts.size == 0:
        return np.zeros(0, dtype=f"{kind}1")
    width = max(int(lengths.max()), 1)
    cells = windows[starts, :width]  # [rows, width] copy: the field and what follows it
    # zero what follows the field: trailing NULs end a NumPy string
    np.multiply(cells, np.arange(width) < lengths[:, None], out=cells)
    return cells.view(f"{kind}{width}").reshape(starts.size)


def split_plain_block(block, first_line, n_fields, positions, delimiter, path, names):
    """Split a block for which `splits_plainly` holds; ``positions`` are the column
    positions to extract. See `FieldBlock`."""
    if "\r" in block:
        block = block.replace("\r\n", "\n")
    text = _code_units(block, delimiter)
    separators = np.flatnonzero((text == ord(delimiter)) | (text == _NEWLINE))
    if text.size == 0 or text[-1] != _NEWLINE:  # last line without a newline
        separators = np.append(separators, text.size)
    # padding as wide as the widest field lets every field be cut as a full-width window
    widest = int(np.diff(separators, prepend=-1).max()) if separators.size else 1
    units = np.zeros(text.size + widest, dtype=text.dtype)
    units[:text.size] = text
    windows = np.lib.stride_tricks.as_strided(
        units, shape=(text.size + 1, widest), strides=(units.itemsize, units.itemsize),
        writeable=False)
    is_line_end = np.ones(separators.size, dtype=bool)
    is_line_end[:-1] = units[separators[:-1]] == _NEWLINE
    line_ends = np.flatnonzero(is_line_end)  # index into `separators` of each line end
    fields_per_line = np.diff(line_ends, prepend=-1)
    line_starts = np.empty(line_ends.size, dtype=np.int64)
    line_starts[:1] = 0
    line_starts[1:] = separators[line_ends[:-1]] + 1
    blank = separators[line_ends] == line_starts
    good = (fields_per_line == n_fields) & ~blank
    numbers = first_line + np.arange(line_ends.size, dtype=np.int64)
    wrong = ~good & ~blank
    bad_lines = [field_count_error(path, names, line, found) for line, found
                 in zip(numbers[wrong].tolist(), fields_per_line[wrong].tolist())]
    last_separator = line_ends[good]
    texts = {}
    for position in positions:
        ends = separators[last_separator - (n_fields - 1 - position)]
        starts = (line_starts[good] if position == 0
                  else separators[last_separator - (n_fields - position)] + 1)
        texts[position] = _gather_column(windows, starts, ends - starts)
    return FieldBlock(numbers[good], texts, bad_lines, int(line_ends.size))


def split_csv_block(block, first_line, handle, csv_options, positions, path, names):
    """Split a block with Python's ``csv`` module. A quoted field still open at the end
    of the block continues with the following lines of ``handle``. See `FieldBlock`."""
    block_lines = list(io.StringIO(block, newline=""))
    reader = csv.reader(chain(block_lines, handle), **csv_options)
    n_fields = len(names)
    lines, records, bad_lines = [], [], []
    # the reader pulls a line only to start or finish a record, so once it has used the
    # block's lines the record in progress is complete
    while reader.line_num < len(block_lines):
        line = first_line + reader.line_num
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            bad_lines.append(BadLine(path, line, None, f"CSV error: {error}"))
            continue
        if not record:
            continue
        if len(record) != n_fields:
            bad_lines.append(field_count_error(path, names, line, len(record)))
            continue
        lines.append(line)
        records.append(record)
    texts = {position: np.asarray([record[position] for record in records], dtype=np.str_)
             for position in positions}
    return FieldBlock(np.asarray(lines, dtype=np.int64), texts, bad_lines, reader.line_num)

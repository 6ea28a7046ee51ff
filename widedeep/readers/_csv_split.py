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
from collections import deque
from dataclasses import dataclass

import numpy as np

from .report import BadLine, BadLineError

__all__ = ["BLOCK_CHARS", "DEFAULT_MAX_RECORD_LINES", "FieldBlock", "text_blocks",
           "splits_plainly", "split_plain_block", "split_csv_block", "read_records",
           "string_column", "field_count_error"]

BLOCK_CHARS = 1 << 18
"""Characters read per block: large enough that per-block overhead is negligible, small
enough that the per-column temporaries stay in the allocator's cache."""

DEFAULT_MAX_RECORD_LINES = 100
"""Physical lines a quoted field may span before its record is declared broken (an
unclosed quote); `CsvReader(max_record_lines=...)` changes it."""

MAX_FIXED_WIDTH_BYTES = 1 << 26
"""Above this size (64 MB) a column of a block is kept as an object array of str rather
than a fixed-width NumPy string array, whose every row is as wide as the longest cell."""

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
    if starts.size * width * 4 > MAX_FIXED_WIDTH_BYTES:
        # one long cell would make every row as wide: keep this column as Python strings
        codec = "ascii" if kind == "S" else "utf-32-le"
        flat = np.ascontiguousarray(windows[:, 0])   # the text's code units
        column = np.empty(starts.size, dtype=object)
        column[:] = [flat[start:start + length].tobytes().decode(codec)
                     for start, length in zip(starts.tolist(), lengths.tolist())]
        return column
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


class _RecordTooLong(Exception):
    """Raised through ``csv.reader`` when a record runs past ``max_record_lines``."""


class _LineFeed:
    """Physical lines for ``csv.reader``: the block's lines, then the file's, then the
    lines pushed back after a broken record. ``record`` holds the lines of the record in
    progress; asking for more than ``max_record_lines`` of them raises `_RecordTooLong`.
    A final line without a line end gets one, so that a quote still open at the end of
    the file shows as the reader asking for a line that is not there (``exhausted``)."""

    def __init__(self, lines, handle, max_record_lines):
        self.pending = deque(lines)
        self.handle = handle
        self.max_record_lines = max_record_lines
        self.record = []
        self.exhausted = False

    def __iter__(self):
        return self

    def __next__(self):
        if len(self.record) >= self.max_record_lines:
            raise _RecordTooLong
        if self.pending:
            line = self.pending.popleft()
        else:
            line = self.handle.readline() if self.handle is not None else ""
            if not line:
                self.exhausted = True
                raise StopIteration
        if not line.endswith(("\n", "\r")):
            line += "\n"
        self.record.append(line)
        return line

    def start_record(self):
        self.record = []
        self.exhausted = False

    def restart_after_first_line(self):
        """Give back every line of the broken record but its first, to be read again."""
        self.pending.extendleft(reversed(self.record[1:]))
        self.record = self.record[:1]


def _unclosed_quote(path, line, max_record_lines, at_end):
    if at_end:
        reason = "a quoted field opened on this line is not closed before the end of the file"
    else:
        reason = (f"a quoted field opened on this line is still open after "
                  f"{max_record_lines} lines (max_record_lines={max_record_lines}; raise it "
                  f"if a quoted field really spans more lines)")
    return BadLine(path, line, None, reason)


def read_records(lines, handle, csv_options, first_line, max_record_lines, path,
                 names=None):
    """``(line, record)`` for every record starting in ``lines`` (the last one may continue
    into ``handle``): ``record`` a list of fields, or a `BadLine`; then ``(lines spanned,
    None)``. Blank lines give no record.

    A quoted field may hold line ends, but a quote still open at the end of the file or
    after ``max_record_lines`` lines breaks its record. A broken record, and a multi-line
    record with the wrong number of fields (when ``names`` is given), is reported at the
    line where it starts, and reading resumes on the following line: one stray quote never
    swallows the rest of the file."""
    feed = _LineFeed(lines, handle, max_record_lines)
    done = 0   # physical lines consumed by finished records
    reader = csv.reader(feed, **csv_options)
    while done < len(lines) or feed.pending:
        line = first_line + done
        feed.start_record()
        try:
            record = next(reader)
        except StopIteration:
            break
        except _RecordTooLong:
            record = _unclosed_quote(path, line, max_record_lines, at_end=False)
        except csv.Error as error:
            record = (_unclosed_quote(path, line, max_record_lines, True) if feed.exhausted
                      else BadLine(path, line, None, f"CSV error: {error}"))
        else:
            if feed.exhausted and record:
                record = _unclosed_quote(path, line, max_record_lines, at_end=True)
            elif names is not None and record and len(record) != len(names):
                record = field_count_error(path, names, line, len(record))
        if isinstance(record, BadLine) and len(feed.record) > 1:
            feed.restart_after_first_line()
            reader = csv.reader(feed, **csv_options)
            done += 1
        else:
            done += len(feed.record)
        if record:
            yield line, record
    yield done, None


def read_preamble(handle, skip_rows, header, csv_options, max_record_lines, path):
    """``(header or None, physical lines spanned)``: skip ``skip_rows`` records (blank
    ones count), then read the header (the next non-blank record) if ``header``. A broken
    record here raises `BadLineError`: the rest of the file cannot be read without it."""
    feed = _LineFeed([], handle, max_record_lines)
    reader = csv.reader(feed, **csv_options)
    done, to_skip = 0, skip_rows
    while to_skip or header:
        line = done + 1
        feed.start_record()
        try:
            record = next(reader)
        except StopIteration:
            return None, done
        except _RecordTooLong:
            raise BadLineError(_unclosed_quote(path, line, max_record_lines, False)) from None
        except csv.Error as error:
            if feed.exhausted:
                raise BadLineError(_unclosed_quote(path, line, max_record_lines, True)) \
                    from None
            raise BadLineError(BadLine(path, line, None, f"CSV error: {error}")) from None
        if feed.exhausted and record:
            raise BadLineError(_unclosed_quote(path, line, max_record_lines, True))
        done += len(feed.record)
        if to_skip:
            to_skip -= 1
        elif record:
            return record, done
    return None, done


def split_csv_block(block, first_line, handle, csv_options, positions, path, names,
                    max_record_lines=DEFAULT_MAX_RECORD_LINES):
    """Split a block with Python's ``csv`` module. A quoted field still open at the end
    of the block continues with the following lines of ``handle`` (up to
    ``max_record_lines`` lines, see `read_records`). See `FieldBlock`."""
    block_lines = list(io.StringIO(block, newline=""))
    lines, records, bad_lines = [], [], []
    n_lines = 0
    for line, record in read_records(block_lines, handle, csv_options, first_line,
                                     max_record_lines, path, names):
        if record is None:
            n_lines = line
        elif isinstance(record, BadLine):
            bad_lines.append(record)
        else:
            lines.append(line)
            records.append(record)
    texts = {position: string_column([record[position] for record in records])
             for position in positions}
    return FieldBlock(np.asarray(lines, dtype=np.int64), texts, bad_lines, n_lines)


def string_column(cells):
    """A list of str as a ``U`` array, or as an object array when the fixed-width array
    would take more than `MAX_FIXED_WIDTH_BYTES` (one long cell would otherwise make
    every row as wide as it)."""
    if not cells:
        return np.zeros(0, dtype="U1")
    widest = max(map(len, cells))
    if widest * 4 * len(cells) > MAX_FIXED_WIDTH_BYTES:
        column = np.empty(len(cells), dtype=object)
        column[:] = cells
        return column
    return np.asarray(cells, dtype=np.str_)

"""Raw columns (see `widedeep.records`) turned into tokens and numbers, vectorized.

Tokens
    Every categorical value becomes a ``str`` token: strings as they are, integers in
    decimal (``7`` -> ``"7"``), integral floats like integers (``7.0`` -> ``"7"``, so ids
    read as floats match ids read as ints), other floats by ``str``, bools as
    ``"True"``/``"False"``. A missing single value (``None``, ``""``, ``NaN``) becomes the
    empty token ``""``, which no vocabulary contains, so it lands in the OOV bucket(s); a
    hashed column hashes it like any other token. In a bag, missing and empty tokens are
    dropped (``"a||b"`` is the bag ``[a, b]``; ``""`` and ``None`` are the empty bag).
    A token longer than ``max_token_chars`` (`widedeep.limits`, default 4096) is an error
    naming the column and row: one long string would make the batch's token array as wide
    as it in every row.

Bags
    A column is a bag if it is a `Ragged`, an object array holding lists/tuples/arrays, or
    a string column read with a ``separator``. Separator-joined strings are split without
    a Python loop over rows: ``separator.join(column).split(separator)`` gives every token
    and ``np.char.count(column, separator) + 1`` how many belong to each row.

Numbers
    Numeric arrays are used as they are; string columns are parsed as floats (surrounding
    whitespace allowed). Missing (``None``, ``""``, ``NaN``) and infinite values are
    returned as ``NaN`` for the column to replace by its default or reject.
"""
from __future__ import annotations

import numpy as np

from ..limits import get_limits
from ..records import Ragged, column_array, n_rows

__all__ = ["TokenBag", "ParsedBatch", "tokens_of", "token_bag", "numbers_of", "unique_inverse"]


def unique_inverse(tokens):
    """``(unique_tokens, inverse)`` like ``np.unique(tokens, return_inverse=True)``; a
    stable argsort of strings is about twice as fast as ``np.unique``'s default path.
    Integer ``tokens`` are deduplicated as integers and only the distinct values become
    strings (sorting millions of app ids as strings costs ~10x more); the result is the
    same as for ``tokens.astype(str)``."""
    n = tokens.shape[0]
    if n == 0:
        return tokens[:0].astype(str), np.zeros(0, dtype=np.int64)
    if tokens.dtype.kind in "iu":
        unique_values, inverse = np.unique(tokens, return_inverse=True)
        unique_tokens = unique_values.astype(str)
        order = np.argsort(unique_tokens, kind="stable")   # string order: "10" < "9"
        rank = np.empty(order.shape[0], dtype=np.int64)
        rank[order] = np.arange(order.shape[0])
        return unique_tokens[order], rank[inverse.reshape(-1)]
    order = np.argsort(tokens, kind="stable")
    sorted_tokens = tokens[order]
    starts_group = np.empty(n, dtype=bool)
    starts_group[0] = True
    np.not_equal(sorted_tokens[1:], sorted_tokens[:-1], out=starts_group[1:])
    group_of_sorted = np.cumsum(starts_group) - 1
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = group_of_sorted
    return sorted_tokens[starts_group], inverse


class TokenBag:
    """The tokens of one raw column of one batch, flattened row after row.

    ``row_ids`` int64 [total] (sorted), ``unique_tokens`` str [u] (sorted),
    ``inverse`` int64 [total] (token ``k`` is ``unique_tokens[inverse[k]]``), ``weights``
    float [total] or None. ``single`` is True when every row holds exactly one token
    (``row_ids == arange(n_rows)``).
    """

    __slots__ = ("n_rows", "row_ids", "unique_tokens", "inverse", "weights", "single")

    def __init__(self, n_rows, row_ids, tokens, weights=None, single=False):
        self.n_rows = int(n_rows)
        self.row_ids = row_ids
        self.unique_tokens, self.inverse = unique_inverse(tokens)
        self.weights = weights
        self.single = single

    def token_counts(self):
        """Occurrences of each of ``unique_tokens``, int64 [u]."""
        return np.bincount(self.inverse, minlength=self.unique_tokens.shape[0])


def check_token_lengths(tokens, column, row_of=None):
    """Raise ``ValueError`` naming the column and row if a token of ``tokens`` (a ``U``/
    ``S`` array or a list of str) is longer than ``max_token_chars``; ``row_of[k]`` is the
    row of token ``k`` (default ``k``)."""
    limit = get_limits().max_token_chars
    if isinstance(tokens, np.ndarray):
        width = tokens.dtype.itemsize // (4 if tokens.dtype.kind == "U" else 1)
        if width <= limit:
            return
        lengths = np.char.str_len(tokens)
    else:
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    too_long = np.flatnonzero(lengths > limit)
    if too_long.size:
        k = int(too_long[0])
        row = k if row_of is None else int(row_of[k])
        raise ValueError(f"column {column!r} row {row}: a categorical value of "
                         f"{int(lengths[k])} characters is longer than max_token_chars="
                         f"{limit} (see widedeep.limits to raise it)")


def tokens_of(values, column, row_of=None):
    """One ``str`` token per value of a 1-d array (rules in the module docstring);
    ``row_of[k]`` is the row of value ``k`` for error messages (default ``k``)."""
    values = np.asarray(values)
    kind = values.dtype.kind
    if kind == "U":
        check_token_lengths(values, column, row_of)
        return values
    if kind == "S":
        check_token_lengths(values, column, row_of)
        try:
            return np.char.decode(values, "utf-8")
        except UnicodeDecodeError:
            tokens = [_object_token(v, column, k if row_of is None else int(row_of[k]))
                      for k, v in enumerate(values.tolist())]   # raises naming the row
            return np.array(tokens, dtype=str)
    if kind in "iu":
        return values.astype(str)
    if kind == "b":
        return np.where(values, "True", "False")
    if kind == "f":
        finite = np.isfinite(values)
        integral = finite & (values == np.floor(values)) & (np.abs(values) < 2.0 ** 53)
        tokens = values.astype(str).astype(object)
        tokens[integral] = values[integral].astype(np.int64).astype(str)
        tokens[~finite] = ""
        return tokens.astype(str)
    if kind == "O":
        if not values.size:
            return np.array([], dtype=str)
        rows = range(values.shape[0]) if row_of is None else row_of.tolist()
        tokens = [_object_token(v, column, row) for v, row in zip(values.tolist(), rows)]
        check_token_lengths(tokens, column, row_of)
        return np.array(tokens, dtype=str)
    raise TypeError(f"column {column!r}: cannot read values of dtype {values.dtype} as "
                    f"categorical tokens")


def _object_token(value, column, row):
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(f"column {column!r} row {row}: bytes {value[:20]!r} are not "
                             f"UTF-8 text ({error.reason})") from None
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return ""
        if value == int(value) and abs(value) < 2.0 ** 53:
            return str(int(value))
        return str(float(value))
    raise TypeError(f"column {column!r} row {row}: cannot read a {type(value).__name__} "
                    f"({value!r:.50}) as a categorical token")


def _is_list_like(value):
    return isinstance(value, (list, tuple, np.ndarray))


def token_bag(values, column, separator=None):
    """A `TokenBag` of a raw column: single-valued, `Ragged`, lists, or joined strings."""
    if isinstance(values, Ragged):
        return _bag_from_ragged(values, column)
    values = values if isinstance(values, np.ndarray) else column_array(list(values))
    if values.ndim != 1:
        raise ValueError(f"column {column!r}: expected a 1-d column, got shape {values.shape}")
    n = values.shape[0]
    if values.dtype.kind == "O" and any(_is_list_like(v) for v in values.tolist()):
        lists = []
        for row, v in enumerate(values.tolist()):
            if v is None:
                lists.append([])
            elif _is_list_like(v):
                lists.append(list(v))
            elif isinstance(v, str) and separator is not None:
                lists.append(v.split(separator))
            else:
                raise TypeError(f"column {column!r} row {row}: expected a list of values, "
                                f"got {type(v).__name__} {v!r}")
        return _bag_from_ragged(Ragged.from_lists(lists), column)
    if separator is None:
        # integers go to TokenBag as they are: unique_inverse stringifies only distinct ones
        tokens = values if values.dtype.kind in "iu" else tokens_of(values, column)
        return TokenBag(n, np.arange(n, dtype=np.int64), tokens, None, single=True)
    tokens = tokens_of(values, column)
    return _bag_from_joined(tokens, separator, column)


def _bag_from_joined(tokens, separator, column):
    n = tokens.shape[0]
    if n == 0:
        return TokenBag(0, np.zeros(0, np.int64), np.array([], dtype=str))
    # every piece is a part of one checked token, so no longer than max_token_chars
    pieces = np.array(separator.join(tokens.tolist()).split(separator), dtype=str)
    pieces_per_row = np.char.count(tokens, separator).astype(np.int64) + 1
    row_ids = np.repeat(np.arange(n, dtype=np.int64), pieces_per_row)
    keep = pieces != ""
    return TokenBag(n, row_ids[keep], pieces[keep])


def _bag_from_ragged(ragged, column):
    n = len(ragged)
    if ragged.values.dtype.kind in "iu":
        tokens = ragged.values      # never missing; unique_inverse stringifies distinct ones
    else:
        tokens = tokens_of(ragged.values, column, ragged.row_ids) if ragged.values.size \
            else np.array([], str)
    row_ids = ragged.row_ids
    weights = ragged.weights
    keep = tokens != "" if tokens.dtype.kind in "US" else np.ones(tokens.shape[0], bool)
    if not np.all(keep):
        tokens, row_ids = tokens[keep], row_ids[keep]
        weights = None if weights is None else weights[keep]
    if weights is not None and not np.all(np.isfinite(weights)):
        bad = int(np.flatnonzero(~np.isfinite(weights))[0])
        raise ValueError(f"column {column!r} row {int(row_ids[bad])}: non-finite weight "
                         f"{weights[bad]}")
    return TokenBag(n, row_ids, tokens, weights)


def numbers_of(values, column):
    """float64 [n] of a numeric raw column, ``NaN`` where missing or infinite."""
    if isinstance(values, Ragged):
        raise TypeError(f"column {column!r}: a numeric column cannot be multi-valued "
                        f"(got a Ragged column)")
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"column {column!r}: expected a 1-d column, got shape {values.shape}")
    kind = values.dtype.kind
    if kind in "iufb":
        numbers = values.astype(np.float64)
    elif kind in "US":
        numbers = _parse_strings(values, column)
    elif kind == "O":
        numbers = np.array([_object_number(v, column, row)
                            for row, v in enumerate(values.tolist())], dtype=np.float64)
    else:
        raise TypeError(f"column {column!r}: cannot read values of dtype {values.dtype} as "
                        f"numbers")
    numbers[~np.isfinite(numbers)] = np.nan
    return numbers


def _parse_strings(values, column):
    if values.dtype.kind == "S":
        try:
            values = np.char.decode(values, "utf-8")
        except UnicodeDecodeError:
            for row, value in enumerate(values.tolist()):
                _object_number(value, column, row)   # raises naming the row
            raise
    numbers = np.full(values.shape[0], np.nan)
    present = np.char.str_len(np.char.strip(values)) > 0
    texts = values[present].tolist()
    try:
        # float() per value is ~4x faster than ndarray.astype(float64) on str arrays
        numbers[present] = np.fromiter(map(float, texts), dtype=np.float64, count=len(texts))
    except ValueError:
        for row in np.flatnonzero(present).tolist():
            _object_number(str(values[row]), column, row)
        raise
    return numbers


def _object_number(value, column, row):
    if value is None:
        return np.nan
    if isinstance(value, (str, bytes)):
        try:
            text = value.decode("utf-8") if isinstance(value, bytes) else value
        except UnicodeDecodeError as error:
            raise ValueError(f"column {column!r} row {row}: bytes {value[:20]!r} are not "
                             f"UTF-8 text ({error.reason})") from None
        if text.strip() == "":
            return np.nan
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"column {column!r} row {row}: cannot parse {text!r} as a "
                             f"number") from None
    if isinstance(value, (int, float, np.integer, np.floating, bool, np.bool_)):
        try:
            return float(value)
        except OverflowError:
            raise ValueError(f"column {column!r} row {row}: the integer {str(value)[:20]}... "
                             f"({len(str(value))} digits) is too large for a float") from None
    raise TypeError(f"column {column!r} row {row}: expected a number, got "
                    f"{type(value).__name__} {value!r:.50}")


class ParsedBatch:
    """One raw column batch with per-batch caches, so a raw column read by several feature
    columns (``age`` numeric and ``age_buckets``) is parsed once."""

    def __init__(self, columns):
        self.columns = columns
        self.n_rows = n_rows(columns)
        self._cache = {}

    def raw(self, source):
        return self.columns[source]

    def bag(self, source, separator=None):
        key = ("bag", source, separator)
        if key not in self._cache:
            self._cache[key] = token_bag(self.columns[source], source, separator)
        return self._cache[key]

    def numbers(self, source):
        key = ("numbers", source)
        if key not in self._cache:
            self._cache[key] = numbers_of(self.columns[source], source)
        return self._cache[key]

    def cached(self, key, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

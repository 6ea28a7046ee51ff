"""Which row of an old id space holds each row of a new one: by token, or by id.

An *id space* is the set of ids of one embedding table or one wide field. It is either
described by tokens (``tokens[i]`` is the token of id ``i``, e.g. from a vocabulary) or is a
space whose ids are their own tokens (hash buckets, crosses): then rows carry over by id,
and only when both spaces have the same size (a different modulus scatters every token).

Matching is vectorized: old and new tokens are sorted together once and equal neighbours
pair up; there is no Python loop over rows.
"""
from __future__ import annotations

import re

import numpy as np

__all__ = ["IdSpace", "id_space", "match_rows", "is_hashed_tokens"]

_HASHED = re.compile(r"^<(?:.*:)?hash:(\d+)>$")


class IdSpace:
    """``size`` ids, described by ``tokens`` (array of str, one per id) or by nothing
    (``tokens=None``: the ids are the tokens)."""

    __slots__ = ("size", "tokens")

    def __init__(self, size, tokens=None):
        self.size = int(size)
        self.tokens = tokens

    @property
    def hashed(self):
        return self.tokens is None


def is_hashed_tokens(tokens):
    """True for the id tokens of hashed fields and crosses: ``"<hash:0>" ... "<hash:n-1>"``
    (optionally ``"<name:hash:k>"``); checked at the first and the last id."""
    if len(tokens) == 0:
        return False
    first, last = _HASHED.match(str(tokens[0])), _HASHED.match(str(tokens[-1]))
    return bool(first and last and int(first.group(1)) == 0
                and int(last.group(1)) == len(tokens) - 1)


def id_space(size, tokens, where):
    """An `IdSpace` of ``size`` ids from a token list (or None); ``ValueError`` naming
    ``where`` if the token count differs from ``size`` or a token repeats."""
    if tokens is None or is_hashed_tokens(tokens):
        return IdSpace(size)
    array = np.asarray(list(tokens) if not isinstance(tokens, np.ndarray) else tokens,
                       dtype=str)
    if array.ndim != 1 or array.shape[0] != size:
        raise ValueError(f"{where}: {array.shape[0] if array.ndim == 1 else array.shape} "
                         f"tokens for {size} ids")
    return IdSpace(size, array)


def match_rows(old, new):
    """``(new_rows, old_rows, how, reason)``: row ``new_rows[k]`` of the new space is row
    ``old_rows[k]`` of the old one. ``how`` is "token", "id" or "none" (nothing carried,
    ``reason`` says why)."""
    empty = np.zeros(0, dtype=np.int64)
    if old.hashed and new.hashed:
        if old.size != new.size:
            return empty, empty, "none", (f"ids are hash buckets and the hash space changed "
                                          f"({old.size} -> {new.size})")
        rows = np.arange(new.size, dtype=np.int64)
        return rows, rows, "id", ""
    if old.hashed != new.hashed:
        which = "old" if old.hashed else "new"
        return empty, empty, "none", (f"the {which} ids are hash buckets, the other side has "
                                      f"a vocabulary")
    # One stable sort of old and new tokens together: a token present on both sides ends
    # up as an adjacent (old, new) pair. (Faster than searchsorted on strings, which
    # compares strings at random memory locations.)
    both = np.concatenate([old.tokens, new.tokens])
    order = np.argsort(both, kind="stable")
    ordered = both[order]
    pair = np.flatnonzero(ordered[1:] == ordered[:-1])
    left, right = order[pair], order[pair + 1]
    same_side = (left < old.size) == (right < old.size)
    if np.any(same_side):
        k = int(np.flatnonzero(same_side)[0])
        side = "old" if left[k] < old.size else "new"
        raise ValueError(f"{side} token {str(ordered[pair[k]])!r} names two ids")
    new_rows = (right - old.size).astype(np.int64)
    old_rows = left.astype(np.int64)
    by_new_row = np.argsort(new_rows)
    new_rows, old_rows = new_rows[by_new_row], old_rows[by_new_row]
    return new_rows, old_rows, "token", ""

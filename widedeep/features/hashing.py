"""Stable 64-bit string hashing, vectorized over NumPy arrays.

Hashed columns, crossed columns and extra out-of-vocabulary buckets all need an id that is
the same in every process, on every machine and under every Python version, so a model
trained today serves tomorrow's requests. Python's built-in ``hash()`` of a ``str`` is
salted per process (``PYTHONHASHSEED``), so it is never used here.

The hash of a token is::

    h = FNV-1a-64(UTF-8 bytes of the token)        offset 0xcbf29ce484222325,
                                                   prime  0x100000001b3
    stable_hash(token) = fmix64(h)                 MurmurHash3's 64-bit finalizer

FNV-1a alone has weak low bits for short keys, and ids are taken ``mod n_buckets``, so the
finalizer spreads every input bit over the low bits. Crossed features combine the 64-bit
hashes of their parts with `combine_hashes`, which is order dependent
(``a x b`` and ``b x a`` differ) and also stable.

All arithmetic is ``uint64`` with wrap-around, done column by column over an array of
tokens: the loop runs over byte positions (at most the longest token's length), never over
tokens. Callers hash only the distinct values of a batch (``np.unique``) and gather.

NumPy string arrays cannot hold trailing NUL characters (``"a\\x00"`` is stored as ``"a"``),
so such tokens hash like their stripped form.

>>> fnv1a_64(["", "a", "foobar"]).tolist() == [0xcbf29ce484222325, 0xaf63dc4c8601ec8c,
...                                           0x85944171f73967e8]
True
>>> bool(hash_to_buckets(["a", "b", "a"], 1000)[0] == hash_to_buckets(["a"], 1000)[0])
True
"""
from __future__ import annotations

import numpy as np

__all__ = ["fnv1a_64", "fmix64", "stable_hash", "hash_to_buckets", "combine_hashes"]

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_FMIX_1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX_2 = np.uint64(0xC4CEB9FE1A85EC53)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SHIFT_33 = np.uint64(33)


def _as_unicode(tokens):
    tokens = np.asarray(tokens)
    if tokens.dtype.kind == "U":
        return tokens.reshape(-1)
    if tokens.dtype.kind == "S":
        return np.char.decode(tokens.reshape(-1), "utf-8")
    return tokens.reshape(-1).astype(str)


def fnv1a_64(tokens):
    """FNV-1a 64-bit hash of the UTF-8 bytes of each token, ``uint64 [n]``."""
    tokens = _as_unicode(tokens)
    n = tokens.shape[0]
    hashes = np.full(n, _FNV_OFFSET, dtype=np.uint64)
    if n == 0 or tokens.dtype.itemsize == 0:
        return hashes
    byte_matrix, lengths = _utf8_bytes(tokens)
    width = byte_matrix.shape[1]
    shortest = int(lengths.min())
    with np.errstate(over="ignore"):
        # Every token has a byte at the positions below the shortest length: no masking.
        for position in range(shortest):
            hashes ^= byte_matrix[:, position]
            hashes *= _FNV_PRIME
        if shortest == width:
            return hashes
        # Sort by length once so that each later position touches a contiguous tail of rows.
        order = np.argsort(lengths, kind="stable")
        sorted_lengths = lengths[order]
        sorted_bytes = byte_matrix[order]
        sorted_hashes = hashes[order]
        for position in range(shortest, width):
            active = slice(int(np.searchsorted(sorted_lengths, position, side="right")), n)
            sorted_hashes[active] = ((sorted_hashes[active] ^ sorted_bytes[active, position])
                                     * _FNV_PRIME)
    hashes[order] = sorted_hashes
    return hashes


def _utf8_bytes(tokens):
    """``(bytes uint64 [n, width], lengths [n])`` of the UTF-8 encoding of a ``U`` array.
    ASCII text (the usual ids and names) is read straight from the array's UTF-32 code
    points, which then equal the UTF-8 bytes; other text is encoded."""
    n = tokens.shape[0]
    codes = tokens.view(np.uint32).reshape(n, tokens.dtype.itemsize // 4)
    if codes.max() < 0x80:
        return codes.astype(np.uint64), np.char.str_len(tokens)
    encoded = np.char.encode(tokens, "utf-8")
    byte_matrix = np.frombuffer(encoded.tobytes(), dtype=np.uint8).reshape(
        n, encoded.dtype.itemsize)
    return byte_matrix.astype(np.uint64), np.char.str_len(encoded)


def fmix64(hashes):
    """MurmurHash3's 64-bit finalizer (a bijection on ``uint64`` that mixes all bits)."""
    h = np.array(hashes, dtype=np.uint64, copy=True)
    with np.errstate(over="ignore"):
        h ^= h >> _SHIFT_33
        h *= _FMIX_1
        h ^= h >> _SHIFT_33
        h *= _FMIX_2
        h ^= h >> _SHIFT_33
    return h


def stable_hash(tokens):
    """``fmix64(fnv1a_64(token))`` for each token, ``uint64 [n]``; non-string tokens are
    hashed by their ``str()``."""
    return fmix64(fnv1a_64(tokens))


def hash_to_buckets(tokens, n_buckets):
    """Bucket ``stable_hash(token) mod n_buckets`` of each token, ``int64 [n]``. Hashes
    each distinct token once."""
    n_buckets = _check_buckets(n_buckets)
    tokens = _as_unicode(tokens)
    unique_tokens, inverse = np.unique(tokens, return_inverse=True)
    buckets = (stable_hash(unique_tokens) % np.uint64(n_buckets)).astype(np.int64)
    return buckets[inverse.reshape(-1)]


def combine_hashes(left, right):
    """Order-dependent stable combination of two ``uint64`` hash arrays (same shape):
    ``fmix64((left * 0x9E3779B97F4A7C15) xor right)``."""
    left = np.asarray(left, dtype=np.uint64)
    right = np.asarray(right, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return fmix64((left * _GOLDEN) ^ right)


def _check_buckets(n_buckets):
    if isinstance(n_buckets, (bool, np.bool_)) or not isinstance(n_buckets, (int, np.integer)):
        raise TypeError(f"the number of hash buckets must be an int, got {n_buckets!r}")
    if n_buckets < 1:
        raise ValueError(f"the number of hash buckets must be >= 1, got {n_buckets}")
    return int(n_buckets)

"""`Vocabulary`: token -> id for categorical columns, given or learned by counting.

Id layout (``size = num_oov_buckets + len(tokens)``)::

    0 .. num_oov_buckets-1          out-of-vocabulary buckets
    num_oov_buckets + k             the k-th token

A token not in the vocabulary (unseen at fit, below ``min_count``, cut by ``max_size``, or
missing, i.e. the empty token) goes to OOV bucket 0, or with ``num_oov_buckets > 1`` to
bucket ``stable_hash(token) mod num_oov_buckets`` — never an error.

Learned order is deterministic: count descending, then token ascending (code-point order),
keeping tokens seen at least ``min_count`` times and at most ``max_size`` of them. Counting
streams: `observe` adds one batch's distinct tokens and their counts, so memory is the
number of distinct tokens, not the number of rows.

Several columns may share one `Vocabulary` object (``movie_id`` and ``history_movies``):
it then counts the union of their values and the columns share one embedding table.

Lookup is vectorized: the distinct tokens of a batch are found in the sorted token array
with ``np.searchsorted``; there is no per-row dictionary lookup.

>>> v = Vocabulary("color", min_count=2)
>>> v.observe(np.array(["red", "blue", "red", "green", "blue", "red"]))
>>> v.finish_fit().tokens_
['red', 'blue']
>>> v.lookup(np.array(["blue", "purple", "red"])).tolist()
[2, 0, 1]
"""
from __future__ import annotations

import numpy as np

from .hashing import stable_hash

__all__ = ["Vocabulary", "OOV_TOKEN"]

OOV_TOKEN = "<OOV>"


class Vocabulary:
    """Token -> id mapping with reserved out-of-vocabulary bucket(s).

    Parameters
    ----------
    name : str
        Vocabulary (and embedding table) name.
    tokens : sequence of str, optional
        A given vocabulary, in id order. If None the vocabulary is learned by `FeatureSpec.fit`.
    min_count : int
        Learned vocabularies keep tokens seen at least this many times.
    max_size : int, optional
        Learned vocabularies keep at most this many tokens (the most frequent).
    num_oov_buckets : int
        Number of reserved ids for out-of-vocabulary and missing values (>= 1).
    """

    def __init__(self, name, *, tokens=None, min_count=1, max_size=None, num_oov_buckets=1):
        if not isinstance(name, str) or not name:
            raise TypeError(f"vocabulary name must be a non-empty str, got {name!r}")
        self.name = name
        self.min_count = _check_int(min_count, "min_count", name, minimum=1)
        self.max_size = None if max_size is None else _check_int(max_size, "max_size", name,
                                                                 minimum=0)
        self.num_oov_buckets = _check_int(num_oov_buckets, "num_oov_buckets", name, minimum=1)
        self.given = tokens is not None
        self.tokens_ = None
        self._counts = {}
        self._n_missing = 0
        self.stats_ = None
        if self.given:
            self._set_tokens(_check_tokens(tokens, name))

    # ------------------------------------------------------------------ learning
    def start_fit(self):
        """Forget counts (a learned vocabulary) before a new streaming pass."""
        self._counts = {}
        self._n_missing = 0
        self.stats_ = None
        if not self.given:
            self.tokens_ = None

    def observe(self, tokens, counts=None):
        """Add occurrences: ``tokens`` str array (distinct if ``counts`` is given)."""
        tokens = np.asarray(tokens, dtype=str)
        if counts is None:
            tokens, counts = np.unique(tokens, return_counts=True)
        missing = tokens == ""
        if np.any(missing):
            self._n_missing += int(np.asarray(counts)[missing].sum())
            tokens, counts = tokens[~missing], np.asarray(counts)[~missing]
        table = self._counts
        for token, count in zip(tokens.tolist(), np.asarray(counts).tolist()):
            table[token] = table.get(token, 0) + count

    def count_state(self):
        """The counts of the fit in progress, ``{"counts": {token: n}, "n_missing": n}``
        (plain data), for `merge_counts` into the vocabulary of a larger stream."""
        return {"counts": dict(self._counts), "n_missing": self._n_missing}

    def merge_counts(self, state):
        """Add counts recorded by another fit (`count_state`); integer sums, so merging
        the parts of a stream equals observing it whole."""
        table = self._counts
        for token, count in state["counts"].items():
            table[token] = table.get(token, 0) + count
        self._n_missing += int(state["n_missing"])

    def finish_fit(self):
        """Choose the tokens (learned vocabularies) and record statistics; returns self."""
        seen = np.array(list(self._counts.keys()), dtype=str)
        counts = np.fromiter(self._counts.values(), dtype=np.int64, count=len(self._counts))
        total = int(counts.sum())
        if not self.given:
            order = np.lexsort((seen, -counts))
            seen, counts = seen[order], counts[order]
            keep = counts >= self.min_count
            kept = seen[keep]
            if self.max_size is not None:
                kept = kept[:self.max_size]
            self._set_tokens(kept.tolist())
        in_vocabulary = self._lookup_known(seen) >= 0 if seen.size else np.zeros(0, bool)
        covered = int(counts[in_vocabulary].sum())
        n_values = total + self._n_missing
        self.stats_ = {
            "n_values": n_values,
            "n_distinct_seen": int(seen.shape[0]),
            "n_missing": self._n_missing,
            "oov_rate": (n_values - covered) / n_values if n_values else 0.0,
        }
        self._counts = {}
        return self

    @property
    def fitted(self):
        return self.tokens_ is not None

    # ------------------------------------------------------------------ lookup
    @property
    def size(self):
        """Number of ids (rows of the embedding table): OOV buckets + tokens."""
        self._require_fitted()
        return self.num_oov_buckets + len(self.tokens_)

    def lookup(self, tokens):
        """Id of each token, int64 [n]; unknown and empty tokens get an OOV bucket."""
        self._require_fitted()
        tokens = np.asarray(tokens, dtype=str)
        ids = self._lookup_known(tokens)
        unknown = ids < 0
        if np.any(unknown):
            if self.num_oov_buckets == 1:
                ids[unknown] = 0
            else:
                ids[unknown] = (stable_hash(tokens[unknown])
                                % np.uint64(self.num_oov_buckets)).astype(np.int64)
        return ids

    def id_tokens(self):
        """Token of each id: ``"<OOV>"`` (or ``"<OOV:k>"``) for OOV buckets, then tokens."""
        self._require_fitted()
        oov = [OOV_TOKEN] if self.num_oov_buckets == 1 else \
            [f"<OOV:{k}>" for k in range(self.num_oov_buckets)]
        return oov + list(self.tokens_)

    def _lookup_known(self, tokens):
        """Id of each token, -1 where absent."""
        ids = np.full(tokens.shape[0], -1, dtype=np.int64)
        if self._sorted_tokens.shape[0] == 0 or tokens.shape[0] == 0:
            return ids
        positions = np.searchsorted(self._sorted_tokens, tokens)
        positions = np.minimum(positions, self._sorted_tokens.shape[0] - 1)
        found = self._sorted_tokens[positions] == tokens
        ids[found] = self._sorted_ids[positions[found]]
        return ids

    def _set_tokens(self, tokens):
        self.tokens_ = list(tokens)
        array = np.array(self.tokens_, dtype=str) if self.tokens_ else np.array([], dtype=str)
        order = np.argsort(array, kind="stable")
        self._sorted_tokens = array[order]
        self._sorted_ids = order.astype(np.int64) + self.num_oov_buckets

    def _require_fitted(self):
        if self.tokens_ is None:
            raise RuntimeError(f"vocabulary {self.name!r} is not learned yet; call "
                               f"FeatureSpec.fit(batches) first")

    # ------------------------------------------------------------------ serialization
    def to_dict(self):
        return {"name": self.name, "given": self.given, "min_count": self.min_count,
                "max_size": self.max_size, "num_oov_buckets": self.num_oov_buckets,
                "tokens": self.tokens_, "stats": self.stats_}

    @classmethod
    def from_dict(cls, data):
        vocabulary = cls(data["name"], tokens=data["tokens"] if data["given"] else None,
                         min_count=data["min_count"], max_size=data["max_size"],
                         num_oov_buckets=data["num_oov_buckets"])
        if not data["given"] and data["tokens"] is not None:
            vocabulary._set_tokens(data["tokens"])
        vocabulary.stats_ = data.get("stats")
        return vocabulary

    def __repr__(self):
        size = len(self.tokens_) if self.tokens_ is not None else "?"
        return (f"Vocabulary({self.name!r}, tokens={size}, "
                f"num_oov_buckets={self.num_oov_buckets})")


def _check_int(value, what, name, minimum):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"vocabulary {name!r}: {what} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"vocabulary {name!r}: {what} must be >= {minimum}, got {value}")
    return int(value)


def _check_tokens(tokens, name):
    if isinstance(tokens, str):
        raise TypeError(f"vocabulary {name!r}: tokens must be a sequence of str, got one str")
    tokens = [str(t) for t in tokens]
    if "" in tokens:
        raise ValueError(f"vocabulary {name!r}: the empty token is reserved for missing "
                         f"values and cannot be in a vocabulary")
    seen = set()
    for token in tokens:
        if token in seen:
            raise ValueError(f"vocabulary {name!r}: token {token!r} appears twice")
        seen.add(token)
    return tokens

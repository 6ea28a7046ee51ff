"""Categorical feature columns: the shared column contract, vocabulary and hashed columns.

A feature column is declared once and used for training and serving. It reads one raw
column (``source``, default: its own ``name``) of a column batch and produces the field
``name`` of the feature dict:

- a sparse field (`SparseInput`, ids in ``[0, n_ids)``) that feeds the wide part
  (``wide=True``: one FTRL model of ``n_ids`` coordinates) and/or the deep part
  (``embedding_dim=d``: rows of the embedding table ``vocabulary_name`` of shape
  ``(n_ids, d)``, pooled with ``combiner``);
- numeric columns (`widedeep.features.numeric`) instead fill one column of a dense field.

A column that feeds neither part is legal: it can still be a component of a
`CrossedColumn`. Both categorical columns accept single values, `Ragged` bags, lists, or
(with ``separator``) separator-joined strings; see `widedeep.features.parsing` for how
missing values and bags are read. Per-value weights of a `Ragged` column become the
``feature_values`` of the field (1.0 otherwise).
"""
from __future__ import annotations

import numpy as np

from ..inputs import SparseInput
from .casting import to_model_dtype
from .hashing import _check_buckets, stable_hash
from .vocabulary import Vocabulary

__all__ = ["FeatureColumn", "CategoricalColumn", "HashedColumn", "COMBINERS"]

COMBINERS = ("sum", "mean", "sqrtn")


class FeatureColumn:
    """Base of every column: the name, which parts it feeds, and the fit/transform hooks
    `FeatureSpec` calls. Not used directly."""

    type_name = None
    is_dense = False

    def __init__(self, name, *, wide, embedding_dim, combiner):
        if not isinstance(name, str) or not name:
            raise TypeError(f"a column name must be a non-empty str, got {name!r}")
        self.name = name
        if not isinstance(wide, (bool, np.bool_)):
            raise TypeError(f"column {name!r}: wide must be True or False, got {wide!r}")
        self.wide = bool(wide)
        if embedding_dim is not None:
            if isinstance(embedding_dim, (bool, np.bool_)) \
                    or not isinstance(embedding_dim, (int, np.integer)):
                raise TypeError(f"column {name!r}: embedding_dim must be an int or None, got "
                                f"{embedding_dim!r}")
            if embedding_dim < 1:
                raise ValueError(f"column {name!r}: embedding_dim must be >= 1, got "
                                 f"{embedding_dim}")
            embedding_dim = int(embedding_dim)
        self.embedding_dim = embedding_dim
        if combiner not in COMBINERS:
            raise ValueError(f"column {name!r}: combiner must be one of {COMBINERS}, got "
                             f"{combiner!r}")
        self.combiner = combiner

    # What the spec asks of every column --------------------------------------------
    @property
    def deep(self):
        """True if the column feeds the deep part."""
        return self.embedding_dim is not None

    @property
    def sources(self):
        """Raw columns this column reads."""
        return (self.source,)

    @property
    def needs_fit(self):
        return False

    def start_fit(self, summary_start=0):
        """Begin a fit; ``summary_start``: stream position of the first value a quantile
        summary gets (a fit of a later part of the data, see `FeatureSpec.fit_state`)."""

    def observe(self, batch):
        pass

    def finish_fit(self):
        pass

    @property
    def has_summary(self):
        """True if fitting keeps a quantile summary (see `summary_count`)."""
        return False

    def summary_count(self, batch):
        """Values of ``batch`` this column's quantile summary takes (None: no summary)."""
        return None

    def fit_state(self):
        """The column's own fit accumulators as plain data (None: nothing to merge)."""
        return None

    def merge_fit_state(self, state):
        """Add the accumulators of a later part of the data (`fit_state`)."""

    @property
    def vocabulary_name(self):
        """Name of the embedding table of the deep part (the column's own by default)."""
        return self.name

    def report(self):
        return {"type": self.type_name, "wide": self.wide, "embedding_dim": self.embedding_dim}

    def config(self):
        """JSON-able constructor arguments (learned state excluded)."""
        raise NotImplementedError

    def state(self):
        """JSON-able learned state."""
        return {}

    def set_state(self, state):
        pass

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})"

    def _sparse(self, batch, ids):
        bag = batch.bag(self.source, self.separator)
        weights = None if bag.weights is None else to_model_dtype(bag.weights, self.name,
                                                                  bag.row_ids)
        # ids come from the vocabulary or the hash, rows sorted, weights checked above
        return SparseInput(bag.row_ids, ids, weights, n_examples=bag.n_rows,
                           field=self.name, validate=False)


class CategoricalColumn(FeatureColumn):
    """Categorical values mapped through a `Vocabulary` (learned, given, or shared).

    Parameters
    ----------
    name : str
        Field name in the feature dict.
    source : str, optional
        Raw column to read (default ``name``).
    vocabulary : None | sequence of str | Vocabulary
        None: learn a vocabulary named ``name`` from the data; a sequence: the given
        tokens in id order; a `Vocabulary`: use (and possibly share) that vocabulary.
    min_count, max_size, num_oov_buckets
        Settings of the column's own vocabulary (see `Vocabulary`; defaults 1, None, 1).
        Not allowed together with a `Vocabulary` object, which carries its own.
    separator : str, optional
        Read string values as separator-joined bags (``"a|b"``).
    wide : bool
        Feed the wide part.
    embedding_dim : int, optional
        Feed the deep part with embeddings of this dimension.
    combiner : {"sum", "mean", "sqrtn"}
        How the deep part pools a bag's embeddings.

    Ids: ``0 .. num_oov_buckets-1`` are OOV/missing, then the vocabulary's tokens.
    """

    type_name = "categorical"

    def __init__(self, name, *, source=None, vocabulary=None, min_count=None, max_size=None,
                 num_oov_buckets=None, separator=None, wide=True, embedding_dim=None,
                 combiner="sum"):
        super().__init__(name, wide=wide, embedding_dim=embedding_dim, combiner=combiner)
        self.source = _check_source(source, name)
        self.separator = _check_separator(separator, name)
        own_settings = {"min_count": min_count, "max_size": max_size,
                        "num_oov_buckets": num_oov_buckets}
        if isinstance(vocabulary, Vocabulary):
            given = [k for k, v in own_settings.items() if v is not None]
            if given:
                raise ValueError(f"column {name!r}: {', '.join(given)} cannot be set on a "
                                 f"column that uses Vocabulary {vocabulary.name!r}; set "
                                 f"them on the Vocabulary")
            self.vocabulary = vocabulary
        elif vocabulary is None or isinstance(vocabulary, (list, tuple, np.ndarray)):
            self.vocabulary = Vocabulary(
                name, tokens=vocabulary,
                min_count=1 if min_count is None else min_count, max_size=max_size,
                num_oov_buckets=1 if num_oov_buckets is None else num_oov_buckets)
        else:
            raise TypeError(f"column {name!r}: vocabulary must be None, a sequence of tokens "
                            f"or a Vocabulary, got {type(vocabulary).__name__}")

    @property
    def vocabulary_name(self):
        return self.vocabulary.name

    @property
    def needs_fit(self):
        return not self.vocabulary.given

    def observe(self, batch):
        bag = batch.bag(self.source, self.separator)
        self.vocabulary.observe(bag.unique_tokens, bag.token_counts())

    @property
    def n_ids(self):
        return self.vocabulary.size

    def transform(self, batch):
        bag = batch.bag(self.source, self.separator)
        ids = self.vocabulary.lookup(bag.unique_tokens)[bag.inverse]
        return self._sparse(batch, ids)

    def cross_keys(self, batch):
        """Row and 64-bit key of each value: crosses hash the raw token, not the id, so a
        cross does not depend on ``min_count``."""
        return _token_keys(batch, self.source, self.separator)

    def id_tokens(self):
        return self.vocabulary.id_tokens()

    def entry_labels(self, batch, positions):
        """``"name=token"`` of the values at ``positions`` of the batch's bag (the order
        of `cross_keys`), for naming crosses."""
        return _entry_labels(self, batch, positions)

    def report(self):
        out = super().report()
        out.update(vocabulary=self.vocabulary.name, n_ids=self.n_ids
                   if self.vocabulary.fitted else None)
        return out

    def config(self):
        return {"name": self.name, "source": self.source, "vocabulary": self.vocabulary.name,
                "separator": self.separator, "wide": self.wide,
                "embedding_dim": self.embedding_dim, "combiner": self.combiner}


class HashedColumn(FeatureColumn):
    """Categorical values hashed into ``hash_buckets`` ids with `stable_hash` (the same id
    in every process); no vocabulary to learn. Parameters as `CategoricalColumn`."""

    type_name = "hashed"

    def __init__(self, name, hash_buckets, *, source=None, separator=None, wide=True,
                 embedding_dim=None, combiner="sum"):
        super().__init__(name, wide=wide, embedding_dim=embedding_dim, combiner=combiner)
        try:
            self.hash_buckets = _check_buckets(hash_buckets)
        except (TypeError, ValueError) as error:
            raise type(error)(f"column {name!r}: {error}") from None
        self.source = _check_source(source, name)
        self.separator = _check_separator(separator, name)

    @property
    def n_ids(self):
        return self.hash_buckets

    def transform(self, batch):
        bag = batch.bag(self.source, self.separator)
        unique_ids = (stable_hash(bag.unique_tokens)
                      % np.uint64(self.hash_buckets)).astype(np.int64)
        return self._sparse(batch, unique_ids[bag.inverse])

    def cross_keys(self, batch):
        return _token_keys(batch, self.source, self.separator)

    def id_tokens(self):
        return [f"<hash:{k}>" for k in range(self.hash_buckets)]

    def entry_labels(self, batch, positions):
        return _entry_labels(self, batch, positions)

    def report(self):
        out = super().report()
        out.update(n_ids=self.hash_buckets)
        return out

    def config(self):
        return {"name": self.name, "hash_buckets": self.hash_buckets, "source": self.source,
                "separator": self.separator, "wide": self.wide,
                "embedding_dim": self.embedding_dim, "combiner": self.combiner}


def _entry_labels(column, batch, positions):
    bag = batch.bag(column.source, column.separator)
    return np.char.add(f"{column.name}=", bag.unique_tokens[bag.inverse[positions]].astype(str))


def _token_keys(batch, source, separator):
    def compute():
        bag = batch.bag(source, separator)
        return bag.row_ids, stable_hash(bag.unique_tokens)[bag.inverse]
    return batch.cached(("token_keys", source, separator), compute)


def _check_source(source, name):
    if source is None:
        return name
    if not isinstance(source, str) or not source:
        raise TypeError(f"column {name!r}: source must be a non-empty str, got {source!r}")
    return source


def _check_separator(separator, name):
    if separator is not None and (not isinstance(separator, str) or not separator):
        raise TypeError(f"column {name!r}: separator must be a non-empty str or None, got "
                        f"{separator!r}")
    return separator

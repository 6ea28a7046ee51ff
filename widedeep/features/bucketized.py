"""`BucketizedColumn`: a number turned into the id of its bucket, a categorical field.

Bucket of ``x`` = ``#{b in boundaries : b <= x}``, so with boundaries ``b_0 < ... < b_{m-1}``
bucket 0 is ``x < b_0``, bucket k is ``b_{k-1} <= x < b_k`` and bucket m is ``x >= b_{m-1}``
(``m + 1`` ids). Boundaries are given, or learned at fit as ``n_buckets`` quantiles of the
training data (`widedeep.features.quantiles`; ties merge boundaries, so there may be fewer
ids than ``n_buckets``). The field can feed the wide part, the deep part (an embedding of
the bucket), and crosses (``age_buckets x education``). Missing values follow
`NumericColumn`: a declared ``default`` or a ``ValueError`` naming the column and the row.
"""
from __future__ import annotations

import numpy as np

from ..inputs import SparseInput
from .columns import FeatureColumn, _check_source
from .hashing import stable_hash
from .numeric import _check_default, _check_summary_size, _read, _require_fitted
from .quantiles import QuantileSummary, bucketize

__all__ = ["BucketizedColumn"]


class BucketizedColumn(FeatureColumn):
    """A number turned into a bucket id, for the wide part, embeddings, or crosses.

    Parameters
    ----------
    name : str
        Field name.
    source : str, optional
        Raw numeric column to read (default ``name``).
    boundaries : sequence of float, optional
        Strictly increasing; bucket k is ``boundaries[k-1] <= x < boundaries[k]``.
    n_buckets : int, optional
        Learn ``n_buckets - 1`` quantile boundaries at fit instead (fewer when ties merge).
    default : float, optional
        Raw value used where the input is missing; without it missing is an error.
    wide, embedding_dim, combiner
        As for `CategoricalColumn`.
    summary_size, seed
        Capacity and seed of the quantile summary.
    """

    type_name = "bucketized"

    def __init__(self, name, *, source=None, boundaries=None, n_buckets=None, default=None,
                 wide=True, embedding_dim=None, combiner="sum", summary_size=100_000, seed=0):
        super().__init__(name, wide=wide, embedding_dim=embedding_dim, combiner=combiner)
        self.source = _check_source(source, name)
        if (boundaries is None) == (n_buckets is None):
            raise ValueError(f"column {name!r}: give exactly one of boundaries and n_buckets")
        self.given_boundaries = boundaries is not None
        if boundaries is not None:
            boundaries = np.asarray(boundaries, dtype=np.float64).reshape(-1)
            if not np.all(np.isfinite(boundaries)) or np.any(np.diff(boundaries) <= 0):
                raise ValueError(f"column {name!r}: boundaries must be finite and strictly "
                                 f"increasing, got {boundaries.tolist()}")
        elif isinstance(n_buckets, bool) or not isinstance(n_buckets, (int, np.integer)) \
                or n_buckets < 2:
            raise ValueError(f"column {name!r}: n_buckets must be an int >= 2, got "
                             f"{n_buckets!r}")
        self.boundaries_ = boundaries
        self.n_buckets = None if n_buckets is None else int(n_buckets)
        self.default = _check_default(default, name)
        self.summary_size = _check_summary_size(summary_size, name)
        self.seed = seed
        self._n_missing = 0

    @property
    def needs_fit(self):
        return not self.given_boundaries

    @property
    def fitted(self):
        return self.boundaries_ is not None

    def start_fit(self, summary_start=0):
        if not self.given_boundaries:
            self._summary = QuantileSummary(self.summary_size, self.seed, start=summary_start)
        self._n_missing = 0

    @property
    def has_summary(self):
        return not self.given_boundaries

    def summary_count(self, batch):
        if not self.has_summary:
            return None
        return int((~_read(self, batch, for_fit=True)[1]).sum())

    def fit_state(self):
        return {"n_missing": self._n_missing,
                "summary": None if self.given_boundaries else self._summary.merge_state()}

    def merge_fit_state(self, state):
        self._n_missing += int(state["n_missing"])
        if not self.given_boundaries:
            self._summary.merge(state["summary"])

    def observe(self, batch):
        values, missing = _read(self, batch, for_fit=True)
        self._n_missing += int(missing.sum())
        if not self.given_boundaries:
            self._summary.update(values[~missing])

    def finish_fit(self):
        if not self.given_boundaries:
            self.boundaries_ = self._summary.boundaries(self.n_buckets)
            self._summary = None

    @property
    def n_ids(self):
        _require_fitted(self)
        return self.boundaries_.shape[0] + 1

    def bucket_ids(self, batch):
        _require_fitted(self)
        return batch.cached(("buckets", self.name),
                            lambda: bucketize(_read(self, batch)[0], self.boundaries_))

    def transform(self, batch):
        n = batch.n_rows
        return SparseInput(np.arange(n, dtype=np.int64), self.bucket_ids(batch), None,
                           n_examples=n, field=self.name, validate=False)

    def cross_keys(self, batch):
        """Row and 64-bit key of each value: the hash of the bucket id's decimal string."""
        keys = stable_hash(np.arange(self.n_ids).astype(str))
        return np.arange(batch.n_rows, dtype=np.int64), keys[self.bucket_ids(batch)]

    def entry_labels(self, batch, positions):
        """Bucket token (``"age_buckets:[25,30)"``) of the rows at ``positions``."""
        return np.asarray(self.id_tokens(), dtype=str)[self.bucket_ids(batch)[positions]]

    def id_tokens(self):
        b = [f"{v:g}" for v in self.boundaries_.tolist()] if self.fitted else []
        if not b:
            return [f"{self.name}:all"]
        return ([f"{self.name}<{b[0]}"]
                + [f"{self.name}:[{lo},{hi})" for lo, hi in zip(b[:-1], b[1:])]
                + [f"{self.name}>={b[-1]}"])

    def report(self):
        out = super().report()
        out.update(n_ids=self.n_ids if self.fitted else None, default=self.default,
                   **self.state())
        return out

    def config(self):
        return {"name": self.name, "source": self.source,
                "boundaries": self.boundaries_.tolist() if self.given_boundaries else None,
                "n_buckets": self.n_buckets, "default": self.default, "wide": self.wide,
                "embedding_dim": self.embedding_dim, "combiner": self.combiner,
                "summary_size": self.summary_size, "seed": self.seed}

    def state(self):
        return {"boundaries": None if self.boundaries_ is None else self.boundaries_.tolist(),
                "n_missing_at_fit": self._n_missing}

    def set_state(self, state):
        self._n_missing = int(state.get("n_missing_at_fit", 0))
        if state.get("boundaries") is not None:
            self.boundaries_ = np.asarray(state["boundaries"], dtype=np.float64)

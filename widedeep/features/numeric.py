"""`NumericColumn`: a number, normalized, for the deep part (and optionally the wide part).

`NumericColumn` turns a raw number ``x`` into one float, by ``normalization``:

=============  ==========================================================================
``raw``        ``x``
``standardize`` ``(x - mean) / std``            mean, std (population) learned at fit
``log1p``      ``(log(1 + x) - mean) / std``     mean, std of ``log(1 + x)``; needs x > -1
``quantile``   ``(i - 1) / (n_q - 1)`` for x in the i-th of n_q learned quantiles, in [0, 1]
               (the paper's normalization; ties and out-of-range values: see
               `widedeep.features.quantiles`)
=============  ==========================================================================

Deep numeric columns are grouped: every `NumericColumn` with the same ``dense_field``
(default ``"numeric"``) fills one column of that dense field, float32
``[n_examples, number of such columns]``, in declaration order. With ``wide=True`` the
normalized value also feeds the wide part as a one-coordinate sparse field named after the
column (id 0, value = the normalized number).

Missing values (``None``, ``""``, ``NaN``, and infinities; the same for `BucketizedColumn`)
are replaced by ``default`` if the column declares one (the raw value, before
normalization), else they raise a ``ValueError`` naming the column and the row, at fit and
at transform: a NaN never reaches the model. Statistics learned at fit ignore missing
values.
"""
from __future__ import annotations

import numpy as np

from ..inputs import SparseInput
from .casting import to_model_dtype
from .columns import FeatureColumn, _check_source
from .moments import RunningMoments
from .quantiles import QuantileSummary, quantile_normalize

__all__ = ["NumericColumn", "NORMALIZATIONS"]

NORMALIZATIONS = ("raw", "standardize", "log1p", "quantile")


class NumericColumn(FeatureColumn):
    """A number, normalized (see module docstring).

    Parameters
    ----------
    name : str
        Column name (the wide field's name when ``wide=True``).
    source : str, optional
        Raw column to read (default ``name``).
    normalization : {"raw", "standardize", "log1p", "quantile"}
    n_quantiles : int
        Number of quantiles for ``"quantile"`` (>= 2).
    default : float, optional
        Raw value used where the input is missing; without it a missing value is an error.
    deep : bool
        Feed the deep part through the dense field ``dense_field``.
    dense_field : str
        Name of the dense field this column is one column of.
    wide : bool
        Also feed the wide part as a one-coordinate sparse field.
    summary_size, seed
        Capacity and seed of the quantile summary (`QuantileSummary`).
    """

    type_name = "numeric"

    def __init__(self, name, *, source=None, normalization="standardize", n_quantiles=100,
                 default=None, deep=True, dense_field="numeric", wide=False,
                 summary_size=100_000, seed=0):
        super().__init__(name, wide=wide, embedding_dim=None, combiner="sum")
        self.source = _check_source(source, name)
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"column {name!r}: normalization must be one of "
                             f"{NORMALIZATIONS}, got {normalization!r}")
        self.normalization = normalization
        if isinstance(n_quantiles, bool) or not isinstance(n_quantiles, (int, np.integer)) \
                or n_quantiles < 2:
            raise ValueError(f"column {name!r}: n_quantiles must be an int >= 2, got "
                             f"{n_quantiles!r}")
        self.n_quantiles = int(n_quantiles)
        self.default = _check_default(default, name)
        if normalization == "log1p" and self.default is not None and self.default <= -1:
            raise ValueError(f"column {name!r}: log1p needs values > -1, but default is "
                             f"{self.default}")
        if not isinstance(deep, (bool, np.bool_)):
            raise TypeError(f"column {name!r}: deep must be True or False, got {deep!r}")
        self.feeds_deep = bool(deep)
        if not isinstance(dense_field, str) or not dense_field:
            raise TypeError(f"column {name!r}: dense_field must be a non-empty str, got "
                            f"{dense_field!r}")
        self.dense_field = dense_field
        self.summary_size = _check_summary_size(summary_size, name)
        self.seed = seed
        self.mean_ = self.std_ = self.boundaries_ = None
        self._n_missing = 0

    @property
    def deep(self):
        return self.feeds_deep

    @property
    def is_dense(self):
        return self.feeds_deep

    @property
    def needs_fit(self):
        return self.normalization != "raw"

    @property
    def fitted(self):
        if self.normalization == "quantile":
            return self.boundaries_ is not None
        return self.normalization == "raw" or self.mean_ is not None

    def start_fit(self, summary_start=0):
        self._moments = RunningMoments()
        self._summary = QuantileSummary(self.summary_size, self.seed, start=summary_start) \
            if self.normalization == "quantile" else None
        self._n_missing = 0

    @property
    def has_summary(self):
        return self.normalization == "quantile"

    def summary_count(self, batch):
        if not self.has_summary:
            return None
        return int((~_read(self, batch, for_fit=True)[1]).sum())

    def fit_state(self):
        return {"n_missing": self._n_missing, "moments": self._moments.state(),
                "summary": None if self._summary is None else self._summary.merge_state()}

    def merge_fit_state(self, state):
        self._n_missing += int(state["n_missing"])
        self._moments.merge(state["moments"])
        if self._summary is not None:
            self._summary.merge(state["summary"])

    def observe(self, batch):
        values, missing = _read(self, batch, for_fit=True)
        self._n_missing += int(missing.sum())
        if self.normalization == "log1p":
            values = _log1p(values, self.name)
        if self.normalization == "quantile":
            self._summary.update(values[~missing])
        elif self.normalization in ("standardize", "log1p"):
            self._moments.update(values[~missing])

    def finish_fit(self):
        if self.normalization == "quantile":
            self.boundaries_ = self._summary.boundaries(self.n_quantiles)
        elif self.normalization in ("standardize", "log1p"):
            self.mean_, self.std_ = self._moments.mean, self._moments.std
        self._moments = self._summary = None

    def values(self, batch):
        """Normalized values, float64 [n]."""
        x, _ = _read(self, batch)
        if self.normalization == "raw":
            return x
        _require_fitted(self)
        if self.normalization == "quantile":
            return quantile_normalize(x, self.boundaries_)
        if self.normalization == "log1p":
            x = _log1p(x, self.name)
        return (x - self.mean_) / self.std_

    @property
    def n_ids(self):
        return 1

    def transform(self, batch):
        """The one-coordinate wide field (id 0, value = normalized number)."""
        n = batch.n_rows
        return SparseInput(np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
                           to_model_dtype(self.values(batch), self.name), n_examples=n,
                           field=self.name, validate=False)

    def id_tokens(self):
        return [self.name]

    def report(self):
        out = {"type": self.type_name, "normalization": self.normalization,
               "wide": self.wide, "deep": self.feeds_deep, "dense_field": self.dense_field,
               "default": self.default}
        out.update(self.state())
        return out

    def config(self):
        return {"name": self.name, "source": self.source, "normalization": self.normalization,
                "n_quantiles": self.n_quantiles, "default": self.default,
                "deep": self.feeds_deep, "dense_field": self.dense_field, "wide": self.wide,
                "summary_size": self.summary_size, "seed": self.seed}

    def state(self):
        return {"mean": self.mean_, "std": self.std_,
                "boundaries": None if self.boundaries_ is None else self.boundaries_.tolist(),
                "n_missing_at_fit": self._n_missing}

    def set_state(self, state):
        self.mean_, self.std_ = state.get("mean"), state.get("std")
        self._n_missing = int(state.get("n_missing_at_fit", 0))
        boundaries = state.get("boundaries")
        self.boundaries_ = None if boundaries is None else np.asarray(boundaries, np.float64)


def _read(column, batch, for_fit=False):
    """(values with the default filled in, missing mask); ValueError naming column and row
    when a value is missing and there is no default."""
    values = batch.numbers(column.source)
    missing = np.isnan(values)
    if np.any(missing):
        if column.default is None:
            row = int(np.flatnonzero(missing)[0])
            stage = "fit" if for_fit else "transform"
            raise ValueError(
                f"column {column.name!r} (raw column {column.source!r}) row {row}: missing or "
                f"non-finite value ({column.source}={_raw_repr(batch, column.source, row)}) at "
                f"{stage} and the column declares no default; pass default=... or clean the data")
        values = np.where(missing, column.default, values)
    return values, missing


def _raw_repr(batch, source, row):
    value = batch.raw(source)[row]
    return repr(value.item() if isinstance(value, np.generic) else value)


def _log1p(values, name):
    bad = values <= -1
    if np.any(bad):
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"column {name!r} row {row}: log1p needs values > -1, got "
                         f"{values[row]}")
    return np.log1p(values)


def _check_default(default, name):
    if default is None:
        return None
    if isinstance(default, (bool, np.bool_)) or not isinstance(
            default, (int, float, np.integer, np.floating)) or not np.isfinite(default):
        raise ValueError(f"column {name!r}: default must be a finite number or None, got "
                         f"{default!r}")
    return float(default)


def _check_summary_size(summary_size, name):
    if isinstance(summary_size, (bool, np.bool_)) \
            or not isinstance(summary_size, (int, np.integer)) or summary_size < 1:
        raise ValueError(f"column {name!r}: summary_size must be an int >= 1, got "
                         f"{summary_size!r}")
    return int(summary_size)


def _require_fitted(column):
    if not column.fitted:
        raise RuntimeError(f"column {column.name!r} is not fitted; call "
                           f"FeatureSpec.fit(batches) first")

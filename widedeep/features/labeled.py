"""`LabeledBatches`: raw column batches turned into the ``(features, labels[, weights])``
batches estimators train on, through a fitted `FeatureSpec`.

>>> import numpy as np
>>> from widedeep.features import CategoricalColumn, FeatureSpec
>>> spec = FeatureSpec([CategoricalColumn("color")]).fit({"color": np.array(["a", "b"])})
>>> raw = [{"color": np.array(["a", "b", "c"]), "clicked": np.array([1, 0, 1])}]
>>> [(f["color"].feature_ids.tolist(), y.tolist()) for f, y, _ in
...  LabeledBatches(raw, spec, label="clicked")]
[([1, 2, 0], [1, 0, 1])]
"""
from __future__ import annotations

import numpy as np

__all__ = ["LabeledBatches"]


class LabeledBatches:
    """A batch source of ``(spec.transform(batch), batch[label], batch[sample_weight])``.

    Parameters
    ----------
    column_batches : re-iterable of column batches (``dict[str, column]``), e.g. a
        `CsvReader` or an `ArrayReader`; a source with ``iter_epoch(epoch)`` keeps its
        per-pass shuffle through `iter_epoch`.
    spec : fitted `FeatureSpec`
    label : str
        Column holding the labels.
    sample_weight : str, optional
        Column holding per-row weights.
    """

    def __init__(self, column_batches, spec, label, sample_weight=None):
        self.column_batches = column_batches
        self.spec = spec
        self.label = label
        self.sample_weight = sample_weight

    def __iter__(self):
        return self._label(iter(self.column_batches))

    def iter_epoch(self, epoch):
        if hasattr(self.column_batches, "iter_epoch"):
            return self._label(self.column_batches.iter_epoch(epoch))
        return iter(self)

    def _label(self, batches):
        for number, batch in enumerate(batches):
            for name in (self.label, self.sample_weight):
                if name is not None and name not in batch:
                    raise ValueError(f"batch {number}: column {name!r} is missing; the batch "
                                     f"has {sorted(batch)[:20]}")
            weights = None if self.sample_weight is None \
                else np.asarray(batch[self.sample_weight], dtype=np.float64)
            yield self.spec.transform(batch), np.asarray(batch[self.label]), weights

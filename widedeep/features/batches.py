"""`SpecBatches`: raw data -> the ``(features, labels[, weights])`` batch source estimators
take in ``fit``, ``evaluate`` and ``eval_set``.

``spec.batches(source, label="clicked")`` accepts

- a reader (`CsvReader`, `ArrayReader`, ...): any re-iterable of column batches, where each
  ``iter()`` is one pass over the data (readers created with ``label=`` yield
  ``(columns, labels)`` pairs, which are used as they are); a reader's ``iter_epoch(k)``
  is passed through, so ``fit`` reads pass ``k`` in the same shuffle order however often
  the reader was iterated before;
- a pandas DataFrame or a dict of in-memory columns, cut into ``batch_size`` rows
  (shuffled each pass when ``shuffle``).

Each pass transforms every raw batch with the spec: memory is one batch, whatever the
data's size. Labels are the ``label`` column as numbers (they must be 0/1 for the binary
estimators), or ``labels == positive`` when ``positive`` is given (e.g. ``">50K"``).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..readers.in_memory import ArrayReader, columns_from_dataframe, is_dataframe

__all__ = ["SpecBatches", "as_column_batches"]


def as_column_batches(source):
    """``source`` as an iterable of column batches: a DataFrame or a dict becomes a
    one-batch list; a reader (or any iterable of batches) is returned as it is."""
    if is_dataframe(source):
        return [columns_from_dataframe(source)]
    if isinstance(source, Mapping):
        return [source]
    if isinstance(source, (str, bytes)) or not hasattr(source, "__iter__"):
        raise TypeError(f"expected a dict of columns, a pandas DataFrame or a reader "
                        f"(an iterable of column batches), got {type(source).__name__}")
    return source


class SpecBatches:
    """Re-iterable ``(features, labels[, sample_weight])`` batches: see the module docstring.

    Parameters
    ----------
    spec : fitted `FeatureSpec`
    source : reader, DataFrame or dict of columns
    label : str, optional
        Column holding the labels (not needed when the reader already yields
        ``(columns, labels)``).
    weight : str, optional
        Column holding per-example weights.
    batch_size : int
        Rows per batch for in-memory sources (readers keep their own).
    shuffle, random_state
        For in-memory sources: a new permutation each pass (seeded as `ArrayReader`).
    positive : optional
        Label value that means 1; every other value means 0.
    """

    def __init__(self, spec, source, *, label=None, weight=None, batch_size=1024,
                 shuffle=False, random_state=None, positive=None):
        self.spec = spec
        self.label = label
        self.weight = weight
        self.positive = positive
        if is_dataframe(source) or isinstance(source, Mapping):
            columns = columns_from_dataframe(source) if is_dataframe(source) else source
            for name in (label, weight):
                if name is not None and name not in columns:
                    raise ValueError(f"column {name!r} is not in the data; it has "
                                     f"{sorted(columns)[:20]}")
            source = ArrayReader(columns, batch_size, shuffle=shuffle,
                                 random_state=random_state)
        elif isinstance(source, (str, bytes)) or not hasattr(source, "__iter__"):
            raise TypeError(f"spec.batches: expected a reader, a DataFrame or a dict of "
                            f"columns, got {type(source).__name__}")
        self.source = source

    def __iter__(self):
        return self._featurized(iter(self.source))

    def iter_epoch(self, epoch):
        """Pass number ``epoch``: the source's ``iter_epoch(epoch)`` when it has one (its
        shuffle order is then fixed by its seed and ``epoch``), else a plain pass."""
        if hasattr(self.source, "iter_epoch"):
            return self._featurized(self.source.iter_epoch(epoch))
        return iter(self)

    def _featurized(self, raw_batches):
        for number, raw in enumerate(raw_batches):
            yield self._split(raw, number)

    def _split(self, raw, number):
        labels = None
        if isinstance(raw, tuple):
            raw, labels = raw[0], raw[1]
        if not isinstance(raw, Mapping):
            raise TypeError(f"batch {number}: expected a dict of columns, got "
                            f"{type(raw).__name__}")
        raw = dict(raw)
        if self.label is not None:
            if self.label not in raw:
                raise ValueError(f"batch {number}: label column {self.label!r} is missing; "
                                 f"the batch has {sorted(raw)[:20]}")
            labels = raw.pop(self.label)
        if labels is None:
            raise ValueError("spec.batches: say which column holds the labels (label=...), "
                             "or use a reader created with label=...")
        weights = None
        if self.weight is not None:
            if self.weight not in raw:
                raise ValueError(f"batch {number}: weight column {self.weight!r} is missing")
            weights = np.asarray(raw.pop(self.weight), dtype=np.float64)
        labels = self._labels(labels, number)
        features = self.spec.transform(raw)
        return (features, labels) if weights is None else (features, labels, weights)

    def _labels(self, labels, number):
        labels = np.asarray(labels)
        if self.positive is not None:
            return np.asarray(labels == self.positive, dtype=np.float64).reshape(-1)
        if labels.dtype.kind in "biuf":
            return labels
        try:
            return labels.astype(np.float64)
        except (TypeError, ValueError):
            example = labels[0] if labels.shape[0] else None
            raise ValueError(f"batch {number}: labels of column {self.label!r} are not "
                             f"numbers (e.g. {example!r}); pass positive=<the value that "
                             f"means 1>") from None

    def __repr__(self):
        return f"SpecBatches({type(self.source).__name__}, label={self.label!r})"

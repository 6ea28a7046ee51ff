"""Mini-batches over columns already in memory: a dict of arrays / `Ragged` /
`SparseInput`, or a pandas ``DataFrame`` (pandas is never imported by widedeep; a frame is
recognised by its type's module and converted column by column)."""
from __future__ import annotations

import numpy as np

from ..inputs import SparseInput
from ..records import Ragged
from ._base import check_positive_int
from .batching import batch_length, slice_batch, take_batch
from .shuffle import epoch_rng

__all__ = ["iter_batches", "ArrayReader", "columns_from_dataframe", "is_dataframe"]


def is_dataframe(obj):
    """True for a pandas DataFrame (recognised without importing pandas)."""
    return type(obj).__module__.split(".")[0] == "pandas" and hasattr(obj, "columns") \
        and hasattr(obj, "to_numpy")


def columns_from_dataframe(frame):
    """``{column name: 1-d NumPy array}`` from a pandas DataFrame.

    Numeric columns keep their dtype (nullable integer / boolean columns with missing
    values become float64 with NaN); everything else becomes an object array in which
    pandas' missing markers (``None``, ``NaN``, ``pd.NA``) are ``None``.
    """
    columns = {}
    for name in frame.columns:
        series = frame[name]
        kind = getattr(series.dtype, "kind", "O")
        if kind in "fiub" and type(series.dtype).__module__.startswith("numpy"):
            columns[str(name)] = series.to_numpy()
        elif kind in "iufb":  # pandas nullable extension dtype (Int64, boolean, Float64)
            columns[str(name)] = series.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            values = series.to_numpy(dtype=object)
            missing = np.asarray(series.isna().to_numpy(), dtype=bool)
            if missing.any():
                values = values.copy()
                values[missing] = None
            columns[str(name)] = values
    return columns


def _as_columns(columns):
    if is_dataframe(columns):
        columns = columns_from_dataframe(columns)
    if not isinstance(columns, dict):
        raise TypeError(f"expected a dict of columns or a pandas DataFrame, got "
                        f"{type(columns).__name__}")
    return {name: col if isinstance(col, (np.ndarray, Ragged, SparseInput))
            else np.asarray(col) for name, col in columns.items()}


def iter_batches(columns, batch_size, shuffle=False, random_state=None, drop_last=False,
                 epoch=0):
    """Yield column batches of ``batch_size`` rows from in-memory ``columns``.

    Parameters
    ----------
    columns : dict[str, array | Ragged | SparseInput] or pandas.DataFrame
        All columns must have the same number of rows (2-d arrays are cut along rows).
    batch_size : int
    shuffle : bool
        Visit rows in a random permutation (a full shuffle; memory is already paid).
    random_state : None, int or numpy Generator
        As for the file readers: with an int the permutation is that of
        ``default_rng([random_state, epoch])``.
    drop_last : bool
        Drop a final batch smaller than ``batch_size``.
    epoch : int
        Epoch number mixed into an int seed.

    Examples
    --------
    >>> batches = list(iter_batches({"x": np.arange(5)}, batch_size=2))
    >>> [b["x"].tolist() for b in batches]
    [[0, 1], [2, 3], [4]]
    """
    batch_size = check_positive_int("batch_size", batch_size)
    columns = _as_columns(columns)
    n = batch_length(columns)
    order = epoch_rng(random_state, epoch).permutation(n) if shuffle else None
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        end = min(start + batch_size, n)
        if order is None:
            yield slice_batch(columns, start, end)
        else:
            yield take_batch(columns, order[start:end])


class ArrayReader:
    """Re-iterable `iter_batches`: each ``iter()`` is a new epoch (``k``-th call shuffles
    with ``default_rng([random_state, k])`` for an int seed), so it can be handed to a
    multi-epoch ``fit``.

    ``label`` (optional) names a column to yield separately: batches are then
    ``(features, labels)`` tuples instead of a single column dict.
    """

    def __init__(self, columns, batch_size=1024, *, shuffle=False, random_state=None,
                 drop_last=False, label=None):
        self.columns = _as_columns(columns)
        self.n_rows = batch_length(self.columns)
        self.batch_size = check_positive_int("batch_size", batch_size)
        epoch_rng(random_state, 0)
        self.shuffle = bool(shuffle)
        self.random_state = random_state
        self.drop_last = bool(drop_last)
        if label is not None and label not in self.columns:
            raise ValueError(f"label column {label!r} is not among the columns "
                             f"{list(self.columns)}")
        self.label = label
        self._next_epoch = 0

    def __iter__(self):
        epoch = self._next_epoch
        self._next_epoch += 1
        return self.iter_epoch(epoch)

    def iter_epoch(self, epoch):
        """Batches of epoch ``epoch``."""
        for batch in iter_batches(self.columns, self.batch_size, shuffle=self.shuffle,
                                  random_state=self.random_state, drop_last=self.drop_last,
                                  epoch=epoch):
            if self.label is None:
                yield batch
            else:
                labels = batch.pop(self.label)
                yield batch, labels

    def __len__(self):
        """Number of batches per epoch."""
        if self.drop_last:
            return self.n_rows // self.batch_size
        return -(-self.n_rows // self.batch_size)

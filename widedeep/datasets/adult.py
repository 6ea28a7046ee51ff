"""UCI Adult ("Census Income"): `load_adult` reads the official train/test split.

Accepted layouts of the data folder (first found wins):

- ``train.csv`` and ``test.csv``: comma-separated with a header row of the column names
  below (the layout of ``../shared/datasets/adult``);
- ``adult.data`` and ``adult.test``: the original UCI files (no header, ``", "``
  separators, a ``|1x3 Cross validator`` first line and a trailing ``.`` on the test
  labels).
"""
from __future__ import annotations

import numpy as np

from ..readers import CsvReader
from ._paths import find_dataset_folder

__all__ = ["load_adult", "ADULT_COLUMNS", "ADULT_NUMERIC", "ADULT_CATEGORICAL",
           "ADULT_LABEL"]

ADULT_COLUMNS = ("age", "workclass", "fnlwgt", "education", "education_num",
                 "marital_status", "occupation", "relationship", "race", "gender",
                 "capital_gain", "capital_loss", "hours_per_week", "native_country",
                 "income_bracket")
ADULT_NUMERIC = ("age", "fnlwgt", "education_num", "capital_gain", "capital_loss",
                 "hours_per_week")
ADULT_CATEGORICAL = ("workclass", "education", "marital_status", "occupation",
                     "relationship", "race", "gender", "native_country")
ADULT_LABEL = "income_bracket"

_HOW_TO_GET = ("Get adult.data and adult.test from the UCI Machine Learning Repository, "
               "https://archive.ics.uci.edu/dataset/2/adult (direct files: "
               "https://archive.ics.uci.edu/ml/machine-learning-databases/adult/).")


def load_adult(path=None):
    """Load UCI Adult's official split as ``(train_X, train_y), (test_X, test_y)``.

    ``X`` is a column batch ``dict[str, np.ndarray]`` of the 14 feature columns in
    `ADULT_COLUMNS` order: the `ADULT_NUMERIC` columns as float64, the
    `ADULT_CATEGORICAL` columns as NumPy unicode arrays with surrounding whitespace
    stripped and a missing value (``?`` in the files) as ``""``. ``y`` is int64 0/1,
    1 where ``income_bracket`` is ``>50K`` (the test file's trailing ``.`` is ignored).

    ``path`` is the data folder (see the module docstring for the accepted files); with
    ``None`` the cache folder ``$WIDEDEEP_DATA/adult`` or ``~/.widedeep/data/adult``.
    Raises ``FileNotFoundError`` saying which files are needed and where to get them.

    Examples
    --------
    >>> (train_X, train_y), (test_X, test_y) = load_adult("data/adult")  # doctest: +SKIP
    >>> len(train_y), int(train_y.sum())                                  # doctest: +SKIP
    (32561, 7841)
    """
    folder, files = find_dataset_folder(
        "adult", path, [("train.csv", "test.csv"), ("adult.data", "adult.test")],
        _HOW_TO_GET)
    return tuple(_read_split(folder / name, raw=name.startswith("adult.")) for name in files)


def _read_split(file, raw):
    options = dict(dtypes={c: "float64" for c in ADULT_NUMERIC}, strip=True,
                   na_values=("", "?"), batch_size=1 << 16)
    if raw:
        options.update(names=ADULT_COLUMNS, header=False, skip_rows=_leading_notes(file))
    reader = CsvReader(file, **options)
    if tuple(reader.names) != ADULT_COLUMNS:
        raise ValueError(f"{file}: expected the columns {list(ADULT_COLUMNS)}, found "
                         f"{reader.names}")
    columns = reader.read()
    label = np.char.rstrip(columns.pop(ADULT_LABEL), ".")
    positive, negative = label == ">50K", label == "<=50K"
    unknown = np.flatnonzero(~(positive | negative))
    if unknown.size:
        raise ValueError(f"{file}: data row {unknown[0] + 1}: income_bracket is "
                         f"{str(label[unknown[0]])!r}, expected '>50K' or '<=50K'")
    return columns, positive.astype(np.int64)


def _leading_notes(file):
    """Number of leading ``|...`` note lines (the raw test file starts with one)."""
    count = 0
    with open(file, encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("|"):
                break
            count += 1
    return count

"""The five real tasks of the defaults protocol: features and train / validation / test.

Every task is a `Task`: feature dicts (the estimators' input) for ``train``, ``valid`` and
``test``, the labels, the objective (``"binary"`` scored by AUC, ``"regression"`` by RMSE)
and the estimator parameters derived from its `FeatureSpec`. The spec is fitted on the
training rows only; the test rows are never used for any choice.

=================  ==============================  ======================================
task               rows (train / valid / test)     split
=================  ==============================  ======================================
adult              26,049 / 6,512 / 16,281         official test; a seeded stratified 20%
                                                   of the official training rows as valid
criteo             7,200 / 409 / 391 (+ 3 folds)   the sample's own files; tuning scores
                                                   are a 3-fold CV over train + valid
movielens          81,140 / 9,430 / 9,430          by time: each user's last 10 ratings
                                                   test, the 10 before them valid
movielens_rating   same rows, label = the rating   (regression, RMSE)
app_store          80,000 / 20,000 / 50,000        one seeded day-0 draw, split in order
=================  ==============================  ======================================

Features: Adult and MovieLens as in ``examples/census.py`` and ``examples/movielens.py``,
the app store as in ``examples/app_store.py``; one embedding width per task (the PyTorch
peer has one). Criteo: the 13 integer columns quantile-normalized (deep) and bucketized
into 10 quantile buckets (wide), the 26 categorical hashes with a vocabulary of the
values seen at least 3 times plus one OOV bucket (both parts), and 6 hashed crosses.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "examples"))

import app_store as app_store_example  # noqa: E402
import census as census_example  # noqa: E402
import movielens as movielens_example  # noqa: E402

from widedeep.datasets import AppStore, load_adult, load_movielens100k  # noqa: E402
from widedeep.features import (BucketizedColumn, CategoricalColumn, CrossedColumn,  # noqa: E402
                               FeatureSpec, NumericColumn)
from widedeep.readers import CsvReader, take_batch  # noqa: E402

__all__ = ["Task", "TASKS", "load_task", "data_root"]

TASKS = ("adult", "criteo", "movielens", "movielens_rating", "app_store")
SPLIT_SEED = 2026

CRITEO_INTEGERS = tuple(f"I{k}" for k in range(1, 14))
CRITEO_CATEGORIES = tuple(f"C{k}" for k in range(1, 27))
# pairs of categorical columns crossed in the wide part (a few, as in the benchmark peers)
CRITEO_CROSSES = (("C1", "C2"), ("C5", "C6"), ("C7", "C8"), ("C9", "C10"), ("C14", "C15"),
                  ("C17", "C18"))
CRITEO_FOLDS = 3
# MovieLens: the last 20 earlier movies per rating (examples/movielens.py uses 50; 20 keeps
# the search affordable on a shared 2-core machine)
HISTORY_LENGTH = 20


@dataclass
class Split:
    features: dict
    y: np.ndarray


@dataclass
class Task:
    name: str
    objective: str                    # "binary" or "regression"
    train: Split
    valid: Split
    test: Split
    estimator_params: dict            # derived from the spec (fields, vocabularies, ...)
    embedding_dim: int
    folds: list = field(default_factory=list)   # [(train Split, valid Split, params)]

    @property
    def metric(self):
        return "auc" if self.objective == "binary" else "rmse"


def data_root():
    """``$WIDEDEEP_DATA`` if set, else ``../shared/datasets`` next to the repository."""
    root = os.environ.get("WIDEDEEP_DATA")
    return Path(root) if root else REPO.parent / "shared" / "datasets"


def load_task(name):
    """Build the task ``name`` (one of `TASKS`)."""
    builders = {"adult": _adult, "criteo": _criteo, "movielens": _movielens_binary,
                "movielens_rating": _movielens_rating, "app_store": _app_store}
    if name not in builders:
        raise ValueError(f"unknown task {name!r}; tasks: {TASKS}")
    return builders[name]()


def _featurize(name, objective, spec, train, valid, test, embedding_dim):
    """Fit ``spec`` on the training rows, transform the three splits."""
    (train_X, train_y), (valid_X, valid_y), (test_X, test_y) = train, valid, test
    spec.fit([train_X])
    return Task(name, objective,
                Split(spec.transform(train_X), np.asarray(train_y)),
                Split(spec.transform(valid_X), np.asarray(valid_y)),
                Split(spec.transform(test_X), np.asarray(test_y)),
                spec.estimator_params(), embedding_dim)


def stratified_holdout(y, fraction, seed):
    """Row indices ``(keep, held)``: ``fraction`` of each class held out, seeded."""
    rng = np.random.default_rng(seed)
    held = []
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        held.append(rows[:int(round(fraction * rows.shape[0]))])
    held = np.sort(np.concatenate(held))
    keep = np.setdiff1d(np.arange(y.shape[0]), held)
    return keep, held


# ---------------------------------------------------------------------------- tasks
def _adult():
    (train_X, train_y), test = load_adult(data_root() / "adult")
    keep, held = stratified_holdout(train_y, 0.2, SPLIT_SEED)
    spec = census_example.build_spec(embedding_dim=8)
    return _featurize("adult", "binary", spec,
                      (take_batch(train_X, keep), train_y[keep]),
                      (take_batch(train_X, held), train_y[held]), test, 8)


def _read_criteo(file):
    names = ["label", *CRITEO_INTEGERS, *CRITEO_CATEGORIES]
    reader = CsvReader(file, names=names, header=False, delimiter="\t", quotechar=None,
                       dtypes={c: "float64" for c in ("label", *CRITEO_INTEGERS)},
                       na_values=("",), batch_size=1 << 16)
    columns = reader.read()
    return columns, columns.pop("label").astype(np.int64)


def _criteo_spec():
    columns = []
    for name in CRITEO_INTEGERS:
        # missing counts: -1 (below every observed count, so the lowest bucket / CDF 0)
        columns.append(NumericColumn(name, normalization="quantile", default=-1.0))
        columns.append(BucketizedColumn(f"{name}_bucket", source=name, n_buckets=10,
                                        default=-1.0, wide=True))
    columns += [CategoricalColumn(name, min_count=3, num_oov_buckets=1, embedding_dim=8)
                for name in CRITEO_CATEGORIES]
    columns += [CrossedColumn(list(pair), hash_buckets=1 << 14) for pair in CRITEO_CROSSES]
    return FeatureSpec(columns)


def _criteo():
    folder = data_root() / "criteo_sample"
    splits = [_read_criteo(folder / f"{part}.txt") for part in ("train", "valid", "test")]
    task = _featurize("criteo", "binary", _criteo_spec(), *splits, 8)
    # the official validation file has 409 rows (AUC standard error ~0.03): tuning scores
    # average a stratified 3-fold CV over train + valid instead
    pooled_X = {k: np.concatenate([splits[0][0][k], splits[1][0][k]]) for k in splits[0][0]}
    pooled_y = np.concatenate([splits[0][1], splits[1][1]])
    rng = np.random.default_rng(SPLIT_SEED)
    fold_of_row = np.empty(pooled_y.shape[0], dtype=np.int64)
    for label in (0, 1):
        rows = rng.permutation(np.flatnonzero(pooled_y == label))
        fold_of_row[rows] = np.arange(rows.shape[0]) % CRITEO_FOLDS
    for fold in range(CRITEO_FOLDS):
        fit_rows, held_rows = (np.flatnonzero(fold_of_row != fold),
                               np.flatnonzero(fold_of_row == fold))
        spec = _criteo_spec().fit([take_batch(pooled_X, fit_rows)])
        task.folds.append((Split(spec.transform(take_batch(pooled_X, fit_rows)),
                                 pooled_y[fit_rows]),
                           Split(spec.transform(take_batch(pooled_X, held_rows)),
                                 pooled_y[held_rows]),
                           spec.estimator_params()))
    return task


def _movielens_splits(rating_labels):
    data = load_movielens100k(data_root() / "movielens100k")
    columns, liked = movielens_example.build_examples(data, history_length=HISTORY_LENGTH)
    if rating_labels:
        ratings, _, _ = data
        order = np.lexsort((ratings["movie_id"], ratings["timestamp"], ratings["user_id"]))
        labels = ratings["rating"][order].astype(np.float64)
    else:
        labels = liked
    users = columns["user_id"]
    is_test = movielens_example.last_per_user(users, 10)
    rest = np.flatnonzero(~is_test)
    is_valid = np.zeros_like(is_test)
    is_valid[rest] = movielens_example.last_per_user(users[rest], 10)
    parts = [np.flatnonzero(~is_test & ~is_valid), np.flatnonzero(is_valid),
             np.flatnonzero(is_test)]
    return [(take_batch(columns, rows), labels[rows]) for rows in parts]


def _movielens_binary():
    spec = movielens_example.build_spec(id_dim=16, attribute_dim=16)
    return _featurize("movielens", "binary", spec, *_movielens_splits(False), 16)


def _movielens_rating():
    spec = movielens_example.build_spec(id_dim=16, attribute_dim=16)
    return _featurize("movielens_rating", "regression", spec, *_movielens_splits(True), 16)


def _app_store():
    store = AppStore(random_state=0)
    columns, labels = store.sample(150_000, day=0)
    bounds = (0, 80_000, 100_000, 150_000)
    splits = [(take_batch(columns, np.arange(a, b)), labels[a:b])
              for a, b in zip(bounds[:-1], bounds[1:])]
    spec = app_store_example.build_spec(app_dim=16, small_dim=16)
    return _featurize("app_store", "binary", spec, *splits, 16)

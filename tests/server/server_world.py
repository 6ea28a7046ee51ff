"""A small app-store world for the server tests: raw columns, a spec, trained versions.

Labels follow a hidden rule (some apps are liked, more so by older users, and by users who
installed the app's "sibling"), so a trained model is measurably better than a broken one.
"""
import os

import numpy as np

from widedeep import Adagrad, FtrlProximal
from widedeep.features import CategoricalColumn, CrossedColumn, FeatureSpec, NumericColumn
from widedeep.io import save_model
from widedeep.records import Ragged
from widedeep.server import store_gate_data

APPS = [f"app{i}" for i in range(12)]
LIKED = {"app1", "app4", "app7", "app10"}


def raw_batch(rng, n):
    installed = [list(rng.choice(APPS, size=int(rng.integers(1, 4)), replace=False))
                 for _ in range(n)]
    return {"installed_apps": Ragged.from_lists(installed),
            "impression_app": rng.choice(APPS, size=n).astype(object),
            "country": rng.choice(["US", "DE", "JP"], size=n).astype(object),
            "age": rng.uniform(18, 70, n)}


def labels_of(rng, batch):
    liked = np.isin(batch["impression_app"].astype(str), list(LIKED))
    logit = -1.0 + 2.0 * liked + 0.03 * (batch["age"] - 40)
    return (rng.random(logit.shape[0]) < 1 / (1 + np.exp(-logit))).astype(np.float64)


def values_of(rng, batch):
    """Regression target: a rating that liked apps and older users raise, plus noise."""
    liked = np.isin(batch["impression_app"].astype(str), list(LIKED))
    return 1.0 + 2.0 * liked + 0.05 * (batch["age"] - 40) + rng.normal(0, 0.3, liked.shape[0])


def classes_of(rng, batch):
    """Three classes: 2 for a liked app, else 1 for users over 45, else 0 (10 % noise)."""
    liked = np.isin(batch["impression_app"].astype(str), list(LIKED))
    classes = np.where(liked, 2, np.where(batch["age"] > 45, 1, 0))
    noisy = rng.random(classes.shape[0]) < 0.1
    return np.where(noisy, rng.integers(0, 3, classes.shape[0]), classes).astype(np.float64)


LABEL_RULES = {"binary": labels_of, "regression": values_of, "multiclass": classes_of}


def app_spec():
    return FeatureSpec([
        CategoricalColumn("installed_apps", embedding_dim=4, wide=False),
        CategoricalColumn("impression_app", embedding_dim=4),
        CategoricalColumn("country"),
        NumericColumn("age", normalization="standardize"),
        CrossedColumn(["installed_apps", "impression_app"], hash_buckets=1000)])


def train(seed=0, n=2000, epochs=4, hidden_units=(16, 8), objective="binary",
          shuffle_labels=False):
    """A fitted spec and model of ``objective`` (labels by `LABEL_RULES`; permuted with
    ``shuffle_labels``: a model that learned nothing, for the quality gate)."""
    rng = np.random.default_rng(seed)
    batch = raw_batch(rng, n)
    spec = app_spec().fit([batch])
    labels = LABEL_RULES[objective](rng, batch)
    if shuffle_labels:
        labels = rng.permutation(labels)
    extra = {"n_classes": 3} if objective == "multiclass" else {}
    # the settings these version/gate tests were written with, pinned: tiny models on 2,000
    # rows, where the library's regularizing defaults (docs/DEFAULTS.md) would need more epochs
    model = spec.build_estimator("wide_deep", hidden_units=hidden_units, epochs=epochs,
                                 random_state=seed, dropout=0.0, embedding_l2=0.0,
                                 adagrad=Adagrad(lr=0.1), ftrl=FtrlProximal(alpha=0.05, l1=1e-4),
                                 objective=objective, **extra)
    model.fit(spec.transform(batch), labels)
    return spec, model


def rank_body(rng, n_candidates, top_k=None):
    query = {"installed_apps": rng.choice(APPS, size=2, replace=False).tolist(),
             "country": str(rng.choice(["US", "DE", "JP"])), "age": float(rng.uniform(18, 70))}
    body = {"query": query,
            "candidates": {"impression_app": rng.choice(APPS, size=n_candidates).tolist()}}
    if top_k is not None:
        body["top_k"] = top_k
    return body


def holdout(seed=99, n=600, objective="binary"):
    rng = np.random.default_rng(seed)
    batch = raw_batch(rng, n)
    return batch, LABEL_RULES[objective](rng, batch)


def save_version(base, name, version, spec, model, *, with_holdout=True, n_warmup=4):
    """Save into a staging folder, add gate data (a holdout labelled for the model's
    objective), then rename into place (atomic drop)."""
    folder = os.path.join(base, name)
    os.makedirs(folder, exist_ok=True)
    staging = os.path.join(base, f".staging-{name}-{version}")
    save_model(model, staging, spec=spec)
    rng = np.random.default_rng(version)
    columns, labels = holdout(objective=model.objective) if with_holdout else (None, None)
    store_gate_data(staging, [rank_body(rng, 20) for _ in range(n_warmup)] or None,
                    columns, labels)
    final = os.path.join(folder, str(version))
    os.rename(staging, final)
    return final

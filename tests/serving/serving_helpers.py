"""A small Wide & Deep model and ranking requests built directly as feature dicts.

Fields (user = the query's one row, item = per candidate):

=====================  ======  ==============================================
``user_dense`` [3]      user    dense
``item_dense`` [2]      item    dense
``installed``           user    bag of app ids (weighted, mean combiner), deep + wide
``impression``          item    one app id, deep + wide (shares the "app" table)
``country``             user    one id, deep + wide
``device``              user    one id, wide only
``installed_x_impression`` item  hashed cross of every installed app with the impression
=====================  ======  ==============================================

The deep input interleaves user and item blocks so that the ranker's per-side runs are
exercised: user_dense | item_dense | installed | impression | country.
"""
import numpy as np
import pytest

from widedeep import SparseInput, WideDeepEstimator
from widedeep.features import CategoricalColumn, CrossedColumn, FeatureSpec, NumericColumn
from widedeep.records import Ragged

N_APPS = 30
N_COUNTRIES = 5
N_DEVICES = 3
CROSS_BUCKETS = 97


def cross_ids(installed_lists, impressions):
    return [[(a * 31 + imp) % CROSS_BUCKETS for a in apps]
            for apps, imp in zip(installed_lists, impressions)]


def user_features(installed, weights, country, device, user_dense):
    """Feature dict of users: one list of installed apps (and weights) per user."""
    return {"installed": SparseInput.from_lists(installed, weights=weights, field="installed"),
            "country": SparseInput.from_ids(np.asarray(country)),
            "device": SparseInput.from_ids(np.asarray(device)),
            "user_dense": np.asarray(user_dense, dtype=np.float32)}


def item_features(installed_of_query, impressions, item_dense):
    impressions = np.asarray(impressions)
    return {"impression": SparseInput.from_ids(impressions),
            "installed_x_impression": SparseInput.from_lists(
                cross_ids([installed_of_query] * len(impressions), impressions)),
            "item_dense": np.asarray(item_dense, dtype=np.float32)}


def random_examples(rng, n):
    """A training set of n impressions with labels from a hidden rule."""
    installed = [sorted(rng.choice(N_APPS, size=rng.integers(0, 8), replace=False).tolist())
                 for _ in range(n)]
    weights = [rng.uniform(0.2, 1.0, len(apps)).tolist() for apps in installed]
    impressions = rng.integers(0, N_APPS, n)
    features = user_features(installed, weights, rng.integers(0, N_COUNTRIES, n),
                             rng.integers(0, N_DEVICES, n), rng.normal(size=(n, 3)))
    features["impression"] = SparseInput.from_ids(impressions)
    features["installed_x_impression"] = SparseInput.from_lists(cross_ids(installed, impressions))
    features["item_dense"] = rng.normal(size=(n, 2)).astype(np.float32)
    signal = (impressions % 3 == 0) + 0.5 * features["user_dense"][:, 0] \
        + np.array([(imp + 1) % N_APPS in apps for apps, imp in zip(installed, impressions)])
    labels = (signal + rng.normal(scale=0.5, size=n) > 0.8).astype(np.float64)
    return features, labels


def build_model(**overrides):
    params = dict(wide_fields={"country": N_COUNTRIES, "device": N_DEVICES,
                               "impression": N_APPS, "installed": N_APPS,
                               "installed_x_impression": CROSS_BUCKETS},
                  vocabularies={"app": (N_APPS, 6), "country": (N_COUNTRIES, 3)},
                  embedding_fields={"installed": "app", "impression": "app",
                                    "country": "country"},
                  combiners={"installed": "mean"},
                  dense_fields={"user_dense": 3, "item_dense": 2},
                  hidden_units=(16, 8), epochs=3, batch_size=64, random_state=0)
    params.update(overrides)
    return WideDeepEstimator(**params)


@pytest.fixture(scope="session")
def training_data():
    return random_examples(np.random.default_rng(0), 600)


@pytest.fixture(scope="session")
def trained_model(training_data):
    features, labels = training_data
    return build_model().fit(features, labels)


def make_request(rng, n_candidates, n_installed=6):
    """``{"query": 1-row user features, "candidates": N-row item features}``."""
    installed = sorted(rng.choice(N_APPS, size=n_installed, replace=False).tolist())
    query = user_features([installed], [rng.uniform(0.2, 1.0, n_installed).tolist()],
                          [rng.integers(N_COUNTRIES)], [rng.integers(N_DEVICES)],
                          rng.normal(size=(1, 3)))
    impressions = rng.integers(0, N_APPS, n_candidates)
    candidates = item_features(installed, impressions, rng.normal(size=(n_candidates, 2)))
    return {"query": query, "candidates": candidates}


def expand(request):
    """The fully expanded feature dict: the query repeated for every candidate."""
    candidates = request["candidates"]
    n = candidates["impression"].n_examples
    rows = np.zeros(n, dtype=np.int64)
    out = {name: (value.take(rows) if isinstance(value, SparseInput) else value[rows])
           for name, value in request["query"].items()}
    out.update(candidates)
    return out


@pytest.fixture
def requests_():
    rng = np.random.default_rng(1)
    return [make_request(rng, n) for n in (1, 7, 40, 64)]


# ---------------------------------------------------------------- raw columns + FeatureSpec
APPS = [f"app{i}" for i in range(12)]


def raw_batch(rng, n):
    """Raw app-store-like columns: a user bag, the impression, a country, an age."""
    installed = [list(rng.choice(APPS, size=int(rng.integers(1, 4)), replace=False))
                 for _ in range(n)]
    return {"installed_apps": Ragged.from_lists(installed),
            "impression_app": rng.choice(APPS, size=n).astype(object),
            "country": rng.choice(["US", "DE", "JP"], size=n).astype(object),
            "age": rng.uniform(18, 70, n)}


def app_spec():
    return FeatureSpec([
        CategoricalColumn("installed_apps", embedding_dim=4, wide=False),
        CategoricalColumn("impression_app", embedding_dim=4),
        CategoricalColumn("country"),
        NumericColumn("age", normalization="standardize"),
        CrossedColumn(["installed_apps", "impression_app"], hash_buckets=1000)])


def one_row(batch, row):
    return {k: (v.take([row]) if isinstance(v, Ragged) else v[row:row + 1])
            for k, v in batch.items()}


@pytest.fixture(scope="session")
def spec_model():
    """A fitted ``app_spec()`` and a Wide & Deep model trained on its features."""
    rng = np.random.default_rng(0)
    batch = raw_batch(rng, 400)
    spec = app_spec().fit([batch])
    labels = (rng.random(400) < 0.4).astype(float)
    model = spec.build_estimator("wide_deep", hidden_units=(8,), epochs=3, random_state=0)
    model.fit(spec.transform(batch), labels)
    return spec, model

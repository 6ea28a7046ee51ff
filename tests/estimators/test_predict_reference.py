"""Predictions equal an independent float64 forward pass written here from the model's
parameters (issue 12: the inference fast paths change how, never what, is computed), for a
model whose single-valued fields sit beside bags in both parts (one gather per block for
the single-valued fields, each bag by its own layer); bad values in any field still raise
that field's own error and leave the model as it was."""
import numpy as np
import pytest

from widedeep import SparseInput, WideDeepEstimator

N_USERS, N_ITEMS, N = 30, 20, 90


def batch(seed, n=N):
    rng = np.random.default_rng(seed)
    tags = [list(rng.integers(0, N_ITEMS, rng.integers(0, 4))) for _ in range(n)]
    return {
        "user": SparseInput.from_ids(rng.integers(0, N_USERS, n), field="user"),
        "item": SparseInput(np.arange(n), rng.integers(0, N_ITEMS, n),
                            rng.uniform(0.5, 2.0, n), n_examples=n, field="item"),
        "tags": SparseInput.from_lists(tags, weights=[list(rng.uniform(0.1, 1, len(t)))
                                                      for t in tags], field="tags"),
        "num": rng.standard_normal((n, 3)).astype(np.float32),
    }


@pytest.fixture(scope="module")
def model():
    x = batch(0, 400)
    y = (np.random.default_rng(1).random(400) < 0.4).astype(np.float64)
    return WideDeepEstimator(
        {"user": N_USERS, "item": N_ITEMS, "tags": N_ITEMS},
        vocabularies={"users": (N_USERS, 4), "items": (N_ITEMS, 4)},
        embedding_fields={"user": "users", "item": "items", "tags": "items"},
        dense_fields={"num": 3}, hidden_units=(16, 8), epochs=2, batch_size=64,
        early_stopping=False, random_state=0).fit(x, y)


def rows_of(x):
    """Per example, the list of (id, value) of a SparseInput, read with plain Python."""
    out = [[] for _ in range(x.n_examples)]
    for i, j, v in zip(x.example_indices.tolist(), x.feature_ids.tolist(),
                       x.feature_values.tolist()):
        out[i].append((j, v))
    return out


def reference_probabilities(model, x):
    """sigmoid(b + sum_f sum_k v_k w_f[id_k] + MLP(concat(num, pooled embeddings))), in
    float64 from the model's own arrays, example by example for the sparse parts."""
    wide, deep = model.wide_, model.deep_
    n = x["num"].shape[0]
    logit = np.full(n, float(wide.params["bias"][0]))
    for field in ("user", "item", "tags"):
        weights = wide.params[field].astype(np.float64)
        for i, bag in enumerate(rows_of(x[field])):
            logit[i] += sum(v * weights[j] for j, v in bag)
    tables = {"user": "users", "item": "items", "tags": "items"}
    pooled = []
    for field, vocab in tables.items():
        table = deep.embeddings.params[vocab].astype(np.float64)
        out = np.zeros((n, table.shape[1]))
        for i, bag in enumerate(rows_of(x[field])):
            for j, v in bag:
                out[i] += v * table[j]
        pooled.append(out)
    h = np.concatenate([x["num"].astype(np.float64)] + pooled, axis=1)
    dense = [layer for layer in deep.layers if "W" in getattr(layer, "params", {})]
    for k, layer in enumerate(dense):
        h = h @ layer.params["W"].astype(np.float64)
        if "b" in layer.params:
            h = h + layer.params["b"]
        if k < len(dense) - 1:
            h = np.maximum(h, 0.0)
    logit += h[:, 0]
    return 1.0 / (1.0 + np.exp(-logit))


@pytest.mark.parametrize("n", [1, 7, 256])
def test_predict_proba_equals_a_float64_forward_written_here(model, n):
    x = batch(5 + n, n)
    np.testing.assert_allclose(model.predict_proba(x), reference_probabilities(model, x),
                               rtol=2e-5, atol=1e-6)


def test_predicting_in_slices_gives_the_same_probabilities(model):
    x = batch(3, 200)
    np.testing.assert_array_equal(model.predict_proba(x, batch_size=64),
                                  model.predict_proba(x))


@pytest.mark.parametrize("field, bad, message", [
    ("user", lambda x: SparseInput(x.example_indices, np.where(np.arange(N) == 4, N_USERS,
                                                                x.feature_ids),
                                   n_examples=N, validate=False), "out of range"),
    ("item", lambda x: SparseInput(x.example_indices, x.feature_ids,
                                   np.where(np.arange(N) == 8, np.inf, x.feature_values),
                                   n_examples=N, validate=False), "non-finite"),
    ("tags", lambda x: SparseInput(x.example_indices, np.where(
        np.arange(x.nnz) == 2, -3, x.feature_ids), x.feature_values, n_examples=N,
        validate=False), "negative feature id"),
])
def test_a_bad_value_beside_bags_raises_the_fields_own_error(model, field, bad, message):
    x = batch(9)
    broken = dict(x, **{field: bad(x[field])})
    with pytest.raises(ValueError) as own:
        broken[field].validate(N_USERS if field == "user" else N_ITEMS, field=field)
    assert message in str(own.value)
    before = model.get_state(copy=True)
    for call in (model.predict_proba, model.predict_logit):
        with pytest.raises(ValueError) as raised:
            call(broken)
        assert str(raised.value) == str(own.value)
    after = model.get_state()
    assert all(np.array_equal(before[k], after[k]) for k in before)

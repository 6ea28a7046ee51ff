"""A step run in the step's workspace (`train_batch`) is bit-identical to the three phases
without one (`apply(combine([compute(...)]))`, every array freshly allocated), step after
step while the buffers are reused: float32 models with dropout, lazy embedding L2, shared
vocabularies, multi-valued bags, wide one-hots (the one-gather path) and a wide bag, per-field
FTRL, multiclass, Adam and batch normalization."""
import numpy as np
import pytest

from widedeep import DeepEstimator, FtrlProximal, SparseInput, WideDeepEstimator, \
    WideEstimator
from widedeep.optim import Adam

N = 32


def features(seed, n=N, bag=True):
    rng = np.random.default_rng(seed)
    out = {
        "user": SparseInput.from_ids(rng.integers(0, 50, n)),
        "item": SparseInput.from_ids(rng.integers(0, 30, n)),
        "num": rng.standard_normal((n, 3)).astype(np.float32),
        "cross": SparseInput.from_ids(rng.integers(0, 5000, n)),
    }
    if bag:
        lists = [list(rng.integers(0, 30, rng.integers(0, 4))) for _ in range(n)]
        weights = [list(rng.uniform(0.5, 2.0, len(ids))) for ids in lists]
        out["history"] = SparseInput.from_lists(lists, weights=weights)
    return out


def labels(seed, objective, n=N):
    rng = np.random.default_rng(seed + 100)
    if objective == "multiclass":
        return rng.integers(0, 3, n).astype(np.float64)
    return rng.integers(0, 2, n).astype(np.float64)


def model(kind, objective="binary", bag=True, **extra):
    wide_fields = {"user": 50, "item": 30, "cross": 5000}
    if bag:
        wide_fields["history"] = 30
    wide = dict(wide_fields=wide_fields, ftrl=FtrlProximal(alpha=0.1, beta=0.5, l1=0.01,
                                                           l2=0.01))
    embedding_fields = {"user": "users", "item": "items"}
    vocabularies = {"users": (50, 4), "items": (30, 4)}
    if bag:
        embedding_fields["history"] = "items"   # shares the items table
    deep = dict(vocabularies=vocabularies, embedding_fields=embedding_fields,
                dense_fields={"num": 3}, hidden_units=(16, 8), dropout=0.3,
                embedding_l2=1e-3, dense_l2=1e-3)
    deep.update({k: extra.pop(k) for k in list(extra) if k in ("dropout", "batch_norm",
                                                                "deep_optimizer")})
    common = dict(objective=objective, random_state=0, batch_size=N,
                  **({"n_classes": 3} if objective == "multiclass" else {}), **extra)
    if kind == "wide":
        return WideEstimator(**wide, **common)
    if kind == "deep":
        return DeepEstimator(**deep, **common)
    return WideDeepEstimator(**wide, **deep, **common)


def step_without_workspace(step, x, y, rng):
    masks = step.deep.draw_dropout_masks(y.shape[0], rng) if step.deep else None
    gradient = step.compute(x, y, dropout_masks=masks)
    step.apply(step.combine([gradient]))
    return gradient.predictions


CASES = {
    "wide_deep": dict(kind="wide_deep"),
    "wide_deep one-hots only": dict(kind="wide_deep", bag=False),
    "wide": dict(kind="wide"),
    "deep": dict(kind="deep"),
    "multiclass": dict(kind="wide_deep", objective="multiclass"),
    "per-field ftrl": dict(kind="wide_deep", ftrl_per_field={"cross": {"l1": 0.5}}),
    "batch norm": dict(kind="deep", batch_norm=True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_steps_in_the_workspace_equal_steps_without_it(case):
    config = dict(CASES[case])
    kind, objective = config.pop("kind"), config.pop("objective", "binary")
    bag = config.get("bag", True)
    a, b = model(kind, objective, **config), model(kind, objective, **config)
    x0, y0 = features(0, bag=bag), labels(0, objective)
    a.partial_fit(x0, y0)
    b.partial_fit(x0, y0)
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    for seed in range(1, 5):   # same batch size: the buffers of step 1 are reused
        x, y = features(seed, bag=bag), labels(seed, objective)
        p_a = a.step_.train_batch(x, y, rng=rng_a)
        p_b = step_without_workspace(b.step_, x, y, rng_b)
        np.testing.assert_array_equal(p_a, p_b)
    assert a.step_.workspace(N).nbytes > 0
    state_a, state_b = a.get_state(), b.get_state()
    for key, value in state_b.items():
        np.testing.assert_array_equal(state_a[key], value, err_msg=key)


def test_the_step_keeps_the_workspaces_of_the_last_two_batch_sizes():
    m = model("wide_deep")
    m.partial_fit(features(0), labels(0, "binary"))
    for n in (N, 7, N, 5):
        m.step_.train_batch(features(n, n=n), labels(n, "binary", n=n),
                            rng=np.random.default_rng(0))
    assert list(m.step_._workspaces) == [N, 5]
    m.step_.release_workspaces()
    assert not m.step_._workspaces


def test_predictions_returned_by_a_step_are_not_workspace_buffers():
    """The fit loop may keep a batch's predictions: the next step must not overwrite them."""
    m = model("deep")
    m.partial_fit(features(0), labels(0, "binary"))
    first = m.step_.train_batch(features(1), labels(1, "binary"), rng=np.random.default_rng(0))
    kept = first.copy()
    m.step_.train_batch(features(2), labels(2, "binary"), rng=np.random.default_rng(0))
    np.testing.assert_array_equal(first, kept)


def test_adam_steps_in_the_workspace_equal_steps_without_it():
    """Adam computes its new values without the workspace; its gathers still use it."""
    a, b = (model("deep", deep_optimizer=Adam(lr=0.01)) for _ in range(2))
    x0, y0 = features(0), labels(0, "binary")
    a.partial_fit(x0, y0)
    b.partial_fit(x0, y0)
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    for seed in range(1, 4):
        x, y = features(seed), labels(seed, "binary")
        a.step_.train_batch(x, y, rng=rng_a)
        step_without_workspace(b.step_, x, y, rng_b)
    for key, value in b.get_state().items():
        np.testing.assert_array_equal(a.get_state()[key], value, err_msg=key)

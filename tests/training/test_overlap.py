"""The overlapped step (sparse updates on a helper thread) leaves exactly the parameters of
the sequential step: same operations on the same inputs, written in the same order."""
import numpy as np
import pytest

from widedeep import DeepEstimator, SparseInput, WideDeepEstimator
from widedeep.estimators.batching import take_rows
from widedeep.optim.base import NonFiniteUpdateError


def data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = {"user": SparseInput.from_ids(rng.integers(0, 40, n), field="user"),
         "item": SparseInput.from_ids(rng.integers(0, 25, n), field="item"),
         "tags": SparseInput.from_lists([list(rng.integers(0, 30, rng.integers(0, 4)))
                                         for _ in range(n)], field="tags"),
         "dense": rng.normal(size=(n, 3)).astype(np.float32)}
    y = rng.integers(0, 2, n).astype(float)
    return X, y


def wide_deep(**options):
    return WideDeepEstimator(
        {"user": 40, "item": 25, "tags": 30}, vocabularies={"u": (40, 4), "i": (25, 4),
                                                            "t": (30, 4)},
        embedding_fields={"user": "u", "item": "i", "tags": "t"}, combiners="mean",
        dense_fields={"dense": 3}, hidden_units=(8, 4), batch_size=64, epochs=2,
        random_state=0, **options)


def train(model, X, y, overlap):
    model.partial_fit(take_rows(X, np.arange(64)), y[:64])   # builds the step
    model.step_.overlap = overlap
    for start in range(64, len(y), 64):
        rows = np.arange(start, min(start + 64, len(y)))
        model.partial_fit(take_rows(X, rows), y[rows])
    return model


@pytest.mark.parametrize("options", [
    {}, {"dropout": 0.3, "embedding_l2": 1e-3, "dense_l2": 1e-3}, {"batch_norm": True}])
def test_overlapped_steps_leave_identical_parameters(options):
    X, y = data()
    sequential = train(wide_deep(**options), X, y, overlap=False)
    overlapped = train(wide_deep(**options), X, y, overlap=True)
    a, b = sequential.get_state(), overlapped.get_state()
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    np.testing.assert_array_equal(sequential.predict_proba(X), overlapped.predict_proba(X))


def test_overlapped_steps_of_a_deep_model_are_identical():
    X, y = data(seed=1)
    X = {k: X[k] for k in ("user", "item", "dense")}

    def deep():
        return DeepEstimator(vocabularies={"u": (40, 4), "i": (25, 4)},
                             embedding_fields={"user": "u", "item": "i"},
                             dense_fields={"dense": 3}, hidden_units=(8,), random_state=2)
    sequential = train(deep(), X, y, overlap=False)
    overlapped = train(deep(), X, y, overlap=True)
    a, b = sequential.get_state(), overlapped.get_state()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_an_overlapped_step_that_would_overflow_writes_nothing():
    X, y = data(n=128)
    model = wide_deep(objective="regression")
    train(model, X, y, overlap=True)
    before = model.get_state(copy=True)
    huge = np.full(128, 3e38)     # squared gradients overflow float32 accumulators
    with pytest.raises(NonFiniteUpdateError, match="non-finite"):
        model.partial_fit(X, huge)
    after = model.get_state()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key], err_msg=key)


def test_the_sparse_updates_run_on_the_helper_thread(monkeypatch):
    import threading
    from widedeep.training.step import TrainingStep
    threads = {}
    for name in ("prepare_wide", "prepare_embeddings", "prepare_dense"):
        original = getattr(TrainingStep, name)

        def spy(self, *args, _original=original, _name=name, **kwargs):
            threads[_name] = threading.current_thread().name
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(TrainingStep, name, spy)
    X, y = data(n=128)
    train(wide_deep(), X, y, overlap=True)
    assert threads["prepare_wide"].startswith("widedeep-sparse")
    assert threads["prepare_embeddings"].startswith("widedeep-sparse")
    assert threads["prepare_dense"] == threading.main_thread().name


def test_with_two_blas_threads_the_helper_starts_at_the_input_gradient(monkeypatch):
    """n_threads=2: the products up to dL/da_0 keep both BLAS threads; from there to the
    end of the helper's work the pool has one (the helper has the other core), and
    afterwards two again. The parameters equal the sequential step's."""
    from widedeep.threads import blas_threads
    from widedeep.training.step import TrainingStep
    if not blas_threads():
        pytest.skip("threadpoolctl cannot see the BLAS pool")
    seen = {}
    for name in ("prepare_wide", "prepare_embeddings", "prepare_dense"):
        original = getattr(TrainingStep, name)

        def spy(self, *args, _original=original, _name=name, **kwargs):
            seen.setdefault(_name, []).append(set(blas_threads().values()))
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(TrainingStep, name, spy)
    X, y = data()
    sequential = train(wide_deep(n_threads=2), X, y, overlap=False)
    seen.clear()
    overlapped = train(wide_deep(n_threads=2), X, y, overlap=True)
    # the first step builds the model (sequential, two threads), the others overlap
    for name in ("prepare_wide", "prepare_embeddings", "prepare_dense"):
        assert seen[name][0] == {2} and seen[name][1:] == [{1}] * (len(seen[name]) - 1)
    a, b = sequential.get_state(), overlapped.get_state()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    from widedeep.threads import limit_blas_threads
    with limit_blas_threads(2):
        overlapped.partial_fit(take_rows(X, np.arange(64)), y[:64])
        assert set(blas_threads().values()) == {2}   # restored after the step

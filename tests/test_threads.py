"""BLAS pool limited during fit / predict and restored afterwards (through threadpoolctl)."""
import numpy as np
import pytest

from widedeep import SparseInput, WideDeepEstimator
from widedeep.threads import blas_threads, limit_blas_threads, resolve_n_threads

threadpoolctl = pytest.importorskip("threadpoolctl")


def _set_pool(n):
    return threadpoolctl.threadpool_limits(limits=n, user_api="blas")


def test_limit_is_applied_inside_and_restored_after():
    with _set_pool(2):
        before = blas_threads()
        if not before:
            pytest.skip("no BLAS library visible to threadpoolctl")
        with limit_blas_threads(1):
            assert set(blas_threads().values()) == {1}
            with limit_blas_threads(1):          # nested blocks share one limit
                assert set(blas_threads().values()) == {1}
            assert set(blas_threads().values()) == {1}
        assert blas_threads() == before


def test_limit_is_restored_after_an_error():
    with _set_pool(2):
        before = blas_threads()
        with pytest.raises(RuntimeError):
            with limit_blas_threads(1):
                raise RuntimeError("boom")
        assert blas_threads() == before


def test_fit_runs_with_the_estimators_thread_count():
    seen = []

    class Spy(WideDeepEstimator):
        def _train_batch(self, features, y, sample_weight):
            seen.append(set(blas_threads().values()))
            return super()._train_batch(features, y, sample_weight)

    X = {"a": SparseInput.from_ids(np.arange(40) % 4),
         "x": np.linspace(0, 1, 40, dtype=np.float32)[:, None]}
    y = (np.arange(40) % 2).astype(float)
    with _set_pool(2):
        before = blas_threads()
        model = Spy({"a": 4}, vocabularies={"a": (4, 2)}, embedding_fields={"a": "a"},
                    dense_fields={"x": 1}, hidden_units=(4,), epochs=1, random_state=0)
        model.fit(X, y)
        assert blas_threads() == before
    assert seen and all(s <= {1} for s in seen)      # default: one BLAS thread


def test_resolve_n_threads():
    assert resolve_n_threads(None) == 1
    assert resolve_n_threads(3) == 3
    assert resolve_n_threads(-1) >= 1
    assert resolve_n_threads(0) == 0
    with pytest.raises(ValueError):
        resolve_n_threads(-2)
    with pytest.raises(TypeError):
        resolve_n_threads("2")

"""Predicting is stateless (issue 12): each thread computes in its own workspace, so many
threads predicting at once get exactly the serial results, and predicting writes nothing
into the model."""
import threading

import numpy as np

from widedeep import SparseInput, WideDeepEstimator, DeepEstimator
from widedeep.workspace import thread_workspace


def batch(seed, n):
    rng = np.random.default_rng(seed)
    return {"user": SparseInput.from_ids(rng.integers(0, 40, n)),
            "item": SparseInput.from_ids(rng.integers(0, 25, n)),
            "tags": SparseInput.from_lists([list(rng.integers(0, 25, rng.integers(0, 3)))
                                            for _ in range(n)]),
            "num": rng.standard_normal((n, 2)).astype(np.float32)}


def fitted(cls):
    kwargs = dict(vocabularies={"users": (40, 4), "items": (25, 4)},
                  embedding_fields={"user": "users", "item": "items", "tags": "items"},
                  dense_fields={"num": 2}, hidden_units=(16, 8), random_state=0,
                  epochs=2, early_stopping=False, batch_size=64)
    if cls is WideDeepEstimator:
        kwargs["wide_fields"] = {"user": 40, "item": 25, "tags": 25}
    model = cls(**kwargs)
    x = batch(0, 300)
    y = (np.random.default_rng(1).random(300) < 0.4).astype(np.float64)
    return model.fit(x, y)


def run_concurrently(model, batches, repeats=20):
    results = {}
    barrier = threading.Barrier(len(batches))
    errors = []

    def work(k):
        try:
            barrier.wait()
            outs = [model.predict_proba(batches[k]) for _ in range(repeats)]
            results[k] = outs
        except BaseException as error:   # reported in the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_threads_predicting_at_once_get_the_serial_results_exactly():
    for cls in (WideDeepEstimator, DeepEstimator):
        model = fitted(cls)
        # same batch size in every thread: the buffers' shapes collide if they were shared
        batches = [batch(10 + k, 512) for k in range(6)] + [batch(20, 7), batch(21, 513)]
        serial = [model.predict_proba(b) for b in batches]
        state = {k: v.copy() for k, v in model.get_state().items()}
        results = run_concurrently(model, batches)
        for k, expected in enumerate(serial):
            for out in results[k]:
                np.testing.assert_array_equal(out, expected)
        for key, value in model.get_state().items():   # nothing written into the model
            np.testing.assert_array_equal(value, state[key], err_msg=key)


def test_a_returned_prediction_is_not_overwritten_by_the_next_call():
    model = fitted(DeepEstimator)
    first = model.predict_proba(batch(3, 64))
    kept = first.copy()
    model.predict_proba(batch(4, 64))
    np.testing.assert_array_equal(first, kept)


def test_each_thread_has_its_own_workspace():
    seen = []
    t = threading.Thread(target=lambda: seen.append(thread_workspace()))
    t.start()
    t.join()
    assert seen[0] is not thread_workspace()
    assert thread_workspace() is thread_workspace()

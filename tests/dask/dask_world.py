"""Shared pieces of the Dask tests: batch sources with uneven sizes, an empty partition, sample weights, a shared
vocabulary and dropout."""
import os
import signal
import time

import numpy as np

from widedeep import DeepEstimator, SparseInput, WideDeepEstimator, WideEstimator

N_ITEMS, N_USERS = 40, 30


def labeled_batch(n, seed):
    rng = np.random.default_rng(seed)
    user = rng.integers(0, N_USERS, n)
    item = rng.integers(0, N_ITEMS, n)
    history = [rng.integers(0, N_ITEMS, rng.integers(0, 4)).tolist() for _ in range(n)]
    features = {
        "user": SparseInput.from_ids(user, field="user", vocab_size=N_USERS),
        "item": SparseInput.from_ids(item, field="item", vocab_size=N_ITEMS),
        "history": SparseInput.from_lists(history, field="history", vocab_size=N_ITEMS),
        "user_x_item": SparseInput.from_ids((user * N_ITEMS + item) % 500, field="user_x_item"),
        "context": rng.standard_normal((n, 3)),
    }
    y = (rng.random(n) < 1 / (1 + np.exp(-(user % 3 - item % 2 - 0.5)))).astype(np.float64)
    return features, y, rng.uniform(0.0, 2.0, n)


def partitions(sizes, seed=0):
    """One batch source per entry of ``sizes`` (a list of batch sizes; [] = empty)."""
    return [[labeled_batch(n, seed * 1000 + 10 * p + s) for s, n in enumerate(batch_sizes)]
            for p, batch_sizes in enumerate(sizes)]


def models(random_state=0, dropout=0.3, **extra):
    deep = dict(vocabularies={"item": (N_ITEMS, 4), "user": (N_USERS, 3)},
                embedding_fields={"user": "user", "item": "item", "history": "item"},
                combiners={"history": "mean"}, dense_fields={"context": 3},
                hidden_units=(8, 5), dropout=dropout, embedding_l2=0.05, dense_l2=0.02)
    wide_fields = {"user": N_USERS, "item": N_ITEMS, "user_x_item": 500}
    common = dict(dtype=np.float64, random_state=random_state, **extra)
    return {"wide": lambda: WideEstimator(wide_fields, **common),
            "deep": lambda: DeepEstimator(**deep, **common),
            "wide_deep": lambda: WideDeepEstimator(wide_fields, **deep, **common)}


def max_state_difference(a, b):
    state_a, state_b = a.get_state(), b.get_state()
    assert state_a.keys() == state_b.keys()
    return max(float(np.max(np.abs(state_a[k] - state_b[k]), initial=0.0)) for k in state_a)


class DiesWhileReading:
    """A batch source whose worker process kills itself (once, marked by a file) after a
    pause while prefetching batch ``at`` of pass ``epoch`` (any pass when None): the death
    lands in the apply phase of the step before, after the survivors were sent the
    combined gradient."""

    def __init__(self, batches, at, marker, epoch=None):
        self.batches, self.at, self.marker, self.epoch = batches, at, marker, epoch

    def iter_epoch(self, epoch):
        for number, batch in enumerate(self.batches):
            if number == self.at and self.epoch in (None, epoch) \
                    and not os.path.exists(self.marker):
                open(self.marker, "w").close()
                time.sleep(0.5)
                os.kill(os.getpid(), signal.SIGKILL)
            yield batch

    def __iter__(self):
        return self.iter_epoch(0)

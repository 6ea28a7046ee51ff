"""`fit(..., prefetch=True)` on a batch source: the same model as without prefetch, the
source's errors unchanged, no prefetch thread left behind however fit ends."""
import threading

import numpy as np
import pytest

from widedeep.estimators.callbacks import Callback
from widedeep.features import CategoricalColumn, FeatureSpec, NumericColumn
from widedeep.readers import CsvReader


def prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "widedeep-prefetch"]


@pytest.fixture(scope="module")
def csv_source(tmp_path_factory):
    """A spec and a maker of fresh shuffled CSV readers (11 batches of 64 rows; a reader's
    k-th pass is its k-th shuffle, so each fit gets its own reader)."""
    rng = np.random.default_rng(0)
    rows = 700
    city = rng.choice(["paris", "oslo", "lima", "rome"], rows)
    age = rng.integers(18, 80, rows)
    label = ((age > 45) ^ (city == "oslo")).astype(int)
    path = tmp_path_factory.mktemp("prefetch") / "people.csv"
    with open(path, "w") as out:
        out.write("city,age,label\n")
        out.writelines(f"{c},{a},{y}\n" for c, a, y in zip(city, age, label))
    def reader():
        return CsvReader(str(path), label="label", batch_size=64, shuffle_buffer=200,
                         random_state=3, dtypes={"age": "float64", "label": "int64"})

    spec = FeatureSpec([CategoricalColumn("city", embedding_dim=4), NumericColumn("age")])
    spec.fit(reader())
    return spec, reader


def fitted(spec, reader, prefetch, **fit_args):
    model = spec.build_estimator("wide_deep", hidden_units=(8,), epochs=3, random_state=7,
                                 dropout=0.2)
    return model.fit(spec.batches(reader), prefetch=prefetch, **fit_args)


def test_prefetch_trains_bit_identical_parameters(csv_source):
    spec, reader = csv_source
    with_prefetch = fitted(spec, reader(), True).get_state(copy=True)
    without = fitted(spec, reader(), False).get_state(copy=True)
    assert with_prefetch.keys() == without.keys()
    for key in without:
        np.testing.assert_array_equal(with_prefetch[key], without[key], err_msg=key)
    assert prefetch_threads() == []


def test_batches_reach_the_step_in_source_order(csv_source):
    spec, reader = csv_source
    seen = {}

    class Rows(Callback):
        def __init__(self, name):
            self.name = name

        def on_batch_begin(self, estimator, record):
            seen.setdefault(self.name, []).append((record["epoch"], record["batch"],
                                                  record["rows"]))

    expected = [len(y) for _, y in spec.batches(reader())]
    fitted(spec, reader(), True, epochs=1, callbacks=[Rows("on")])
    fitted(spec, reader(), False, epochs=1, callbacks=[Rows("off")])
    assert seen["on"] == seen["off"]
    assert [rows for _, _, rows in seen["on"]] == expected


class FailingSource:
    """Re-iterable batches; pass ``fail_epoch`` raises at batch ``fail_at``."""

    def __init__(self, batches, fail_at, fail_epoch=0):
        self.batches, self.fail_at, self.fail_epoch = batches, fail_at, fail_epoch
        self.passes = 0

    def __iter__(self):
        epoch, self.passes = self.passes, self.passes + 1
        for k, batch in enumerate(self.batches):
            if epoch == self.fail_epoch and k == self.fail_at:
                raise ValueError(f"people.csv, line {k * 64 + 2}: cannot parse 'x' as age")
            yield batch


@pytest.mark.parametrize("prefetch", [True, False])
def test_a_source_error_at_batch_k_is_raised_unchanged_by_fit(csv_source, prefetch):
    spec, reader = csv_source
    batches = list(spec.batches(reader()))
    steps = []

    class Count(Callback):
        def on_batch_end(self, estimator, record):
            steps.append(record["batch"])

    model = spec.build_estimator("wide_deep", hidden_units=(8,), epochs=2, random_state=7)
    with pytest.raises(ValueError) as caught:
        model.fit(FailingSource(batches, fail_at=4, fail_epoch=1), prefetch=prefetch,
                  callbacks=[Count()])
    assert type(caught.value) is ValueError
    assert str(caught.value) == "people.csv, line 258: cannot parse 'x' as age"
    assert steps == list(range(1, len(batches) + 1)) + [1, 2, 3, 4]   # then the error
    assert prefetch_threads() == []


def test_no_thread_is_left_when_the_step_raises(csv_source):
    spec, reader = csv_source

    class Explode(Callback):
        def on_batch_end(self, estimator, record):
            if record["batch"] == 2:
                raise RuntimeError("callback failed")

    with pytest.raises(RuntimeError, match="callback failed"):
        fitted(spec, reader(), True, callbacks=[Explode()])
    assert prefetch_threads() == []


def test_no_thread_is_left_when_a_callback_stops_mid_epoch(csv_source):
    spec, reader = csv_source

    class StopAtBatch3(Callback):
        def on_batch_end(self, estimator, record):
            return record["batch"] == 3

    model = fitted(spec, reader(), True, callbacks=[StopAtBatch3()])
    assert model.steps_trained_ == 3
    assert prefetch_threads() == []


def test_no_thread_is_left_after_early_stopping(csv_source):
    spec, reader = csv_source
    # scored against flipped labels, the model gets worse as it learns: it stops early
    flipped = [(features, 1 - y) for features, y in spec.batches(reader())]
    model = spec.build_estimator("wide_deep", hidden_units=(8,), epochs=30, random_state=7,
                                 n_iter_no_change=1)
    model.fit(spec.batches(reader()), eval_set=flipped, prefetch=True)
    assert len(model.history_) < 30 and model.best_epoch_ is not None
    assert prefetch_threads() == []


def test_prefetch_must_be_a_bool(csv_source):
    spec, reader = csv_source
    model = spec.build_estimator("wide_deep", hidden_units=(8,), random_state=7)
    with pytest.raises(ValueError, match="prefetch must be True or False, got 1"):
        model.fit(spec.batches(reader()), prefetch=1)
    assert not hasattr(model, "steps_trained_")

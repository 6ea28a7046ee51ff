"""Training N epochs, saving, loading and training M more equals N + M epochs in one go,
bit for bit (shuffles derive from the seed and the epoch number, the dropout generator's
state and the optimizer accumulators are saved)."""
import numpy as np
import pytest

from widedeep.io import load_model, save_model

from io_helpers import assert_same_state, make_model, synthetic


@pytest.mark.parametrize("wide_mode", ["batch", "online"])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wide_deep_resumed_from_a_save_equals_uninterrupted_training(tmp_path, wide_mode,
                                                                      dropout, dtype):
    X, y = synthetic()
    settings = dict(wide_mode=wide_mode, dropout=dropout, dtype=dtype, shuffle=True)
    uninterrupted = make_model(**settings).fit(X, y, epochs=5)

    first = make_model(**settings).fit(X, y, epochs=2)
    save_model(first, tmp_path / "checkpoint")
    resumed = load_model(tmp_path / "checkpoint").set_params(warm_start=True)
    resumed.fit(X, y, epochs=3)

    assert_same_state(resumed, uninterrupted)
    assert resumed.epochs_trained_ == uninterrupted.epochs_trained_ == 5
    assert resumed.steps_trained_ == uninterrupted.steps_trained_
    assert resumed.get_training_state()["dropout_rng"] == \
        uninterrupted.get_training_state()["dropout_rng"]


@pytest.mark.parametrize("kind", ["wide", "deep"])
def test_wide_and_deep_alone_resume_exactly(tmp_path, kind):
    X, y = synthetic()
    settings = {} if kind == "wide" else {"dropout": 0.2}
    uninterrupted = make_model(kind, **settings).fit(X, y, epochs=4)
    first = make_model(kind, **settings).fit(X, y, epochs=1)
    save_model(first, tmp_path / "c")
    resumed = load_model(tmp_path / "c").set_params(warm_start=True).fit(X, y, epochs=3)
    assert_same_state(resumed, uninterrupted)


def test_a_drawn_seed_is_saved_so_resume_needs_no_random_state(tmp_path):
    X, y = synthetic()
    first = make_model(random_state=None, dropout=0.2).fit(X, y, epochs=2)
    save_model(first, tmp_path / "c")
    twin = load_model(tmp_path / "c")
    assert twin.seed_ == first.seed_
    first.set_params(warm_start=True).fit(X, y, epochs=2)
    twin.set_params(warm_start=True).fit(X, y, epochs=2)
    assert_same_state(twin, first)


def test_resuming_several_times_equals_one_run(tmp_path):
    X, y = synthetic()
    uninterrupted = make_model(dropout=0.1).fit(X, y, epochs=4)
    model = make_model(dropout=0.1).fit(X, y, epochs=1)
    for _ in range(3):
        save_model(model, tmp_path / "c")
        model = load_model(tmp_path / "c").set_params(warm_start=True).fit(X, y, epochs=1)
    assert_same_state(model, uninterrupted)
    assert [h["epoch"] for h in model.history_] == [1, 2, 3, 4]

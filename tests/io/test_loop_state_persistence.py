"""The training loop's new state survives save/load and get_state/set_state: batch-norm
running statistics, Adam moments and step counts, learning-rate schedule state; configs of
the new parameters round-trip, and configs saved before them still load."""
import json

import numpy as np
import pytest

from widedeep.io import estimator_from_config, load_model, save_model
from widedeep.optim import Adam
from widedeep.optim.schedules import ReduceOnPlateau, StepDecay

from io_helpers import assert_same_state, make_model, synthetic

LOOP = dict(batch_norm=True, deep_optimizer=Adam(lr=0.01), adagrad=None,
            lr_schedule={"wide": StepDecay(1, 0.5), "deep": ReduceOnPlateau(0.5, 1)})


def test_new_state_round_trips_through_save_and_load(tmp_path):
    X, y = synthetic()
    model = make_model(**LOOP).fit(X, y, eval_set=(X, y), epochs=3)
    state = model.get_state()
    assert any(key.startswith("deep_statistics/") for key in state)
    assert any(key.endswith("/m") for key in state) and any(key.endswith("/step")
                                                             for key in state)
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert_same_state(loaded, model)
    assert loaded.lr_schedule_state_ == model.lr_schedule_state_
    assert isinstance(loaded.deep_optimizer, Adam) and loaded.batch_norm is True
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_memory_mapped_load_uses_the_saved_running_statistics(tmp_path):
    X, y = synthetic()
    model = make_model(**LOOP).fit(X, y, epochs=2)
    save_model(model, tmp_path / "m")
    mapped = load_model(tmp_path / "m", mmap=True)
    statistics = mapped.deep_.statistics
    # plain ndarray views of the maps (see widedeep.io.saving._map_arrays), read-only
    assert statistics and all(isinstance(v.base, np.memmap) for v in statistics.values())
    assert not any(v.flags.writeable for v in statistics.values())
    np.testing.assert_array_equal(mapped.predict_proba(X), model.predict_proba(X))


def test_resume_with_adam_batch_norm_and_schedules_equals_uninterrupted(tmp_path):
    X, y = synthetic()
    uninterrupted = make_model(**LOOP).fit(X, y, eval_set=(X, y), epochs=4)
    first = make_model(**LOOP).fit(X, y, eval_set=(X, y), epochs=2)
    save_model(first, tmp_path / "c")
    resumed = load_model(tmp_path / "c").set_params(warm_start=True)
    resumed.fit(X, y, eval_set=(X, y), epochs=2)
    assert_same_state(resumed, uninterrupted)
    assert resumed.lr_schedule_state_ == uninterrupted.lr_schedule_state_
    assert [h["lr_multiplier_wide"] for h in resumed.history_] == [1, 0.5, 0.25, 0.125]


def test_set_state_restores_running_statistics_and_moments():
    X, y = synthetic()
    model = make_model(**LOOP).fit(X, y, epochs=1)
    saved = model.get_state(copy=True)
    model.set_params(warm_start=True).fit(X, y, epochs=1)
    model.set_state(saved)
    for key, value in saved.items():
        np.testing.assert_array_equal(model.get_state()[key], value, err_msg=key)


def test_config_of_the_loop_parameters_is_json_and_rebuilds_them():
    model = make_model(**LOOP, class_weight={0: 1.0, 1: 2.0}, early_stopping="auto",
                       n_iter_no_change=4, validation_fraction=0.2, eval_metric="auc",
                       frozen_embeddings=("va",))
    config = json.loads(json.dumps(model.get_config()))
    rebuilt = estimator_from_config(config)
    params = rebuilt.get_params()
    assert repr(params["lr_schedule"]["wide"]) == repr(StepDecay(1, 0.5))
    assert repr(params["deep_optimizer"]) == repr(Adam(lr=0.01))
    assert params["frozen_embeddings"] == ("va",)
    assert (params["n_iter_no_change"], params["validation_fraction"],
            params["eval_metric"]) == (4, 0.2, "auc")
    assert params["class_weight"] == {0: 1.0, 1: 2.0}


def test_a_model_with_a_class_weight_dict_saves_and_loads(tmp_path):
    X, y = synthetic()
    model = make_model(class_weight={1: 3.0}).fit(X, y)
    save_model(model, tmp_path / "m")
    assert load_model(tmp_path / "m").class_weight == {1: 3.0}


def test_functions_and_arrays_are_not_saved_as_config():
    model = make_model(lr_schedule=lambda epoch: 1.0,
                       eval_metric=(lambda y, p, sw: 0.0, "max"),
                       embedding_init={"va": np.zeros((20, 4))})
    params = model.get_config()["params"]
    assert params["lr_schedule"] is None and params["eval_metric"] is None
    assert params["embedding_init"] is None


@pytest.mark.parametrize("rounds, expected", [(None, (False, None)), (3, (True, 3))])
def test_a_config_saved_with_early_stopping_rounds_still_loads(rounds, expected):
    config = make_model().get_config()
    params = config["params"]
    for key in ("early_stopping", "n_iter_no_change", "validation_fraction", "class_weight",
                "lr_schedule", "deep_optimizer", "embedding_init", "frozen_embeddings",
                "batch_norm"):
        params.pop(key)
    params["early_stopping_rounds"] = rounds
    rebuilt = estimator_from_config(json.loads(json.dumps(config)))
    early, n_iter = expected
    assert rebuilt.early_stopping is early
    if n_iter is not None:
        assert rebuilt.n_iter_no_change == n_iter

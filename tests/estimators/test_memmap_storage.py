"""``storage="memmap"``: the big arrays live in memory-mapped scratch files; training,
saving, loading and warm start give exactly what in-memory storage gives."""
import os
import sys

import numpy as np
import pytest

from widedeep import DeepEstimator, WideDeepEstimator, WideEstimator
from widedeep.io import load_model, save_model
from widedeep.optim import Adam

from estimator_world import model_params


def joint(world, tmp_path=None, **kw):
    p = model_params(world)
    kw.setdefault("epochs", 3)
    kw.setdefault("random_state", 0)
    if tmp_path is not None:
        kw.update(storage="memmap", storage_dir=str(tmp_path))
    return WideDeepEstimator(p["wide_fields"], **p["deep"], **kw)


def assert_same_state(a, b):
    state_a, state_b = a.get_state(), b.get_state()
    assert set(state_a) == set(state_b)
    for key, value in state_a.items():
        assert np.array_equal(value, state_b[key]), key


def is_mapped(array):
    base = array
    while base is not None and not isinstance(base, np.memmap):
        base = base.base
    return isinstance(base, np.memmap)


@pytest.mark.parametrize("options", [
    {},                                                        # AdaGrad + FTRL
    dict(deep_optimizer=Adam(lr=0.01), ftrl_per_field={"user": {"l1": 0.5}}, dropout=0.3,
         dtype=np.float64),                                    # Adam + per-field FTRL
    dict(objective="multiclass", n_classes=3, early_stopping=False),   # [size, K] wide
])
def test_memmap_training_equals_in_memory_training_exactly(world, small_data, tmp_path,
                                                           options):
    (X, y), (X_test, y_test) = small_data
    if options.get("objective") == "multiclass":
        y, y_test = y + (X["context"][:, 0] > 0), y_test + (X_test["context"][:, 0] > 0)
    memory = joint(world, **options).fit(X, y, eval_set=(X_test, y_test))
    mapped = joint(world, tmp_path, **options).fit(X, y, eval_set=(X_test, y_test))
    assert_same_state(memory, mapped)
    assert [r["eval_logloss"] for r in memory.history_] == \
        [r["eval_logloss"] for r in mapped.history_]
    assert np.array_equal(memory.predict_logit(X_test), mapped.predict_logit(X_test))


def test_the_tables_wide_state_and_accumulators_are_memory_mapped(world, small_data,
                                                                  tmp_path):
    (X, y), _ = small_data
    model = joint(world, tmp_path, epochs=1, early_stopping=False).fit(X, y)
    state = model.get_state()
    big = [key for key in state if key.startswith(("wide/", "deep/embedding/",
                                                   "deep_optimizer/embedding/"))
           and not key.startswith("wide/bias/")]
    assert len(big) == 3 * 3 + 2 + 2          # w, z, n of 3 wide fields; 2 tables + accs
    assert all(is_mapped(state[key]) for key in big)
    assert not is_mapped(state["deep/layer0/W"])               # small arrays stay in memory
    if sys.platform.startswith("linux"):   # the maps are files of storage_dir (unlinked)
        with open("/proc/self/maps") as maps:
            ours = [line for line in maps if str(tmp_path) in line]
        assert len(ours) >= 5
    memory = joint(world, epochs=1, early_stopping=False).fit(X, y)
    assert not any(is_mapped(value) for value in memory.get_state().values())


def test_memmap_model_saves_loads_and_warm_starts_like_an_in_memory_one(world, small_data,
                                                                        tmp_path):
    (X, y), (X_test, y_test) = small_data
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    memory = joint(world, epochs=2, early_stopping=False).fit(X, y)
    mapped = joint(world, scratch, epochs=2, early_stopping=False).fit(X, y)
    save_model(mapped, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.storage == "memmap" and loaded.storage_dir == str(scratch)
    assert is_mapped(loaded.get_state()["deep/embedding/user"])
    assert_same_state(loaded, memory)
    # warm start: one more epoch on both, still identical
    loaded.set_params(warm_start=True).fit(X, y, epochs=1)
    memory.set_params(warm_start=True).fit(X, y, epochs=1)
    assert_same_state(loaded, memory)
    # and an in-memory copy of a memmap model (storage is a setting, not data)
    save_model(loaded, tmp_path / "again")
    assert np.array_equal(load_model(tmp_path / "again").predict_proba(X_test),
                          memory.predict_proba(X_test))


@pytest.mark.parametrize("storage, storage_dir, message", [
    ("disk", None, "storage must be one of"),
    ("memmap", None, "storage='memmap' needs storage_dir"),
    ("memmap", "/no/such/directory", "storage_dir must be an existing directory"),
    ("memory", ".", "storage_dir is used only with storage='memmap'"),
])
def test_bad_storage_settings_raise_naming_the_parameter_and_change_nothing(
        world, small_data, storage, storage_dir, message):
    (X, y), _ = small_data
    X = {k: v for k, v in X.items() if k != "context"}
    model = WideEstimator(model_params(world)["wide_fields"], epochs=1, random_state=0)
    with pytest.raises(ValueError, match=message):
        model.set_params(storage=storage, storage_dir=storage_dir).fit(X, y)
    assert not hasattr(model, "steps_trained_")


def test_early_stopping_copy_goes_to_the_storage_directory(world, small_data, tmp_path):
    from widedeep.estimators.callbacks import Callback
    (X, y), (X_test, y_test) = small_data
    seen = []

    class Look(Callback):
        def on_epoch_end(self, model, logs):
            seen.append(len(list(tmp_path.rglob("*.npy"))))

    DeepEstimator(**model_params(world)["deep"], epochs=2, random_state=0, storage="memmap",
                  storage_dir=str(tmp_path)).fit(X, y, eval_set=(X_test, y_test),
                                                 callbacks=[Look()])
    assert seen and seen[0] > 0
    assert os.listdir(tmp_path) == []          # nothing left behind

import json
import os

import numpy as np
import pytest

from widedeep import NotFittedError
from widedeep.features import CategoricalColumn, FeatureSpec
from widedeep.io import FORMAT_VERSION, load_model, load_spec, read_manifest, save_model

from io_helpers import assert_same_state, make_model, synthetic


def _snapshot_file(path, name):
    return os.path.join(path, read_manifest(path, verify=False)["snapshot"], name)


def _edit_json(filename, edit):
    with open(filename) as handle:
        data = json.load(handle)
    edit(data)
    with open(filename, "w") as handle:
        json.dump(data, handle)


@pytest.fixture
def saved(tmp_path):
    X, y = synthetic()
    model = make_model().fit(X, y)
    path = tmp_path / "model"
    save_model(model, path)
    return model, str(path), X


# ---------------------------------------------------------------------- round trips
@pytest.mark.parametrize("kind", ["wide", "deep", "wide_deep"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_gives_identical_predictions_and_state(tmp_path, kind, dtype):
    X, y = synthetic()
    model = make_model(kind, dtype=dtype, dropout=0.25) if kind != "wide" \
        else make_model(kind, dtype=dtype)
    model.fit(X, y)
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    assert_same_state(loaded, model)
    assert np.array_equal(loaded.predict_logit(X), model.predict_logit(X))
    assert loaded.get_training_state() == model.get_training_state()


def test_saved_arrays_are_plain_npz_without_pickles(saved):
    model, path, _ = saved
    manifest = read_manifest(path)
    assert manifest["format_version"] == FORMAT_VERSION
    with np.load(_snapshot_file(path, "arrays.npz"), allow_pickle=False) as archive:
        for key, record in manifest["arrays"].items():
            value = archive[record["member"]]
            assert np.array_equal(value, model.get_state()[key])
            assert [list(value.shape), value.dtype.name] == [record["shape"], record["dtype"]]


def test_spec_is_saved_and_loaded_with_the_model(tmp_path):
    spec = FeatureSpec([CategoricalColumn("color", vocabulary=["red", "blue"],
                                          embedding_dim=2)])
    raw = {"color": np.array(["red", "blue", "green", "red"])}
    model = spec.build_estimator("wide_deep", hidden_units=(3,), epochs=1, random_state=0)
    model.fit(spec.transform(raw), np.array([1, 0, 0, 1]))
    save_model(model, tmp_path / "m", spec=spec)
    loaded_spec = load_spec(tmp_path / "m")
    assert loaded_spec.to_json() == spec.to_json()
    features = loaded_spec.transform(raw)
    assert np.array_equal(load_model(tmp_path / "m").predict_logit(features),
                          model.predict_logit(spec.transform(raw)))


def test_load_spec_is_none_when_no_spec_was_saved(saved):
    assert load_spec(saved[1]) is None


def test_saving_again_replaces_the_previous_snapshot(saved):
    model, path, X = saved
    first = read_manifest(path)["snapshot"]
    model.set_params(warm_start=True).fit(X, synthetic()[1], epochs=1)
    save_model(model, path)
    entries = sorted(os.listdir(path))
    assert entries == sorted(["manifest.json", read_manifest(path)["snapshot"]])
    assert first not in entries
    assert np.array_equal(load_model(path).predict_logit(X), model.predict_logit(X))


# ---------------------------------------------------------------------- atomicity
def test_a_crash_while_writing_arrays_leaves_the_previous_save_loadable(saved, monkeypatch):
    model, path, X = saved
    before = model.predict_logit(X)
    other = make_model(random_state=99).fit(*synthetic(seed=3))

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="simulated"):
        save_model(other, path)
    monkeypatch.undo()
    assert np.array_equal(load_model(path).predict_logit(X), before)
    assert sorted(os.listdir(path)) == sorted(["manifest.json", read_manifest(path)["snapshot"]])


def test_a_crash_before_the_manifest_is_replaced_keeps_the_old_model(saved, monkeypatch):
    model, path, X = saved
    before = model.predict_logit(X)
    other = make_model(random_state=99).fit(*synthetic(seed=3))
    real_replace = os.replace

    def crash(src, dst):
        if str(dst).endswith("manifest.json"):
            raise KeyboardInterrupt   # killed at the last moment
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        save_model(other, path)
    monkeypatch.undo()
    assert np.array_equal(load_model(path).predict_logit(X), before)


def test_refuses_to_overwrite_a_directory_that_is_not_a_model(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a widedeep model directory"):
        save_model(make_model().fit(*synthetic()), tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_saving_an_unfitted_model_says_so(tmp_path):
    with pytest.raises(NotFittedError, match="not fitted"):
        save_model(make_model(), tmp_path / "m")
    assert not (tmp_path / "m").exists()


# ---------------------------------------------------------------------- damaged files
def test_truncated_npz_is_reported_with_the_file(saved):
    path = saved[1]
    arrays = _snapshot_file(path, "arrays.npz")
    size = os.path.getsize(arrays)
    with open(arrays, "r+b") as handle:
        handle.truncate(size // 2)
    with pytest.raises(ValueError, match=r"arrays.npz: \d+ bytes, but manifest.json recorded "
                                         r"\d+: the file was truncated"):
        load_model(path)


def test_truncated_npz_without_checksums_is_still_a_clear_error(saved):
    path = saved[1]
    arrays = _snapshot_file(path, "arrays.npz")
    size = os.path.getsize(arrays)
    with open(arrays, "r+b") as handle:
        handle.truncate(size // 2)
    with pytest.raises(ValueError, match=r"arrays.npz: damaged or truncated archive"):
        load_model(path, verify=False)


def test_flipped_byte_in_npz_fails_the_checksum(saved):
    path = saved[1]
    arrays = _snapshot_file(path, "arrays.npz")
    with open(arrays, "r+b") as handle:
        handle.seek(os.path.getsize(arrays) // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ValueError, match=r"arrays.npz: SHA-256 does not match manifest.json"):
        load_model(path)


def test_edited_config_fails_the_checksum(saved):
    path = saved[1]
    _edit_json(_snapshot_file(path, "config.json"),
               lambda c: c["params"].update(hidden_units=[16, 4]))
    with pytest.raises(ValueError, match=r"config.json: .*modified after saving"):
        load_model(path)


def test_edited_config_with_an_unknown_class_is_refused(saved):
    path = saved[1]
    _edit_json(_snapshot_file(path, "config.json"), lambda c: c.update({"class": "Pickle"}))
    with pytest.raises(ValueError, match=r"config.json: key 'class' is 'Pickle'"):
        load_model(path, verify=False)


def test_config_that_no_longer_matches_the_arrays_names_the_key(saved):
    path = saved[1]
    _edit_json(_snapshot_file(path, "config.json"),
               lambda c: c["params"].update(hidden_units=[16, 4]))
    with pytest.raises(ValueError, match=r"manifest.json: array 'deep/layer0/W' is "
                                         r"float32\[11, 8\] but the model of .*config.json "
                                         r"needs float32\[11, 16\]"):
        load_model(path, verify=False)


@pytest.mark.parametrize("edit", [
    lambda p: p.update(hidden_units=[100_000, 100_000]),           # 10^10 weights
    lambda p: p["vocabularies"].update({name: [2_000_000_000, size[1]]
                                        for name, size in p["vocabularies"].items()}),
])
def test_an_edited_config_declaring_huge_tables_is_refused_before_allocating(saved, edit):
    import tracemalloc
    path = saved[1]
    _edit_json(_snapshot_file(path, "config.json"), lambda c: edit(c["params"]))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"config.json: the parameters declare at least "
                                             r"[\d,]+ parameters, but the saved arrays hold"):
            load_model(path, verify=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2 ** 20, peak


def test_manifest_shapes_larger_than_the_archive_are_refused(saved):
    path = saved[1]
    _edit_json(os.path.join(path, "manifest.json"),
               lambda m: m["arrays"]["wide/a/w"].update(shape=[10 ** 12]))
    with pytest.raises(ValueError, match=r"manifest.json: the array shapes declare "
                                         r"[\d,]+ values, more than .*arrays.npz"):
        load_model(path, verify=False)


def test_array_shape_differing_from_the_manifest_names_the_key(saved):
    path = saved[1]
    manifest_file = os.path.join(path, "manifest.json")
    _edit_json(manifest_file, lambda m: m["arrays"]["wide/a/w"].update(shape=[21]))
    with pytest.raises(ValueError, match=r"array 'wide/a/w' is float32\[21\] but the model "
                                         r"of .*config.json needs float32\[20\]"):
        load_model(path)


def test_wrong_format_version_is_explained(saved):
    path = saved[1]
    _edit_json(os.path.join(path, "manifest.json"),
               lambda m: m.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(ValueError, match=r"manifest.json: key 'format_version' is 2; .*reads "
                                         r"format version 1 \(the model was saved by a newer"):
        load_model(path)


def test_invalid_json_gives_line_and_column(saved):
    path = saved[1]
    with open(_snapshot_file(path, "training_state.json"), "w") as handle:
        handle.write('{"seed": 1,\n "epochs_trained": }')
    with pytest.raises(ValueError, match=r"training_state.json: invalid JSON at line 2"):
        load_model(path, verify=False)


def test_damaged_training_state_names_the_key(saved):
    path = saved[1]
    _edit_json(_snapshot_file(path, "training_state.json"), lambda t: t.pop("steps_trained"))
    with pytest.raises(ValueError, match=r"training_state.json: missing key 'steps_trained'"):
        load_model(path, verify=False)
    _edit_json(_snapshot_file(path, "training_state.json"),
               lambda t: t.update(steps_trained=3, dropout_rng={"bit_generator": "MT19937"}))
    with pytest.raises(ValueError, match=r"key 'dropout_rng' is not a valid generator state"):
        load_model(path, verify=False)


def test_missing_file_and_missing_manifest_are_named(saved, tmp_path):
    path = saved[1]
    os.remove(_snapshot_file(path, "training_state.json"))
    with pytest.raises(ValueError, match=r"training_state.json: missing \(listed in "
                                         r"manifest.json\)"):
        load_model(path)
    with pytest.raises(ValueError, match=r"not a widedeep model directory \(manifest.json is "
                                         r"missing\)"):
        load_model(tmp_path)


def test_snapshot_outside_the_directory_is_refused(saved):
    path = saved[1]
    _edit_json(os.path.join(path, "manifest.json"), lambda m: m.update(snapshot="../../etc"))
    with pytest.raises(ValueError, match=r"key 'snapshot' is '../../etc'"):
        load_model(path)


def test_object_array_in_the_npz_is_not_unpickled(saved):
    path = saved[1]
    arrays = _snapshot_file(path, "arrays.npz")
    manifest = read_manifest(path)
    with np.load(arrays) as archive:
        members = {name: archive[name] for name in archive.files}
    member = manifest["arrays"]["wide/a/w"]["member"]
    members[member] = np.array([object()] * 20, dtype=object)
    np.savez(arrays, **members)
    with pytest.raises(ValueError, match=r"arrays.npz: cannot read arrays .*allow_pickle"):
        load_model(path, verify=False)


def test_history_with_nan_metrics_survives_the_round_trip(tmp_path):
    X, y = synthetic()
    model = make_model().fit(X, y, eval_set=(X, np.zeros_like(y)))   # one class: AUC is NaN
    save_model(model, tmp_path / "m")
    history = load_model(tmp_path / "m").history_
    assert np.isnan(history[0]["eval_auc"])
    assert history[0]["eval_logloss"] == model.history_[0]["eval_logloss"]

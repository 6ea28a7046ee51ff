import numpy as np
import pytest

from widedeep import SparseInput
from widedeep.features import CategoricalColumn, CrossedColumn, FeatureSpec, HashedColumn
from widedeep.io import save_model
from widedeep.io import warm_start

from io_helpers import N_A, N_B, assert_same_state, make_model, synthetic

OLD_A = [f"app{k}" for k in range(N_A)]
# the new vocabulary: 3 old tokens dropped, the rest reordered, 5 new tokens mixed in
_rng = np.random.default_rng(11)
NEW_A = list(_rng.permutation(OLD_A[3:] + [f"fresh{k}" for k in range(5)]))


def _grown_model(**overrides):
    vocabularies = {"va": (len(NEW_A), 4), "vb": (N_B, 4)}
    return make_model(vocabularies=vocabularies, random_state=5, **overrides) \
        .set_params(wide_fields={"a": len(NEW_A), "b": N_B})


def test_reordered_and_grown_vocabulary_keeps_each_tokens_row_and_wide_weight():
    old = make_model().fit(*synthetic())
    new = _grown_model()
    report = warm_start(new, old, old_tokens={"a": OLD_A}, new_tokens={"a": NEW_A})
    fresh = _grown_model()._initialize()

    old_id = {token: k for k, token in enumerate(OLD_A)}
    for new_id, token in enumerate(NEW_A):
        if token in old_id:
            assert np.array_equal(new.deep_.params["embedding/va"][new_id],
                                  old.deep_.params["embedding/va"][old_id[token]]), token
            assert new.wide_.params["a"][new_id] == old.wide_.params["a"][old_id[token]], token
        else:   # a new token keeps the new model's own initialization
            assert np.array_equal(new.deep_.params["embedding/va"][new_id],
                                  fresh.deep_.params["embedding/va"][new_id]), token
            assert new.wide_.params["a"][new_id] == 0.0
    expected = {"how": "token", "carried": N_A - 3, "new": 5, "dropped": 3, "reason": ""}
    assert report.embeddings["va"] == expected
    assert report.wide["a"] == expected
    assert report.embeddings["vb"]["how"] == "id" and report.embeddings["vb"]["carried"] == N_B
    assert new.warm_start is True


def test_carried_wide_weights_are_kept_by_ftrl_without_optimizer_state():
    old = make_model("wide").fit(*synthetic())
    new = make_model("wide", random_state=5)
    warm_start(new, old)
    X, _ = synthetic(seed=4)
    assert np.array_equal(new.predict_logit(X), old.predict_logit(X))
    for field in ("a", "b", "bias"):   # fresh n, and the z that gives back each weight
        state = new.wide_.ftrl_state[field]
        ftrl = new.wide_.bias_ftrl if field == "bias" else new.wide_.ftrl
        np.testing.assert_allclose(ftrl.weights(state["z"], state["n"]),
                                   new.wide_.params[field], rtol=1e-5, atol=1e-7)
        assert np.all(state["n"] == ftrl.initial_accumulator_value)


def test_unchanged_vocabularies_with_optimizer_state_continue_exactly_like_the_old_model():
    X, y = synthetic()
    old = make_model(shuffle=False).fit(X, y)
    new = make_model(shuffle=False, random_state=123)
    warm_start(new, old, copy_optimizer_state=True)
    assert_same_state(new, old)
    old.set_params(warm_start=True).fit(X, y, epochs=2)
    new.fit(X, y, epochs=2)
    assert_same_state(new, old)


def test_without_optimizer_state_accumulators_start_fresh():
    old = make_model().fit(*synthetic())
    new = make_model(random_state=123)
    warm_start(new, old)
    acc = new.deep_optimizer_state_["embedding/va"]["accumulator"]
    assert np.all(acc == new.deep_optimizer_.initial_accumulator_value)
    assert np.array_equal(new.deep_.params["embedding/va"], old.deep_.params["embedding/va"])


def test_token_count_that_does_not_fit_the_model_is_an_error():
    old = make_model().fit(*synthetic())
    with pytest.raises(ValueError, match=r"new wide field 'a': 19 tokens for 20 ids"):
        warm_start(make_model(), old, old_tokens={"a": OLD_A}, new_tokens={"a": OLD_A[1:]})


def test_changed_hidden_sizes_copy_only_layers_whose_shapes_match():
    old = make_model(hidden_units=(8, 4)).fit(*synthetic())
    new = make_model(hidden_units=(8, 6))
    report = warm_start(new, old)
    assert report.dense == {"layer0": "copied", "layer2": "fresh (shape [8, 4] -> [8, 6])",
                            "layer4": "fresh (shape [4, 1] -> [6, 1])"}
    assert np.array_equal(new.deep_.params["layer0/W"], old.deep_.params["layer0/W"])


def test_first_layer_is_matched_input_by_input():
    X, y = synthetic()
    old = make_model().fit(X, y)
    # a new dense field in front shifts every old input; dropout shifts layer indices
    new = make_model(dense_fields={"extra": 2, "num": 3}, dropout=0.5)
    report = warm_start(new, old)
    assert report.dense["layer0"] == ("inputs copied: ['dense:num', 'embedding:a', "
                                      "'embedding:b']; fresh: ['dense:extra']")
    assert report.dense["layer3"] == "copied" and report.dense["layer6"] == "copied"
    old_w, new_w = old.deep_.params["layer0/W"], new.deep_.params["layer0/W"]
    assert np.array_equal(new_w[2:], old_w)
    fresh = make_model(dense_fields={"extra": 2, "num": 3}, dropout=0.5)._initialize()
    assert np.array_equal(new_w[:2], fresh.deep_.params["layer0/W"][:2])
    X_new = dict(X, extra=np.zeros((len(y), 2), dtype=np.float32))
    assert np.array_equal(new.predict_logit(X_new), old.predict_logit(X))


def test_warm_start_from_a_wide_model_leaves_the_deep_part_fresh():
    old = make_model("wide").fit(*synthetic())
    new = make_model(random_state=5)
    report = warm_start(new, old)
    assert report.wide["a"]["carried"] == N_A
    assert report.embeddings["va"]["reason"] == "not a vocabulary of the old model"
    fresh = make_model(random_state=5)._initialize()
    assert np.array_equal(new.deep_.params["embedding/va"], fresh.deep_.params["embedding/va"])


# ---------------------------------------------------------------------- with feature specs
def _spec(colors, hash_buckets, cross_buckets):
    return FeatureSpec([
        CategoricalColumn("color", vocabulary=colors, embedding_dim=3),
        HashedColumn("city", hash_buckets=hash_buckets, embedding_dim=2),
        CategoricalColumn("shape", vocabulary=["box", "ball"], wide=False),
        CrossedColumn(["color", "shape"], hash_buckets=cross_buckets)])


def _raw(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return {"color": rng.choice(["red", "blue", "green", "pink"], n),
            "city": rng.choice([f"c{k}" for k in range(30)], n),
            "shape": rng.choice(["box", "ball"], n)}, rng.integers(0, 2, n)


def test_specs_drive_the_token_mapping_and_hash_spaces(tmp_path):
    old_spec = _spec(["red", "blue", "green"], hash_buckets=16, cross_buckets=32)
    raw, y = _raw()
    old = old_spec.build_estimator("wide_deep", hidden_units=(4,), random_state=0, epochs=2)
    old.fit(old_spec.transform(raw), y)
    save_model(old, tmp_path / "old", spec=old_spec)

    new_spec = _spec(["pink", "green", "red"], hash_buckets=16, cross_buckets=64)
    new = new_spec.build_estimator("wide_deep", hidden_units=(4,), random_state=1)
    report = warm_start(new, tmp_path / "old", new_spec=new_spec)   # old spec from the save

    assert report.embeddings["color"] == {"how": "token", "carried": 3, "new": 1,
                                          "dropped": 1, "reason": ""}   # <OOV>, red, green
    assert report.embeddings["city"]["how"] == "id"
    assert report.wide["city"]["carried"] == 16
    assert report.wide["color_x_shape"]["how"] == "none"
    assert "hash space changed (32 -> 64)" in report.wide["color_x_shape"]["reason"]
    old_ids = old_spec.transform({"color": np.array(["red", "green"]),
                                  "city": np.array(["c1", "c1"]),
                                  "shape": np.array(["box", "box"])})["color"].feature_ids
    new_ids = new_spec.transform({"color": np.array(["red", "green"]),
                                  "city": np.array(["c1", "c1"]),
                                  "shape": np.array(["box", "box"])})["color"].feature_ids
    assert np.array_equal(new.deep_.params["embedding/color"][new_ids],
                          old.deep_.params["embedding/color"][old_ids])
    assert np.array_equal(new.wide_.params["color"][new_ids], old.wide_.params["color"][old_ids])
    assert new.wide_.params["color"][0] == old.wide_.params["color"][0]   # the OOV bucket
    assert np.all(new.wide_.params["color_x_shape"] == 0)
    new.fit(new_spec.transform(raw), y, epochs=1)   # the warm-started model trains on


def test_report_reads_as_a_table():
    old = make_model().fit(*synthetic())
    text = str(warm_start(_grown_model(), old, old_tokens={"a": OLD_A},
                          new_tokens={"a": NEW_A}))
    assert "embedding va: 17 carried (token), 5 new, 3 dropped" in text
    assert "wide bias: 1 carried (id), 0 new, 0 dropped" in text


def test_hashed_space_of_another_size_is_not_carried():
    X, y = synthetic()
    old = make_model("wide").fit(X, y)
    new = make_model("wide").set_params(wide_fields={"a": N_A, "b": 2 * N_B})
    report = warm_start(new, old)
    assert report.wide["b"] == {"how": "none", "carried": 0, "new": 2 * N_B, "dropped": N_B,
                                "reason": "ids are hash buckets and the hash space changed "
                                          "(30 -> 60)"}
    assert np.all(new.wide_.params["b"] == 0)
    X2 = dict(X, b=SparseInput.from_ids(np.zeros(len(y), dtype=np.int64), vocab_size=2 * N_B))
    new.predict_logit(X2)


def test_adam_batch_norm_model_continues_exactly_with_optimizer_state():
    from widedeep.optim import Adam
    X, y = synthetic()
    settings = dict(shuffle=False, batch_norm=True, deep_optimizer=Adam(lr=0.01), adagrad=None)
    old = make_model(**settings).fit(X, y)
    new = make_model(**settings, random_state=123)
    report = warm_start(new, old, copy_optimizer_state=True)
    assert report.dense["layer1"] == "copied (batch norm)"
    assert_same_state(new, old)
    old.set_params(warm_start=True).fit(X, y, epochs=2)
    new.fit(X, y, epochs=2)
    assert_same_state(new, old)


def test_batch_norm_statistics_are_carried_without_optimizer_state():
    X, y = synthetic()
    old = make_model(batch_norm=True).fit(X, y)
    new = make_model(batch_norm=True, random_state=123)
    warm_start(new, old)
    for key in ("deep_statistics/layer1/running_mean", "deep/layer1/gamma"):
        np.testing.assert_array_equal(new.get_state()[key], old.get_state()[key])

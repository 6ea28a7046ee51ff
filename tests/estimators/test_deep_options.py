"""Deep-part options: Adam instead of AdaGrad, frozen and pretrained embedding tables,
batch normalization (running statistics used at inference, updated only in training)."""
import numpy as np
import pytest

from widedeep import DeepEstimator, WideDeepEstimator
from widedeep.optim import Adagrad, Adam

from estimator_world import model_params


def deep(world, **kw):
    kw.setdefault("random_state", 0)
    kw.setdefault("early_stopping", False)
    kw.setdefault("epochs", 2)
    return DeepEstimator(**{**model_params(world)["deep"], **kw})


def test_adam_trains_the_deep_part_and_keeps_its_moments_in_the_state(world, small_data):
    (X, y), (X_test, y_test) = small_data
    model = deep(world, deep_optimizer=Adam(lr=0.05), epochs=3).fit(X, y)
    state = model.get_state()
    assert {"deep_optimizer/embedding/user/m", "deep_optimizer/embedding/user/v",
            "deep_optimizer/layer0/W/step"} <= set(state)
    assert int(state["deep_optimizer/layer0/W/step"][0]) == model.steps_trained_ == 24
    # rows never looked up kept their moments at zero (lazy updates)
    unseen_users = np.setdiff1d(np.arange(300), X["user"].feature_ids)
    assert not state["deep_optimizer/embedding/user/m"][unseen_users].any()
    losses = [h["train_logloss"] for h in model.history_]
    assert losses[2] < losses[1] < losses[0]


def test_one_optimizer_only(world, small_data):
    (X, y), _ = small_data
    with pytest.raises(ValueError, match="deep_optimizer or adagrad, not both"):
        deep(world, deep_optimizer=Adam(), adagrad=Adagrad()).fit(X, y)
    with pytest.raises(ValueError, match="deep_optimizer must be an Adagrad or Adam"):
        deep(world, deep_optimizer="sgd").fit(X, y)


def test_frozen_table_is_unchanged_after_fit_and_the_others_train(world, small_data):
    (X, y), _ = small_data
    pretrained = np.random.default_rng(9).normal(size=(60, 8)).astype(np.float32)
    model = deep(world, embedding_init={"item": pretrained},
                 frozen_embeddings=("item",)).fit(X, y)
    np.testing.assert_array_equal(model.deep_.params["embedding/item"], pretrained)
    initial = deep(world, embedding_init={"item": pretrained}, frozen_embeddings=("item",))
    initial._initialize()
    assert not np.array_equal(model.deep_.params["embedding/user"],
                              initial.deep_.params["embedding/user"])
    assert "embedding/item" in model.deep_optimizer_state_   # state kept, never stepped


def test_pretrained_table_is_the_starting_point_when_trainable(world, small_data):
    (X, y), _ = small_data
    pretrained = np.full((60, 8), 0.25, dtype=np.float32)
    model = deep(world, embedding_init={"item": pretrained})
    model._initialize()
    np.testing.assert_array_equal(model.deep_.params["embedding/item"], pretrained)
    model.fit(X, y)
    assert not np.array_equal(model.deep_.params["embedding/item"], pretrained)


@pytest.mark.parametrize("params, message", [
    (dict(embedding_init={"movie": np.zeros((60, 8))}), "unknown vocabulary 'movie'"),
    (dict(embedding_init={"item": np.zeros((60, 4))}), r"expected shape \[60, 8\]"),
    (dict(frozen_embeddings=("movie",)), "frozen_embeddings: unknown vocabularies"),
])
def test_bad_embedding_options_raise_naming_them(world, small_data, params, message):
    (X, y), _ = small_data
    with pytest.raises(ValueError, match=message):
        deep(world, **params).fit(X, y)


def test_batch_norm_statistics_are_learned_in_training_and_used_at_inference(world,
                                                                              small_data):
    (X, y), (X_test, _) = small_data
    model = deep(world, batch_norm=True).fit(X, y)
    state = model.get_state()
    mean, var = state["deep_statistics/layer1/running_mean"], \
        state["deep_statistics/layer1/running_var"]
    assert mean.shape == (32,) and np.any(mean != 0) and np.any(var != 1)
    before = model.get_state(copy=True)
    one = model.predict_proba({k: (v.slice(0, 1) if hasattr(v, "slice") else v[:1])
                               for k, v in X_test.items()})
    many = model.predict_proba(X_test)
    assert one[0] == pytest.approx(many[0], rel=1e-5)       # no batch statistics at inference
    after = model.get_state()
    assert all(np.array_equal(before[k], after[k]) for k in before)   # inference writes nothing


def test_batch_norm_inference_equals_the_formula_with_running_statistics(world, small_data):
    (X, y), (X_test, _) = small_data
    model = deep(world, batch_norm=True, hidden_units=(16,)).fit(X, y)
    net = model.deep_
    dense, bn = net.layers[0], net.layers[1]
    emb, _ = net.embeddings.forward(X_test)
    a = np.concatenate([X_test["context"], emb], axis=1).astype(np.float64)
    h = a @ dense.params["W"]
    h = (h - bn.statistics["running_mean"]) / np.sqrt(bn.statistics["running_var"] + bn.eps)
    h = np.maximum(h * bn.params["gamma"] + bn.params["beta"], 0)
    out = net.layers[-1]
    logit = h @ out.params["W"][:, 0] + out.params["b"][0]
    np.testing.assert_allclose(model.predict_logit(X_test), logit, rtol=1e-4, atol=1e-5)


def test_wide_deep_with_batch_norm_and_adam_lowers_the_training_loss(world, small_data):
    (X, y), _ = small_data
    p = model_params(world)
    model = WideDeepEstimator(p["wide_fields"], **p["deep"], batch_norm=True,
                              deep_optimizer=Adam(lr=0.005), epochs=3, random_state=0,
                              early_stopping=False).fit(X, y)
    losses = [h["train_logloss"] for h in model.history_]
    assert losses[2] < losses[1] < losses[0]


@pytest.mark.parametrize("params, message", [
    (dict(batch_norm="yes"), "batch_norm must be True or False"),
    (dict(frozen_embeddings="item"), "frozen_embeddings must be a list"),
    (dict(deep_optimizer="adam"), "deep_optimizer must be an Adagrad or Adam"),
    (dict(embedding_init={"item": np.full((60, 8), np.nan)}), "values must be finite"),
    (dict(lr_schedule="cosine"), "lr_schedule must be None, a schedule"),
])
def test_a_bad_option_leaves_a_fitted_model_exactly_as_it_was(world, small_data, params,
                                                              message):
    (X, y), _ = small_data
    model = deep(world, epochs=1).fit(X, y)
    before = model.get_state(copy=True)
    training = model.get_training_state()
    with pytest.raises(ValueError, match=message):
        model.set_params(**params).fit(X, y)
    after = model.get_state()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert model.get_training_state() == training

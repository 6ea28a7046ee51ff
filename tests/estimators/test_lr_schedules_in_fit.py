"""Learning-rate schedules inside fit: the optimizers' step sizes per epoch, the multipliers
in history_, and ReduceOnPlateau fed by the watched score."""
import numpy as np
import pytest

from widedeep import DeepEstimator, FtrlProximal, WideDeepEstimator, WideEstimator
from widedeep.optim import Adagrad
from widedeep.optim.schedules import ExponentialDecay, ReduceOnPlateau, StepDecay

from estimator_world import model_params


def wide_X(X):
    return {k: v for k, v in X.items() if k != "context"}


def test_ftrl_alpha_follows_the_schedule_epoch_by_epoch(world, small_data):
    (X, y), _ = small_data
    seen = []

    class Spy:
        def __getattr__(self, hook):
            def call(estimator, record):
                if hook == "on_epoch_begin":
                    seen.append(estimator.wide_.ftrl.alpha)
            return call

    model = WideEstimator(model_params(world)["wide_fields"],
                          ftrl=FtrlProximal(alpha=0.4), lr_schedule=StepDecay(2, 0.5),
                          epochs=5, early_stopping=False, random_state=0)
    model.fit(wide_X(X), y, callbacks=[Spy()])
    assert seen == pytest.approx([0.4, 0.4, 0.2, 0.2, 0.1])
    assert [h["lr_multiplier_wide"] for h in model.history_] == [1, 1, 0.5, 0.5, 0.25]
    assert model.wide_.bias_ftrl.alpha == pytest.approx(0.1)


def test_schedules_per_part_leave_the_other_part_alone(world, small_data):
    (X, y), _ = small_data
    p = model_params(world)
    model = WideDeepEstimator(p["wide_fields"], **p["deep"], adagrad=Adagrad(lr=0.2),
                              lr_schedule={"deep": ExponentialDecay(0.5)}, epochs=3,
                              early_stopping=False, random_state=0).fit(X, y)
    assert [h["lr_multiplier_deep"] for h in model.history_] == [1.0, 0.5, 0.25]
    assert "lr_multiplier_wide" not in model.history_[0]
    assert model.deep_optimizer_.lr == pytest.approx(0.05)
    assert model.step_.deep_optimizer is model.deep_optimizer_


def test_a_decayed_schedule_changes_training_and_a_constant_one_does_not(world, small_data):
    (X, y), _ = small_data
    p = model_params(world)

    def fit(schedule):
        return DeepEstimator(**p["deep"], lr_schedule=schedule, epochs=2,
                             early_stopping=False, random_state=0).fit(X, y).get_state()

    plain, constant, decayed = fit(None), fit(lambda epoch: 1.0), fit(ExponentialDecay(0.1))
    assert all(np.array_equal(plain[k], constant[k]) for k in plain)
    assert not all(np.array_equal(plain[k], decayed[k]) for k in plain)


def test_reduce_on_plateau_sees_the_watched_score(world, small_data):
    (X, y), (X_test, y_test) = small_data
    model = WideEstimator(model_params(world)["wide_fields"], ftrl=FtrlProximal(alpha=3.0),
                          lr_schedule=ReduceOnPlateau(factor=0.5, patience=1), epochs=6,
                          early_stopping=False, random_state=0)
    model.fit(wide_X(X), y, eval_set=(wide_X(X_test), y_test))
    losses = [h["eval_logloss"] for h in model.history_]
    expected, best, multiplier = [], None, 1.0
    for loss in losses:               # the rule by hand: no better score -> halve
        expected.append(multiplier)
        if best is None or -loss > best:
            best = -loss
        else:
            multiplier *= 0.5
    assert [h["lr_multiplier_wide"] for h in model.history_] == expected
    assert model.lr_schedule_state_["wide"]["multiplier"] == multiplier

"""Learning-rate schedules: values by their formulas, plateau logic, validation, config;
and the optimizers' ``scaled`` copies that apply them."""
import json
import math

import pytest

from widedeep.optim import Adagrad, Adam, FtrlProximal
from widedeep.optim.schedules import (SCHEDULES, ConstantSchedule, EpochFunction,
                                      ExponentialDecay, ReduceOnPlateau, StepDecay, as_schedule)


def test_constant_is_one_in_every_epoch():
    assert [ConstantSchedule().multiplier(e, {}) for e in range(4)] == [1.0] * 4


def test_step_decay_follows_gamma_to_the_floor_of_epoch_over_step():
    schedule = StepDecay(step_size=3, gamma=0.2)
    assert [schedule.multiplier(e, {}) for e in range(7)] == [
        0.2 ** (e // 3) for e in range(7)]
    assert schedule.multiplier(6, {}) == pytest.approx(0.04)


def test_exponential_decay_is_gamma_to_the_epoch():
    schedule = ExponentialDecay(0.9)
    for epoch in range(6):
        assert schedule.multiplier(epoch, {}) == pytest.approx(0.9 ** epoch, rel=1e-15)


def test_epoch_function_calls_the_function_and_checks_its_value():
    schedule = as_schedule(lambda epoch: 1.0 / (1 + epoch))
    assert isinstance(schedule, EpochFunction)
    assert [schedule.multiplier(e, {}) for e in range(3)] == [1.0, 0.5, 1 / 3]
    with pytest.raises(ValueError, match=r"fn\(2\) must be a finite number > 0"):
        EpochFunction(lambda epoch: 1.0 - epoch / 2).multiplier(2, {})


def test_reduce_on_plateau_waits_patience_epochs_then_multiplies():
    schedule = ReduceOnPlateau(factor=0.5, patience=2)
    state = schedule.init_state()
    multipliers = []
    for score in [0.6, 0.7, 0.69, 0.70, 0.65, 0.64, 0.8, 0.79]:
        state = schedule.observe(state, score)
        multipliers.append(schedule.multiplier(None, state))
    # 0.69, 0.70 (not > 0.7): two bad epochs -> 0.5; 0.65, 0.64 -> 0.25; 0.8 improves
    assert multipliers == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.25]
    assert state == {"multiplier": 0.25, "best": 0.8, "wait": 1}
    assert json.loads(json.dumps(state)) == state


def test_reduce_on_plateau_respects_its_floor_and_ignores_unknown_scores():
    schedule = ReduceOnPlateau(factor=0.1, patience=1, min_multiplier=0.05)
    state = schedule.init_state()
    for score in [1.0, 0.5, None, math.nan, 0.4, 0.3]:
        state = schedule.observe(state, score)
    assert state["multiplier"] == 0.05


@pytest.mark.parametrize("make, message", [
    (lambda: StepDecay(0), "StepDecay: step_size"),
    (lambda: StepDecay(2, gamma=1.5), "StepDecay: gamma"),
    (lambda: ExponentialDecay(0.0), "ExponentialDecay: gamma"),
    (lambda: ReduceOnPlateau(factor=2.0), "ReduceOnPlateau: factor"),
    (lambda: ReduceOnPlateau(patience=0), "ReduceOnPlateau: patience"),
    (lambda: as_schedule("cosine"), "lr_schedule must be None, a schedule"),
])
def test_bad_hyperparameters_raise_naming_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("schedule", [ConstantSchedule(), StepDecay(2, 0.5),
                                      ExponentialDecay(0.95), ReduceOnPlateau(0.3, 3, 0.01)])
def test_config_is_json_and_rebuilds_the_schedule(schedule):
    config = json.loads(json.dumps(schedule.get_config()))
    rebuilt = SCHEDULES[type(schedule).__name__].from_config(config)
    assert repr(rebuilt) == repr(schedule)


def test_scaled_optimizers_multiply_only_the_step_size():
    assert Adagrad(lr=0.2, initial_accumulator_value=0.3, eps=1e-6).scaled(0.5).get_config() \
        == {"lr": 0.1, "initial_accumulator_value": 0.3, "eps": 1e-6}
    assert Adam(lr=0.01, beta1=0.8).scaled(0.1).get_config() == {
        "lr": 0.001, "beta1": 0.8, "beta2": Adam().beta2, "eps": Adam().eps}
    ftrl = FtrlProximal(alpha=0.4, beta=0.5, l1=0.1, l2=0.2, initial_accumulator_value=0.3)
    assert ftrl.scaled(0.25).get_config() == {"alpha": 0.1, "beta": 0.5, "l1": 0.1,
                                               "l2": 0.2, "initial_accumulator_value": 0.3}

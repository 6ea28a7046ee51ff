"""Learning-rate schedules: a multiplier of an optimizer's step size, chosen per epoch.

Every schedule gives ``multiplier(epoch, state)`` for the epoch about to run (``epoch`` counts
from 0 over the model's whole training, resumed runs included) and may learn from the
finished epoch through ``observe(state, score)`` (``score``: the monitored metric, larger is
better). The estimator multiplies AdaGrad's / Adam's ``lr`` and FTRL's ``alpha`` by it
(``optimizer.scaled(multiplier)``). Schedules hold hyper-parameters only; their state is a
small JSON-able dict the estimator keeps with its training state (saved and resumed).

    ConstantSchedule()                     1
    StepDecay(step_size, gamma)            gamma ** (epoch // step_size)
    ExponentialDecay(gamma)                gamma ** epoch
    EpochFunction(fn)                      fn(epoch)              (any callable; not saved)
    ReduceOnPlateau(factor, patience, min_multiplier)
        multiplier *= factor after ``patience`` epochs in a row without a better score

Examples
--------
>>> [StepDecay(step_size=2, gamma=0.5).multiplier(e, {}) for e in range(5)]
[1.0, 1.0, 0.5, 0.5, 0.25]
>>> plateau = ReduceOnPlateau(factor=0.5, patience=1)
>>> state, multipliers = plateau.init_state(), []
>>> for score in [0.70, 0.72, 0.71, 0.71, 0.73]:
...     state = plateau.observe(state, score)
...     multipliers.append(plateau.multiplier(None, state))
>>> multipliers
[1.0, 1.0, 0.5, 0.25, 0.25]
"""
from __future__ import annotations

import math

__all__ = ["ConstantSchedule", "StepDecay", "ExponentialDecay", "EpochFunction",
           "ReduceOnPlateau", "as_schedule", "SCHEDULES"]


class _Schedule:
    def init_state(self):
        return {}

    def observe(self, state, score):
        """The state after an epoch whose monitored score was ``score`` (None: unknown)."""
        return state

    def get_config(self):
        return dict(vars(self))

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


def _positive(name, value, where, upper=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0 or (upper is not None and value > upper):
        bound = f"in (0, {upper}]" if upper is not None else "> 0"
        raise ValueError(f"{where}: {name} must be a finite number {bound}, got {value!r}")
    return value


class ConstantSchedule(_Schedule):
    """Multiplier 1 in every epoch."""

    def multiplier(self, epoch, state):
        return 1.0


class StepDecay(_Schedule):
    """``gamma ** (epoch // step_size)``: multiply by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, step_size, gamma=0.1):
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepDecay: step_size must be an int >= 1, got {step_size!r}")
        self.step_size = step_size
        self.gamma = float(_positive("gamma", gamma, "StepDecay", upper=1.0))

    def multiplier(self, epoch, state):
        return self.gamma ** (epoch // self.step_size)


class ExponentialDecay(_Schedule):
    """``gamma ** epoch``."""

    def __init__(self, gamma):
        self.gamma = float(_positive("gamma", gamma, "ExponentialDecay", upper=1.0))

    def multiplier(self, epoch, state):
        return self.gamma ** epoch


class EpochFunction(_Schedule):
    """``fn(epoch)``, any callable returning a finite multiplier > 0. Not saved with a model
    (a function is not data): a loaded model's ``lr_schedule`` is None."""

    def __init__(self, fn):
        if not callable(fn):
            raise ValueError(f"EpochFunction: fn must be callable, got {fn!r}")
        self.fn = fn

    def multiplier(self, epoch, state):
        value = self.fn(epoch)
        return float(_positive(f"fn({epoch})", value, "EpochFunction"))

    def get_config(self):
        return None


class ReduceOnPlateau(_Schedule):
    """Multiply by ``factor`` after ``patience`` consecutive epochs whose monitored score is
    not better than the best so far (then count again); never below ``min_multiplier``.
    The score is ``eval_metric`` on the set early stopping watches (the first eval set when
    early stopping is off), or minus the training loss without an evaluation set."""

    def __init__(self, factor=0.1, patience=2, min_multiplier=0.0):
        self.factor = float(_positive("factor", factor, "ReduceOnPlateau", upper=1.0))
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"ReduceOnPlateau: patience must be an int >= 1, got "
                             f"{patience!r}")
        self.patience = patience
        if not (isinstance(min_multiplier, (int, float)) and 0 <= min_multiplier <= 1):
            raise ValueError(f"ReduceOnPlateau: min_multiplier must be in [0, 1], got "
                             f"{min_multiplier!r}")
        self.min_multiplier = float(min_multiplier)

    def init_state(self):
        return {"multiplier": 1.0, "best": None, "wait": 0}

    def observe(self, state, score):
        state = dict(state)
        if score is None or not math.isfinite(score):
            return state
        if state["best"] is None or score > state["best"]:
            state["best"], state["wait"] = float(score), 0
            return state
        state["wait"] += 1
        if state["wait"] >= self.patience:
            state["multiplier"] = max(state["multiplier"] * self.factor, self.min_multiplier)
            state["wait"] = 0
        return state

    def multiplier(self, epoch, state):
        return state["multiplier"]


SCHEDULES = {cls.__name__: cls for cls in (ConstantSchedule, StepDecay, ExponentialDecay,
                                           ReduceOnPlateau)}


def as_schedule(value, where="lr_schedule"):
    """None -> None; a schedule -> itself; a plain callable of the epoch -> `EpochFunction`."""
    if value is None or isinstance(value, _Schedule):
        return value
    if callable(value):
        return EpochFunction(value)
    raise ValueError(f"{where} must be None, a schedule ({', '.join(SCHEDULES)}, "
                     f"EpochFunction) or a callable of the epoch, got {value!r}")

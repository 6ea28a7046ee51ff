"""The ``lr_schedule`` parameter: which schedule drives which part's optimizer.

``lr_schedule`` is None, one schedule (or a callable of the epoch) for every part of the
model, or ``{"wide": schedule, "deep": schedule}`` (a part left out keeps its learning
rate). Before each epoch the estimator multiplies the part's base learning rate (FTRL's
``alpha``, AdaGrad's / Adam's ``lr``) by the schedule's multiplier; after each epoch a
schedule that learns (``ReduceOnPlateau``) sees the watched score. The schedules' state is
JSON kept in the estimator's training state (``lr_schedule_state_``), so a saved and
resumed model continues its schedule.
"""
from __future__ import annotations

from ..optim.schedules import as_schedule

__all__ = ["LearningRateSchedules", "PARTS", "schedule_config"]

PARTS = ("wide", "deep")


class LearningRateSchedules:
    """The schedules of the parts ``parts`` (a subset of `PARTS`) for ``lr_schedule``."""

    def __init__(self, lr_schedule, parts):
        if isinstance(lr_schedule, dict):
            unknown = sorted(set(lr_schedule) - set(PARTS))
            if unknown:
                raise ValueError(f"lr_schedule: keys must be among {PARTS}, got {unknown}")
            given = {part: as_schedule(value, f"lr_schedule[{part!r}]")
                     for part, value in lr_schedule.items()}
        else:
            schedule = as_schedule(lr_schedule)
            given = {part: schedule for part in PARTS}
        self.schedules = {part: given[part] for part in parts if given.get(part) is not None}

    def __bool__(self):
        return bool(self.schedules)

    def init_state(self):
        return {part: schedule.init_state() for part, schedule in self.schedules.items()}

    def multipliers(self, epoch, state):
        """``{part: multiplier}`` for 0-based ``epoch``; ``state`` from `init_state`."""
        return {part: float(schedule.multiplier(epoch, state.get(part) or
                                                schedule.init_state()))
                for part, schedule in self.schedules.items()}

    def observe(self, state, score):
        return {part: schedule.observe(state.get(part) or schedule.init_state(), score)
                for part, schedule in self.schedules.items()}


def schedule_config(lr_schedule):
    """The JSON form of ``lr_schedule`` for `get_config`: ``{"class", "config"}`` per
    schedule (None for a function of the epoch, which is not data)."""
    def encode(schedule):
        schedule = as_schedule(schedule)
        config = None if schedule is None else schedule.get_config()
        return None if config is None else {"class": type(schedule).__name__,
                                            "config": config}
    if isinstance(lr_schedule, dict):
        return {part: encode(value) for part, value in lr_schedule.items()}
    return encode(lr_schedule)

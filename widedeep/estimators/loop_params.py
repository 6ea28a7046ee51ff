"""Validation of the training loop's hyper-parameters and of the deep/wide options of
issue 8 (item 5), one rule per parameter, in one place.

`check_loop_params(estimator, epochs)` raises ``ValueError`` naming the parameter before
`fit` changes anything.
"""
from __future__ import annotations

import numbers

from ..layers.deep_network import check_embedding_init
from ..optim import FtrlProximal
from .lr_schedules import PARTS, LearningRateSchedules

__all__ = ["check_loop_params"]


def _int_at_least(name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


def check_loop_params(estimator, epochs):
    """Check ``epochs``, ``early_stopping``, ``validation_fraction``, ``n_iter_no_change``
    of ``estimator``."""
    _int_at_least("epochs", epochs, 1)
    early = estimator.early_stopping
    if not isinstance(early, (bool, str)):
        raise ValueError(f"early_stopping must be 'auto', True, False or the name of an eval "
                         f"set, got {early!r}")
    fraction = estimator.validation_fraction
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) \
            or not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must be a number in (0, 1), got {fraction!r}")
    _int_at_least("n_iter_no_change", estimator.n_iter_no_change, 1)
    LearningRateSchedules(estimator.lr_schedule, PARTS)        # raises naming lr_schedule
    if hasattr(estimator, "batch_norm"):
        _check_deep_options(estimator)
    if hasattr(estimator, "ftrl_per_field"):
        estimator._field_ftrl(estimator.ftrl or FtrlProximal())


def _check_deep_options(estimator):
    if not isinstance(estimator.batch_norm, bool):
        raise ValueError(f"batch_norm must be True or False, got {estimator.batch_norm!r}")
    estimator._deep_optimizer_base()                            # deep_optimizer / adagrad
    vocabularies = estimator.vocabularies or {}
    frozen = estimator.frozen_embeddings
    if frozen is not None:
        if isinstance(frozen, str) or not all(isinstance(v, str) for v in frozen):
            raise ValueError(f"frozen_embeddings must be a list of vocabulary names, got "
                             f"{frozen!r}")
        unknown = sorted(set(frozen) - set(vocabularies))
        if unknown:
            raise ValueError(f"frozen_embeddings: unknown vocabularies {unknown}; known: "
                             f"{sorted(vocabularies)}")
    init = estimator.embedding_init
    if init is not None:
        if not isinstance(init, dict):
            raise ValueError(f"embedding_init must be a dict {{vocabulary: array}}, got "
                             f"{type(init).__name__}")
        check_embedding_init(init, vocabularies)

"""The search space of the defaults protocol and the configurations every task is run with.

A configuration is a dict of the regularizing hyper-parameters below. Values are drawn
from short lists of round numbers (log-spaced where the scale is unknown), so that every
configuration evaluated, and therefore the chosen default, is a value one would write by
hand. Everything not listed is held at the estimators' value (batch 256, hidden units
(100, 50), ReLU, AdaGrad eps 1e-7, dense L2 0) or is the feature set of the task.

The same configurations run on every task: that is what lets `selection` compute every
configuration's regret on every task and pick one default for all of them.
"""
from __future__ import annotations

import numpy as np

from widedeep import Adagrad, FtrlProximal

__all__ = ["SEARCH_SPACE", "ANCHORS", "sample_configs", "estimator_kwargs", "config_key"]

SEARCH_SPACE = {
    "adagrad_lr": (0.01, 0.02, 0.05, 0.1, 0.2, 0.5),
    "adagrad_initial_accumulator": (1e-3, 1e-2, 1e-1),
    "ftrl_alpha": (0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
    "ftrl_beta": (0.01, 0.1, 1.0),
    "ftrl_l1": (0.0, 1e-5, 1e-4, 1e-3),
    "ftrl_l2": (0.0, 1e-4, 1e-3, 1e-2),
    "dropout": (0.0, 0.1, 0.2, 0.3, 0.5),
    "embedding_l2": (0.0, 1e-5, 1e-4, 1e-3),
}

# Evaluated on every task besides the random draws: the estimators' defaults before this
# protocol, and the PyTorch/TensorFlow peer benchmark's Adult settings.
ANCHORS = {
    "previous_defaults": dict(adagrad_lr=0.1, adagrad_initial_accumulator=1e-3,
                              ftrl_alpha=0.05, ftrl_beta=0.01, ftrl_l1=1e-4, ftrl_l2=1e-3,
                              dropout=0.0, embedding_l2=0.0),
    "peer_benchmark": dict(adagrad_lr=0.05, adagrad_initial_accumulator=0.1,
                           ftrl_alpha=0.1, ftrl_beta=1.0, ftrl_l1=1e-3, ftrl_l2=1e-3,
                           dropout=0.0, embedding_l2=0.0),
}


def sample_configs(n, seed=0):
    """``n`` configurations drawn uniformly from `SEARCH_SPACE`, seeded, no duplicates."""
    rng = np.random.default_rng(seed)
    configs, seen = [], set()
    while len(configs) < n:
        config = {name: values[int(rng.integers(len(values)))]
                  for name, values in SEARCH_SPACE.items()}
        key = config_key(config)
        if key not in seen:
            seen.add(key)
            configs.append(config)
    return configs


def config_key(config):
    """A short, stable string naming a configuration (its values in `SEARCH_SPACE` order)."""
    return "|".join(f"{name}={config[name]:g}" for name in SEARCH_SPACE)


def estimator_kwargs(config):
    """`WideDeepEstimator` keyword arguments for a configuration."""
    return dict(
        adagrad=Adagrad(lr=config["adagrad_lr"],
                        initial_accumulator_value=config["adagrad_initial_accumulator"],
                        eps=1e-7),
        ftrl=FtrlProximal(alpha=config["ftrl_alpha"], beta=config["ftrl_beta"],
                          l1=config["ftrl_l1"], l2=config["ftrl_l2"]),
        dropout=config["dropout"], embedding_l2=config["embedding_l2"])

"""The defaults documented in docs/DEFAULTS.md are the ones the code uses (one source).

docs/DEFAULTS.md's table lists each constant of `widedeep.defaults` chosen by the protocol
of benchmarks/tune_defaults.py with its value. These tests read that table, compare it with
the module, and check that the optimizer classes and the three estimators really train with
those values: an estimator built with nothing passed ends bit-identical to one given every
documented value explicitly.
"""
from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from widedeep import (Adagrad, DeepEstimator, FtrlProximal, SparseInput, WideDeepEstimator,
                      WideEstimator, defaults)

DOC = Path(__file__).resolve().parents[1] / "docs" / "DEFAULTS.md"
TUNED = ("ADAGRAD_LR", "ADAGRAD_INITIAL_ACCUMULATOR", "FTRL_ALPHA", "FTRL_BETA", "FTRL_L1",
         "FTRL_L2", "DROPOUT", "EMBEDDING_L2", "EPOCHS", "N_ITER_NO_CHANGE")


def documented_defaults():
    """``{CONSTANT: value}`` from the rows ``| `CONSTANT` | value | ... |`` of the doc."""
    rows = re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \| ([^|]+?) \|", DOC.read_text(), flags=re.M)
    return {name: ast.literal_eval(value) for name, value in rows}


def test_the_doc_lists_every_tuned_default():
    assert sorted(set(TUNED) - set(documented_defaults())) == []


@pytest.mark.parametrize("name", TUNED)
def test_documented_value_is_the_defaults_module_value(name):
    assert getattr(defaults, name) == documented_defaults()[name]


def test_optimizer_classes_default_to_the_documented_values():
    doc = documented_defaults()
    adagrad, ftrl = Adagrad(), FtrlProximal()
    assert (adagrad.lr, adagrad.initial_accumulator_value) == (
        doc["ADAGRAD_LR"], doc["ADAGRAD_INITIAL_ACCUMULATOR"])
    assert (ftrl.alpha, ftrl.beta, ftrl.l1, ftrl.l2) == (
        doc["FTRL_ALPHA"], doc["FTRL_BETA"], doc["FTRL_L1"], doc["FTRL_L2"])


@pytest.mark.parametrize("estimator", [WideEstimator, DeepEstimator, WideDeepEstimator])
def test_estimator_signatures_default_to_the_documented_values(estimator):
    doc = documented_defaults()
    parameters = inspect.signature(estimator.__init__).parameters
    expected = {"epochs": doc["EPOCHS"], "n_iter_no_change": doc["N_ITER_NO_CHANGE"]}
    if estimator is not WideEstimator:
        expected.update(dropout=doc["DROPOUT"], embedding_l2=doc["EMBEDDING_L2"])
    assert {name: parameters[name].default for name in expected} == expected


def _world(seed=0, n=300):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 12, n)
    cross = rng.integers(0, 40, n)
    dense = rng.standard_normal((n, 2)).astype(np.float32)
    logit = np.where(ids % 3 == 0, 1.5, -1.0) + dense[:, 0]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    X = {"item": SparseInput.from_ids(ids, vocab_size=12),
         "cross": SparseInput.from_ids(cross, vocab_size=40), "numeric": dense}
    return X, y


def _documented_optimizers():
    doc = documented_defaults()
    return (Adagrad(lr=doc["ADAGRAD_LR"],
                    initial_accumulator_value=doc["ADAGRAD_INITIAL_ACCUMULATOR"], eps=1e-7),
            FtrlProximal(alpha=doc["FTRL_ALPHA"], beta=doc["FTRL_BETA"], l1=doc["FTRL_L1"],
                         l2=doc["FTRL_L2"]))


@pytest.mark.parametrize("kind", ["wide", "deep", "wide_deep"])
def test_an_estimator_with_nothing_passed_trains_as_with_the_documented_values(kind):
    doc = documented_defaults()
    adagrad, ftrl = _documented_optimizers()
    X, y = _world()
    structure = dict(vocabularies={"items": (12, 4)}, embedding_fields={"item": "items"},
                     dense_fields={"numeric": 2}, hidden_units=(8,))
    explicit = dict(epochs=doc["EPOCHS"], n_iter_no_change=doc["N_ITER_NO_CHANGE"])
    if kind == "wide":
        default = WideEstimator({"item": 12, "cross": 40}, random_state=0)
        given = WideEstimator({"item": 12, "cross": 40}, ftrl=ftrl, random_state=0,
                              **explicit)
    elif kind == "deep":
        default = DeepEstimator(random_state=0, **structure)
        given = DeepEstimator(adagrad=adagrad, dropout=doc["DROPOUT"],
                              embedding_l2=doc["EMBEDDING_L2"], random_state=0,
                              **structure, **explicit)
    else:
        default = WideDeepEstimator({"item": 12, "cross": 40}, random_state=0, **structure)
        given = WideDeepEstimator({"item": 12, "cross": 40}, ftrl=ftrl, adagrad=adagrad,
                                  dropout=doc["DROPOUT"], embedding_l2=doc["EMBEDDING_L2"],
                                  random_state=0, **structure, **explicit)
    default.fit(X, y)
    given.fit(X, y)
    state, expected = default.get_state(), given.get_state()
    assert sorted(state) == sorted(expected)
    for key in expected:
        np.testing.assert_array_equal(state[key], expected[key], err_msg=key)
    assert default.epochs_trained_ == given.epochs_trained_

"""`DeepEstimator`: a feed-forward network over embeddings and dense features, trained
with AdaGrad (row-sparse on the embedding tables) — the deep part of Wide & Deep alone.

    P(y=1|x) = sigmoid(w_out . a_L + b_out),   a_0 = concat(dense, embeddings)
"""
from __future__ import annotations

import numpy as np

from ..layers.deep_network import DeepNetwork
from ..optim import Adagrad
from ..training import init_deep_optimizer_state
from .base import BaseEstimator

__all__ = ["DeepEstimator"]


class DeepPartMixin:
    """Builds, checks and trains the deep part (`deep_`); shared by Deep and Wide & Deep."""

    def _build_deep(self, rng, output_bias):
        self.deep_optimizer_ = self.adagrad or Adagrad()
        self.deep_ = DeepNetwork.build(
            vocabularies=self.vocabularies or {}, embedding_fields=self.embedding_fields or {},
            combiners=self.combiners, dense_fields=self.dense_fields or {},
            hidden_units=self.hidden_units, activation=self.activation, dropout=self.dropout,
            output_bias=output_bias, embedding_l2=self.embedding_l2, dense_l2=self.dense_l2,
            embedding_init_std=self.embedding_init_std, rng=rng, dtype=self._dtype,
            n_outputs=self.loss_.n_outputs)
        # one accumulator block per embedding block (one update per block and step); each
        # vocabulary's accumulator is a view of it, so state access stays per parameter
        self._deep_block_states, self.deep_optimizer_state_ = init_deep_optimizer_state(
            self.deep_, self.deep_optimizer_)

    def _check_deep_input(self, features, n):
        expected = list(self.embedding_fields or {}) + list(self.dense_fields or {})
        missing = [f for f in expected if f not in features]
        if missing:
            raise ValueError(f"missing deep field(s) {missing}"
                             + self._missing_field_hint(features, self._expected_fields()))
        for f in self.embedding_fields or {}:
            x = features[f]
            if getattr(x, "n_examples", n) != n:
                raise ValueError(f"sparse field {f!r} has {x.n_examples} examples, expected {n}")
        self.deep_.check_input(features, n)

    def _deep_fields(self):
        return list(self.embedding_fields or {}) + list(self.dense_fields or {})

class DeepEstimator(DeepPartMixin, BaseEstimator):
    """Deep neural network over embeddings (+ dense features), trained with AdaGrad.

    Parameters
    ----------
    vocabularies : dict[str, (int, int)]
        Vocabulary name -> (rows, embedding dim); one table each.
    embedding_fields : dict[str, str]
        Sparse field -> vocabulary (fields naming one vocabulary share its table).
    combiners : "sum" | "mean" | "sqrtn", or dict field -> combiner
    dense_fields : dict[str, int]
        Dense field -> width.
    hidden_units : sequence of int (ReLU layers by default)
    activation : "relu" | "tanh" | "sigmoid"
    dropout : float, inverted dropout after each hidden activation (training only)
    adagrad : Adagrad, optional (default ``Adagrad()``: `widedeep.defaults`)
    embedding_l2 : lazy L2 on the embedding rows used in a batch
    dense_l2 : L2 on dense weights
    embedding_init_std : std of the truncated-normal init (default 1/sqrt(dim))
    The remaining parameters are as in `WideEstimator`.
    """

    def __init__(self, *, vocabularies=None, embedding_fields=None, combiners="sum",
                 dense_fields=None, hidden_units=(100, 50), activation="relu", dropout=0.0,
                 adagrad=None, embedding_l2=0.0, dense_l2=0.0, embedding_init_std=None,
                 objective="binary", n_classes=None, batch_size=256, epochs=10,
                 shuffle=True, early_stopping_rounds=None,
                 eval_metric="logloss", warm_start=False, predict_batch_size=65536,
                 dtype=np.float32, random_state=None, verbose=0):
        self.vocabularies = vocabularies
        self.embedding_fields = embedding_fields
        self.combiners = combiners
        self.dense_fields = dense_fields
        self.hidden_units = hidden_units
        self.activation = activation
        self.dropout = dropout
        self.adagrad = adagrad
        self.embedding_l2 = embedding_l2
        self.dense_l2 = dense_l2
        self.embedding_init_std = embedding_init_std
        self.objective = objective
        self.n_classes = n_classes
        self.batch_size = batch_size
        self.epochs = epochs
        self.shuffle = shuffle
        self.early_stopping_rounds = early_stopping_rounds
        self.eval_metric = eval_metric
        self.warm_start = warm_start
        self.predict_batch_size = predict_batch_size
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    def _expected_fields(self):
        return self._deep_fields()

    def _build(self, rng):
        self._build_deep(rng, output_bias=True)

    def _check_model_input(self, features, n):
        self._check_deep_input(features, n)

    def _logits(self, features):
        return self.deep_.forward(features)[0]

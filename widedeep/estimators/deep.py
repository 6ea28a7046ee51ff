"""`DeepEstimator`: a feed-forward network over embeddings and dense features, trained
with AdaGrad (row-sparse on the embedding tables) — the deep part of Wide & Deep alone.

    P(y=1|x) = sigmoid(w_out . a_L + b_out),   a_0 = concat(dense, embeddings)
"""
from __future__ import annotations

import numpy as np

from .. import defaults
from ..layers.deep_network import DeepNetwork
from ..layers.wide import check_finite_gradient
from ..optim import Adagrad, Adam
from .base import BaseEstimator

__all__ = ["DeepEstimator"]


class DeepPartMixin:
    """Builds, checks and trains the deep part (`deep_`); shared by Deep and Wide & Deep."""

    def _deep_optimizer_base(self):
        """``deep_optimizer``, else ``adagrad``, else ``Adagrad()`` (the default)."""
        if self.deep_optimizer is not None and self.adagrad is not None:
            raise ValueError("give the deep part's optimizer once: deep_optimizer or adagrad, "
                             "not both")
        optimizer = self.deep_optimizer or self.adagrad or Adagrad()
        if not isinstance(optimizer, (Adagrad, Adam)):
            raise ValueError(f"deep_optimizer must be an Adagrad or Adam instance, got "
                             f"{type(optimizer).__name__}")
        return optimizer

    def _build_deep(self, rng, output_bias):
        self._deep_base_optimizer = self._deep_optimizer_base()
        self._adagrad = self._deep_base_optimizer
        self.deep_ = DeepNetwork.build(
            vocabularies=self.vocabularies or {}, embedding_fields=self.embedding_fields or {},
            combiners=self.combiners, dense_fields=self.dense_fields or {},
            hidden_units=self.hidden_units, activation=self.activation, dropout=self.dropout,
            output_bias=output_bias, embedding_l2=self.embedding_l2, dense_l2=self.dense_l2,
            embedding_init_std=self.embedding_init_std, rng=rng, dtype=self._dtype,
            batch_norm=self.batch_norm, embedding_init=self.embedding_init,
            frozen_embeddings=self.frozen_embeddings)
        # one accumulator block per embedding block (one update per block and step); each
        # vocabulary's accumulator is a view of it, so state access stays per parameter
        self._embedding_group_states = [self._adagrad.init_state(group.table)
                                        for group in self.deep_.embeddings.groups]
        self.deep_optimizer_state_ = {}
        for group, state in zip(self.deep_.embeddings.groups, self._embedding_group_states):
            for vocab, offset in group.offsets.items():
                rows = slice(offset, offset + group.sizes[vocab])
                # per-row state is sliced; a count of the block's steps (Adam) is shared
                self.deep_optimizer_state_[f"embedding/{vocab}"] = {
                    key: value[rows] if value.shape == group.table.shape else value
                    for key, value in state.items()}
        for name, value in self.deep_.params.items():
            if name not in self.deep_optimizer_state_:
                self.deep_optimizer_state_[name] = self._adagrad.init_state(value)

    def _scale_deep(self, multiplier):
        """The deep part's optimizer with ``lr`` times ``multiplier`` (schedules)."""
        self._adagrad = self._deep_base_optimizer.scaled(multiplier)

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

    def _deep_step(self, cache, grad_logits):
        self._update_deep(self.deep_.backward(grad_logits, cache, grouped_embeddings=True))
        self.deep_.update_statistics(cache)


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
    deep_optimizer : Adagrad or Adam, optional; the deep part's optimizer (instead of
        ``adagrad``; Adam's row-sparse updates are lazy, as TF's LazyAdam)
    embedding_l2 : lazy L2 on the embedding rows used in a batch
    dense_l2 : L2 on dense weights
    embedding_init_std : std of the truncated-normal init (default 1/sqrt(dim))
    embedding_init : dict vocabulary -> array [rows, dim], initial (e.g. pretrained) tables
        (not saved in the config: the trained tables are in the state)
    frozen_embeddings : vocabulary names whose tables are never trained
    batch_norm : batch normalization after each hidden dense layer (before the activation)
    The remaining parameters are as in `WideEstimator`.
    """

    def __init__(self, *, vocabularies=None, embedding_fields=None, combiners="sum",
                 dense_fields=None, hidden_units=defaults.HIDDEN_UNITS, activation="relu",
                 dropout=defaults.DROPOUT, adagrad=None, deep_optimizer=None,
                 embedding_l2=defaults.EMBEDDING_L2, dense_l2=defaults.DENSE_L2,
                 embedding_init_std=None, embedding_init=None, frozen_embeddings=None,
                 batch_norm=False, batch_size=defaults.BATCH_SIZE, epochs=defaults.EPOCHS,
                 shuffle=True, early_stopping=defaults.EARLY_STOPPING,
                 validation_fraction=defaults.VALIDATION_FRACTION,
                 n_iter_no_change=defaults.N_ITER_NO_CHANGE, eval_metric=None,
                 class_weight=None, lr_schedule=None, warm_start=False,
                 predict_batch_size=defaults.PREDICT_BATCH_SIZE, dtype=np.float32,
                 random_state=None, verbose=0):
        self.vocabularies = vocabularies
        self.embedding_fields = embedding_fields
        self.combiners = combiners
        self.dense_fields = dense_fields
        self.hidden_units = hidden_units
        self.activation = activation
        self.dropout = dropout
        self.adagrad = adagrad
        self.deep_optimizer = deep_optimizer
        self.embedding_l2 = embedding_l2
        self.dense_l2 = dense_l2
        self.embedding_init_std = embedding_init_std
        self.embedding_init = embedding_init
        self.frozen_embeddings = frozen_embeddings
        self.batch_norm = batch_norm
        self.batch_size = batch_size
        self.epochs = epochs
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.eval_metric = eval_metric
        self.class_weight = class_weight
        self.lr_schedule = lr_schedule
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

    def _train_batch(self, features, y, sample_weight):
        logits, cache = self.deep_.forward(features, training=True, rng=self._dropout_rng)
        p = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
        g = p - y
        if sample_weight is not None:
            g = g * sample_weight
        check_finite_gradient(g)
        self._deep_step(cache, (g / y.shape[0]).astype(self._dtype))
        return p

    def _logits(self, features):
        return self.deep_.forward(features)[0]

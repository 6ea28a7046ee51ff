"""`DeepEstimator`: a feed-forward network over embeddings and dense features, trained
with AdaGrad (row-sparse on the embedding tables) — the deep part of Wide & Deep alone.

    P(y=1|x) = sigmoid(w_out . a_L + b_out),   a_0 = concat(dense, embeddings)
"""
from __future__ import annotations

import numpy as np

from .. import defaults
from ..layers.deep_network import DeepNetwork
from ..optim import Adagrad, Adam
from ..training import init_deep_optimizer_state
from ..workspace import thread_workspace
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
        self.deep_optimizer_ = self._deep_base_optimizer
        self.deep_ = DeepNetwork.build(
            vocabularies=self.vocabularies or {}, embedding_fields=self.embedding_fields or {},
            combiners=self.combiners, dense_fields=self.dense_fields or {},
            hidden_units=self.hidden_units, activation=self.activation, dropout=self.dropout,
            output_bias=output_bias, embedding_l2=self.embedding_l2, dense_l2=self.dense_l2,
            embedding_init_std=self.embedding_init_std, rng=rng, dtype=self._dtype,
            n_outputs=self.loss_.n_outputs, batch_norm=self.batch_norm,
            embedding_init=self.embedding_init, frozen_embeddings=self.frozen_embeddings,
            allocate=self._allocator())
        # one optimizer-state block per embedding block (one update per block and step);
        # each vocabulary's state is a view of it, so state access stays per parameter
        self._deep_block_states, self.deep_optimizer_state_ = init_deep_optimizer_state(
            self.deep_, self.deep_optimizer_, allocate=self._allocator())

    def _scale_deep(self, multiplier):
        """The deep part's optimizer with ``lr`` times ``multiplier`` (schedules)."""
        self.deep_optimizer_ = self._deep_base_optimizer.scaled(multiplier)
        self.step_.deep_optimizer = self.deep_optimizer_

    def _check_deep_input(self, features, n, values=True):
        expected = list(self.embedding_fields or {}) + list(self.dense_fields or {})
        missing = [f for f in expected if f not in features]
        if missing:
            raise ValueError(f"missing deep field(s) {missing}"
                             + self._missing_field_hint(features, self._expected_fields()))
        for f in self.embedding_fields or {}:
            x = features[f]
            if getattr(x, "n_examples", n) != n:
                raise ValueError(f"sparse field {f!r} has {x.n_examples} examples, expected {n}")
        self.deep_.check_input(features, n, values=values)

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
                 batch_norm=False, objective="binary", n_classes=None,
                 batch_size=defaults.BATCH_SIZE, epochs=defaults.EPOCHS,
                 shuffle=True, early_stopping=defaults.EARLY_STOPPING,
                 validation_fraction=defaults.VALIDATION_FRACTION,
                 n_iter_no_change=defaults.N_ITER_NO_CHANGE, eval_metric=None,
                 class_weight=None, lr_schedule=None, warm_start=False,
                 predict_batch_size=defaults.PREDICT_BATCH_SIZE, dtype=np.float32,
                 storage="memory", storage_dir=None,
                 random_state=None, verbose=0, n_threads=None):
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
        self.objective = objective
        self.n_classes = n_classes
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
        self.storage = storage
        self.storage_dir = storage_dir
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads

    def _expected_fields(self):
        return self._deep_fields()

    def _build(self, rng):
        self._build_deep(rng, output_bias=True)

    def _check_model_input(self, features, n, values=True):
        self._check_deep_input(features, n, values)

    def _logits(self, features, validate=False):
        # the calling thread's scratch (never the model's); the result is copied out of it.
        # validate: the value checks run fused with the gathers (`checked=False`)
        return self.deep_.forward(features, workspace=thread_workspace(),
                                  checked=not validate, need_cache=False)[0].copy()

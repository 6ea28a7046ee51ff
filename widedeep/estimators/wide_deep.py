"""`WideDeepEstimator`: joint training of the wide and the deep part (Cheng et al. 2016).

    P(y=1|x) = sigmoid(w_wide . [x, phi(x)] + w_deep . a_L + b)

One training step on a mini-batch: (1) the deep network runs forward, giving deep logits;
(2) the wide layer computes its logits and asks the **proba_fn callback** for the joint
probabilities — the callback adds the batch's deep logits to the wide logits; (3) the wide
layer takes its FTRL step with ``dL/df = s (p - y) / n``; (4) the same gradient flows back
through the deep network and AdaGrad updates it (embedding rows sparsely). Both parts thus
follow one logistic loss in the same step. ``b`` is the wide layer's bias; the deep output
layer has no bias of its own.
"""
from __future__ import annotations

import numpy as np

from .. import defaults
from ..workspace import thread_workspace
from .base import BaseEstimator
from .deep import DeepPartMixin
from .wide import WidePartMixin

__all__ = ["WideDeepEstimator"]


class WideDeepEstimator(WidePartMixin, DeepPartMixin, BaseEstimator):
    """Wide & Deep model: FTRL-trained wide part + AdaGrad-trained deep part, one loss.

    Parameters: ``wide_fields`` and the wide options of `WideEstimator` (``ftrl``,
    ``wide_mode``, ``fit_intercept``), the deep options of `DeepEstimator`, and the shared
    loop options. In ``wide_mode="online"`` the wide part steps example by example inside
    the batch (each seeing the updates before it) while the deep part takes one step with
    the batch-mean gradient of the probabilities the callback returned.
    """

    def __init__(self, wide_fields, *, vocabularies=None, embedding_fields=None,
                 combiners="sum", dense_fields=None, hidden_units=defaults.HIDDEN_UNITS,
                 activation="relu", dropout=defaults.DROPOUT, adagrad=None,
                 deep_optimizer=None, embedding_l2=defaults.EMBEDDING_L2,
                 dense_l2=defaults.DENSE_L2, embedding_init_std=None, embedding_init=None,
                 frozen_embeddings=None, batch_norm=False, ftrl=None, ftrl_per_field=None,
                 wide_mode="batch", fit_intercept=True, objective="binary", n_classes=None,
                 batch_size=defaults.BATCH_SIZE, epochs=defaults.EPOCHS,
                 shuffle=True, early_stopping=defaults.EARLY_STOPPING,
                 validation_fraction=defaults.VALIDATION_FRACTION,
                 n_iter_no_change=defaults.N_ITER_NO_CHANGE, eval_metric=None,
                 class_weight=None, lr_schedule=None, warm_start=False,
                 predict_batch_size=defaults.PREDICT_BATCH_SIZE, dtype=np.float32,
                 storage="memory", storage_dir=None,
                 random_state=None, verbose=0, n_threads=None):
        self.wide_fields = wide_fields
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
        self.ftrl = ftrl
        self.ftrl_per_field = ftrl_per_field
        self.wide_mode = wide_mode
        self.fit_intercept = fit_intercept
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
        return list(self.wide_fields) + self._deep_fields()

    def _build(self, rng):
        self._build_wide()
        self._build_deep(rng, output_bias=False)

    def _check_model_input(self, features, n, values=True):
        self._check_wide_input(features, n, values)
        self._check_deep_input(features, n, values)

    def _logits(self, features, validate=False):
        # the calling thread's scratch (never the model's): no large array per call, and
        # threads predicting at once never share a buffer; the sum is a new array.
        # validate: the value checks run fused with each part's gather
        workspace = thread_workspace()
        return self.wide_.forward(features, workspace=workspace, validate=validate)[0] + \
            self.deep_.forward(features, workspace=workspace, checked=not validate,
                               need_cache=False)[0]

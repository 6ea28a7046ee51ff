"""`DeepNetwork`: the deep tower of Wide & Deep, from a feature dict to one logit.

    a_0 = concat(dense fields, pooled embeddings of the sparse fields)     [n, d_0]
    a_l = act(a_{l-1} W_l + b_l)          for each hidden layer (optional dropout after act)
    a_l = act(BN(a_{l-1} W_l))            with ``batch_norm=True`` (BN's beta replaces b_l)
    deep_logit = a_L w_out (+ b_out)                 [n], or [n, K] with K outputs

Parameters are exposed flat as ``"embedding/<vocabulary>"`` (tables, row-sparse gradients)
and ``"layer<i>/W"``, ``"layer<i>/b"`` (dense gradients), ``"layer<i>/gamma"``,
``"layer<i>/beta"`` (batch normalization), ``i`` counting the layers of ``self.layers``
(activations and dropout have no parameters). Non-trained state (batch normalization's
running statistics) is ``statistics``: ``"layer<i>/running_mean"``, ``"layer<i>/running_var"``.

For a training step the network exposes its storage as the optimizer needs it:
`backward_blocks` gives the loss gradient as dense gradients keyed like `dense_params` plus
one row-sparse gradient per embedding storage block (``embeddings.groups[i].table``), and
`add_penalty_gradients` adds the L2 terms once per step. Dropout masks can be drawn ahead for
a whole batch (`draw_dropout_masks`) and passed to `forward` for any subset of its rows.
Batch normalization's statistics of a training forward pass are `batch_statistics(cache)`;
`update_statistics(stats)` folds them into the running ones (the step's apply phase).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..storage import in_memory
from .activations import ACTIVATIONS, ReLU
from .base import RowSparseGrad
from .batch_norm import BatchNorm
from .dense import DenseLayer
from .dense_input import DenseInputLayer
from .dropout import Dropout
from ..workspace import empty
from .embedding_combine import EmbeddingCombineLayer, _n_examples

__all__ = ["DeepNetwork", "InputBlock", "truncated_normal"]


class InputBlock(NamedTuple):
    """One field's columns ``start:stop`` of the deep input ``a_0``; ``kind`` is "dense" or
    "embedding"."""
    field: str
    kind: str
    start: int
    stop: int


def truncated_normal(shape, std, rng, dtype=np.float32):
    """Normal(0, std) redrawn beyond 2 std (TensorFlow's truncated-normal initializer),
    drawn directly in ``dtype`` (float32 draws halve the memory of a large table's init)."""
    values = np.empty(shape, dtype=dtype)
    fill_truncated_normal(values, std, rng)
    return values


def fill_truncated_normal(table, std, rng, chunk_bytes=1 << 24):
    """Fill ``table`` in place with `truncated_normal` values, drawn in blocks of rows of
    about ``chunk_bytes``: no temporary as large as the table (which may be memory-mapped
    and larger than RAM). The values equal one whole-table draw: the generator's normals
    come in the same order, and the redraws go to the out-of-range entries in flat order
    as a whole-table mask would give them."""
    dtype = table.dtype
    if not table.flags.c_contiguous:   # reshape would copy: fill a contiguous one
        table[...] = fill_truncated_normal(np.empty(table.shape, dtype), std, rng, chunk_bytes)
        return table
    flat = table.reshape(-1)
    step = max(chunk_bytes // max(dtype.itemsize, 1), 1)
    outside = []
    for start in range(0, flat.shape[0], step):   # a loop over blocks, not entries
        block = flat[start:start + step]
        block[...] = rng.standard_normal(size=block.shape[0], dtype=dtype)
        outside.append(start + np.flatnonzero(np.abs(block) > 2.0))
    outside = np.concatenate(outside) if outside else np.empty(0, dtype=np.int64)
    while outside.size:
        redrawn = rng.standard_normal(size=outside.size, dtype=dtype)
        flat[outside] = redrawn
        outside = outside[np.abs(redrawn) > 2.0]
    scale = dtype.type(std)
    for start in range(0, flat.shape[0], step):
        flat[start:start + step] *= scale
    return table


def check_embedding_init(embedding_init, vocabularies):
    """Raise ``ValueError`` unless every pretrained table in ``embedding_init``
    ({vocabulary: array [rows, dim]}) names a known vocabulary, has its (rows, dim) shape
    from ``vocabularies`` and holds finite values."""
    for name, values in embedding_init.items():
        if name not in vocabularies:
            raise ValueError(f"embedding_init: unknown vocabulary {name!r}; known: "
                             f"{sorted(vocabularies)}")
        shape = tuple(int(k) for k in vocabularies[name])
        if np.shape(values) != shape:
            raise ValueError(f"embedding_init[{name!r}]: expected shape {list(shape)} "
                             f"(vocabularies), got {list(np.shape(values))}")
        if not np.all(np.isfinite(values)):
            raise ValueError(f"embedding_init[{name!r}]: values must be finite")


class DeepNetwork:
    """Embeddings + dense inputs -> hidden layers -> one logit (or K) per example."""

    def __init__(self, embeddings, dense_input, layers):
        self.embeddings = embeddings
        self.dense_input = dense_input
        self.layers = list(layers)

    @classmethod
    def build(cls, *, vocabularies, embedding_fields, combiners="sum", dense_fields=None,
              hidden_units=(100, 50), activation="relu", dropout=0.0, output_bias=True,
              embedding_l2=0.0, dense_l2=0.0, embedding_init_std=None, rng,
              dtype=np.float32, n_outputs=1, batch_norm=False, embedding_init=None,
              frozen_embeddings=None, allocate=in_memory):
        """Initialize a network: embeddings truncated-normal with std ``1/sqrt(dim)``
        (or ``embedding_init_std``), or copied from ``embedding_init[vocabulary]`` (an array
        [rows, dim], e.g. pretrained); dense layers Glorot-uniform, zero biases;
        ``batch_norm``: a `BatchNorm` after each hidden dense layer (before its activation);
        ``frozen_embeddings``: vocabularies whose tables are never trained.
        ``rng=None`` allocates without drawing: zero tables (for a caller that overwrites
        every array). ``allocate``: creates the embedding blocks (`widedeep.storage`)."""
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got "
                             f"{activation!r}")
        for name, (n_rows, dim) in vocabularies.items():
            if n_rows <= 0 or dim <= 0:
                raise ValueError(f"vocabulary {name!r}: rows and dim must be positive, got "
                                 f"({n_rows}, {dim})")

        embedding_init = embedding_init or {}
        check_embedding_init(embedding_init, vocabularies)

        def initialize(name, table):
            if rng is not None and name in embedding_init:
                table[...] = embedding_init[name]
            elif rng is not None:   # None: allocate only (zeros), for set_state to overwrite
                dim = table.shape[1]
                std = embedding_init_std if embedding_init_std is not None else 1 / np.sqrt(dim)
                fill_truncated_normal(table, std, rng)

        embeddings = EmbeddingCombineLayer(
            {name: (int(rows), int(dim)) for name, (rows, dim) in vocabularies.items()},
            embedding_fields, combiners, embedding_l2, initializer=initialize, dtype=dtype,
            frozen=frozen_embeddings or (), allocate=allocate)
        dense_input = DenseInputLayer(dense_fields or {}, dtype)
        width = embeddings.output_dim + dense_input.output_dim
        if width == 0:
            raise ValueError("the deep part has no input: give embedding_fields and/or "
                             "dense_fields")
        if rng is None:   # dense layers are small: draw them from a throwaway generator
            rng = np.random.default_rng(0)
        layers = []
        for units in hidden_units:
            layers.append(DenseLayer.create(width, int(units), rng, use_bias=not batch_norm,
                                            l2=dense_l2, dtype=dtype))
            if batch_norm:
                layers.append(BatchNorm(int(units), dtype=dtype))
            # the activation's input is the dense layer's fresh output: safe to overwrite
            layers.append(ReLU(inplace=True) if activation == "relu"
                          else ACTIVATIONS[activation]())
            if dropout:
                layers.append(Dropout(dropout))
            width = int(units)
        layers.append(DenseLayer.create(width, int(n_outputs), rng, use_bias=output_bias,
                                        l2=dense_l2, dtype=dtype))
        return cls(embeddings, dense_input, layers)

    # ------------------------------------------------------------------ parameters
    @property
    def params(self):
        out = {f"embedding/{v}": t for v, t in self.embeddings.params.items()}
        for i, layer in enumerate(self.layers):
            for name, value in layer.params.items():
                out[f"layer{i}/{name}"] = value
        return out

    def bind_params(self, params):
        """Use the arrays ``params`` (keys as in `params`) by reference, without copying
        (read-only memory maps of a saved model, for serving; see
        `EmbeddingCombineLayer.bind_tables`)."""
        self.embeddings.bind_tables({name[len("embedding/"):]: value
                                     for name, value in params.items()
                                     if name.startswith("embedding/")})
        for i, layer in enumerate(self.layers):
            for name, value in layer.params.items():
                bound = params[f"layer{i}/{name}"]
                if bound.shape != value.shape or bound.dtype != value.dtype:
                    raise ValueError(f"layer{i}/{name}: expected {value.dtype}"
                                     f"{list(value.shape)}, got {bound.dtype}"
                                     f"{list(bound.shape)}")
            for name in list(layer.params):
                layer.params[name] = params[f"layer{i}/{name}"]

    @property
    def statistics(self):
        """Non-trained state updated in training (batch normalization's running mean and
        variance), flat ``{"layer<i>/<name>": ndarray}``; empty without batch norm."""
        return {f"layer{i}/{name}": value for i, layer in enumerate(self.layers)
                for name, value in getattr(layer, "statistics", {}).items()}

    def bind_statistics(self, statistics):
        """Use the arrays ``statistics`` (keys as in `statistics`) by reference (read-only
        memory maps of a saved model, for serving)."""
        for i, layer in enumerate(self.layers):
            for name in list(getattr(layer, "statistics", {})):
                layer.statistics[name] = statistics[f"layer{i}/{name}"]

    def batch_statistics(self, cache):
        """``{layer index: (n, mean, var)}`` of every batch-norm layer of a training forward
        pass (its ``cache``); {} without batch norm."""
        _, caches = cache
        return {i: layer.batch_statistics(caches[i]) for i, layer in enumerate(self.layers)
                if isinstance(layer, BatchNorm) and caches[i] is not None
                and caches[i][0] == "training"}

    def update_statistics(self, batch_statistics):
        """Fold `batch_statistics` into the running statistics; the training step's apply
        phase calls it once per step (forward itself writes nothing)."""
        for i, (n, mean, var) in batch_statistics.items():
            self.layers[i].update_statistics(n, mean, var)

    @property
    def input_dim(self):
        return self.embeddings.output_dim + self.dense_input.output_dim

    def input_layout(self):
        """Where each field sits in the deep input ``a_0`` (the order `forward` concatenates
        them: dense fields, then pooled embeddings): ``[InputBlock(field, kind, start,
        stop), ...]`` with ``kind`` "dense" or "embedding" and columns ``start:stop``."""
        blocks, start = [], 0
        for field, width in self.dense_input.field_widths.items():
            blocks.append(InputBlock(field, "dense", start, start + width))
            start += width
        for field, layer in self.embeddings.fields.items():
            blocks.append(InputBlock(field, "embedding", start, start + layer.output_dim))
            start += layer.output_dim
        return blocks

    def input_block(self, block, features):
        """The columns of ``a_0`` that ``block`` (from `input_layout`) holds: [n, width],
        the field's validated dense values or its pooled embedding."""
        if block.kind == "dense":
            return self.dense_input.field_array(features, block.field)
        return self.embeddings.fields[block.field].forward(features[block.field])[0]

    def input_columns(self, blocks, features):
        """The columns of ``a_0`` that the adjacent ``blocks`` (from `input_layout`, in its
        order) hold, side by side: [n, their total width] (read it, never write it: a lone
        dense block is the caller's array); the embedding blocks
        pooled together (`EmbeddingCombineLayer.forward_fields`: one gather when they are
        single-valued and share a block) instead of field by field."""
        parts = [self.dense_input.field_array(features, block.field)
                 for block in blocks if block.kind == "dense"]
        pooled = [block.field for block in blocks if block.kind != "dense"]
        if pooled:   # the layout puts the dense fields first, so they stay in order
            parts.append(self.embeddings.forward_fields(pooled, features))
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)

    def check_input(self, features, n_examples=None, values=True):
        """Raise naming the field if ``features`` cannot be read; ``values=False`` leaves
        the sparse fields' ids and values to ``forward(checked=False)``."""
        self.embeddings.check_input(features, values=values)
        # forward reads the dense fields through `field_array`, which checks finiteness
        self.dense_input.check_input(features, n_examples, finite=values)

    # ------------------------------------------------------------------ forward/backward
    @property
    def n_outputs(self):
        return self.layers[-1].output_dim

    def dense_params(self):
        """``{"layer<i>/<name>": array}``: the dense layers' parameters (dense gradients)."""
        return {f"layer{i}/{name}": value for i, layer in enumerate(self.layers)
                for name, value in layer.params.items()}

    def draw_dropout_masks(self, n_examples, rng):
        """One mask per dropout layer for ``n_examples`` rows, drawn from ``rng`` exactly as
        a training `forward` of those rows would draw them (same order and shapes)."""
        masks, width = [], self.input_dim
        for layer in self.layers:
            if hasattr(layer, "output_dim"):
                width = layer.output_dim
            if isinstance(layer, Dropout) and layer.rate:
                masks.append(layer.draw_mask((n_examples, width),
                                             self.layers[0].params["W"].dtype, rng))
        return masks

    def forward(self, features, training=False, rng=None, dropout_masks=None, workspace=None,
                checked=False, need_cache=True):
        """Return ``(logits [n] (or [n, K]), cache)``; writes nothing into the network.
        ``dropout_masks``: masks of these rows drawn ahead (`draw_dropout_masks`).
        ``workspace`` (`widedeep.workspace.Workspace`): activations, masks and the deep
        input are written into its buffers instead of new arrays (same values); the
        returned logits are then a view of a buffer, valid until its next use.
        ``checked=True``: the caller has just validated the features (`check_input`), so
        the embedding lookup does not validate them again. ``need_cache=False``
        (inference): the embedding part of the cache is None, which lets the lookup pool
        single-valued fields beside bags in one gather per block."""
        if workspace is None:
            emb, emb_cache = self.embeddings.forward(features, checked=checked,
                                                     need_cache=need_cache)
            dense, _ = self.dense_input.forward(features)
            a = emb if dense is None else (dense if emb.shape[1] == 0 else
                                           np.concatenate([dense, emb], axis=1))
        else:
            a, emb_cache = self._input_into(features, workspace, checked, need_cache)
        caches = []
        masks = iter(dropout_masks) if dropout_masks is not None else None
        for i, layer in enumerate(self.layers):
            if masks is not None and training and isinstance(layer, Dropout) and layer.rate:
                a, cache = layer.forward(a, training=True, mask=next(masks),
                                         workspace=workspace, key=f"layer{i}")
            elif workspace is not None and isinstance(layer, (DenseLayer, Dropout)):
                a, cache = layer.forward(a, training=training, rng=rng, workspace=workspace,
                                         key=f"layer{i}")
            else:
                a, cache = layer.forward(a, training=training, rng=rng)
            caches.append(cache)
        return (a[:, 0] if a.shape[1] == 1 else a), (emb_cache, caches)

    def _input_into(self, features, workspace, checked=False, need_cache=True):
        """The deep input ``a_0`` [n, d_0] written into the workspace buffer "input":
        dense fields, then pooled embeddings (the layout of `input_layout`)."""
        dense, _ = self.dense_input.forward(features)
        n = dense.shape[0] if dense is not None else _n_examples(features)
        first = self.layers[0]
        dtype = first.params["W"].dtype
        # the first dense layer's rows are d_0 (`input_dim` would sum every field's width)
        d_0 = first.input_dim if isinstance(first, DenseLayer) else self.input_dim
        a = workspace.array("input", (n, d_0), dtype)
        width = 0 if dense is None else dense.shape[1]
        if dense is not None:
            a[:, :width] = dense
        emb_cache = None
        if self.embeddings.fields:
            _, emb_cache = self.embeddings.forward(features, out=a[:, width:],
                                                   workspace=workspace, checked=checked,
                                                   need_cache=need_cache)
        return a, emb_cache

    def _backward_layers(self, grad_logits, caches, penalty, workspace=None,
                         need_input_grad=True, on_input_grad=None):
        grads = {}
        g = grad_logits[:, None] if grad_logits.ndim == 1 else grad_logits
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            if i == 0 and on_input_grad is not None and isinstance(layer, DenseLayer):
                # dL/da_0 before the first layer's weight gradient (independent products),
                # so the caller's use of it runs alongside that product
                dx = layer.input_gradient(g, workspace=workspace, key=f"layer{i}")
                on_input_grad(dx)
                _, layer_grads = layer.backward(g, caches[i], penalty=penalty,
                                                workspace=workspace, key=f"layer{i}",
                                                need_input_grad=False)
                g = dx
            elif workspace is not None and isinstance(layer, DenseLayer):
                g, layer_grads = layer.backward(g, caches[i], penalty=penalty,
                                                workspace=workspace, key=f"layer{i}",
                                                need_input_grad=need_input_grad or i > 0)
            elif workspace is not None and isinstance(layer, (ReLU, Dropout)):
                g, layer_grads = layer.backward(g, caches[i], workspace=workspace,
                                                key=f"layer{i}")
            elif layer.params:
                g, layer_grads = layer.backward(g, caches[i], penalty=penalty)
            else:
                g, layer_grads = layer.backward(g, caches[i])
            for name, value in layer_grads.items():
                grads[f"layer{i}/{name}"] = value
        return g, grads

    def backward(self, grad_logits, cache):
        """Gradients of loss + `penalty` for every parameter given ``dL/dlogit`` [n] (or
        [n, K]): flat dict, see module doc (embedding tables as `RowSparseGrad`)."""
        emb_cache, caches = cache
        g, grads = self._backward_layers(grad_logits, caches, penalty=True)
        if self.embeddings.fields:
            g_emb = np.ascontiguousarray(g[:, self.dense_input.output_dim:])
            _, emb_grads = self.embeddings.backward(g_emb, emb_cache)
            for vocab, value in emb_grads.items():
                grads[f"embedding/{vocab}"] = value
        return grads

    def backward_blocks(self, grad_logits, cache, workspace=None):
        """The loss's gradient **without** penalties, as a training step stores it:
        ``(dense, embedding_blocks)`` with ``dense`` keyed like `dense_params` and
        ``embedding_blocks[i]`` a `RowSparseGrad` of ``embeddings.groups[i].table`` (or
        None when the batch touched no row of that block). With a workspace every
        gradient is one of its buffers (valid until the workspace's next step)."""
        dense, grad_input = self.backward_dense(grad_logits, cache, workspace)
        return dense, self.backward_embedding_blocks(grad_input, cache, workspace)

    def backward_dense(self, grad_logits, cache, workspace=None, on_input_grad=None):
        """The first half of `backward_blocks`: ``(dense, dL/da_0)``, ``dL/da_0`` [n, d_0]
        (None without embedding fields). ``on_input_grad(dL/da_0)`` is called as soon as
        ``dL/da_0`` is known, before the first layer's weight gradient is computed (a
        training step hands the embedding part to another thread there)."""
        fields = bool(self.embeddings.fields)
        g, dense = self._backward_layers(grad_logits, cache[1], penalty=False,
                                         workspace=workspace, need_input_grad=fields,
                                         on_input_grad=on_input_grad if fields else None)
        return dense, (g if fields else None)

    def backward_embedding_blocks(self, grad_input, cache, workspace=None):
        """The second half of `backward_blocks`: the embedding blocks' gradients from
        ``dL/da_0`` (None: no embedding fields)."""
        blocks = [None] * len(self.embeddings.groups)
        if grad_input is not None:
            g_emb = grad_input[:, self.dense_input.output_dim:]
            if workspace is None:
                g_emb = np.ascontiguousarray(g_emb)
            blocks = self.embeddings.backward_groups(g_emb, cache[0], penalty=False,
                                                     workspace=workspace)
        return blocks

    def add_penalty_gradients(self, dense, embedding_blocks, workspace=None):
        """The gradients plus the L2 terms, added once per step: ``dense_l2 W`` on each
        dense ``W`` and ``embedding_l2 E[r]`` on each row ``r`` present in
        ``embedding_blocks`` (the lazy L2 of the rows the step touched). Returns new
        ``(dense, embedding_blocks)``; the inputs are not modified. With a workspace the
        embedding rows' sums are its buffers."""
        return (self.add_dense_penalty(dense),
                self.add_embedding_penalty(embedding_blocks, workspace))

    def add_dense_penalty(self, dense):
        """`add_penalty_gradients` of the dense gradients alone (a new dict)."""
        dense = dict(dense)
        for i, layer in enumerate(self.layers):
            for name, value in layer.penalty_gradients().items():
                dense[f"layer{i}/{name}"] = dense[f"layer{i}/{name}"] + value
        return dense

    def add_embedding_penalty(self, embedding_blocks, workspace=None):
        """`add_penalty_gradients` of the embedding blocks alone (a new list)."""
        blocks = list(embedding_blocks)
        for i, grad in enumerate(blocks):
            if grad is not None:
                extra = self.embeddings.penalty_gradient_of_rows(i, grad.rows, workspace)
                if extra is not None:
                    blocks[i] = RowSparseGrad(grad.rows, np.add(
                        grad.values, extra, out=empty(workspace, f"embedding/block{i}/l2",
                                                      grad.values.shape,
                                                      np.result_type(grad.values, extra))))
        return blocks

    def penalty(self, features=None):
        """Regularization added to the loss: dense L2 plus the batch's lazy embedding L2."""
        total = sum(layer.penalty() for layer in self.layers)
        if features is not None:
            total += self.embeddings.penalty_of_batch(features)
        return total

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"DeepNetwork({self.embeddings!r}, {self.dense_input!r}, [{inner}])"

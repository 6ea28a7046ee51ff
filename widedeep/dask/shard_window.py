"""The sparse-state layout of a model and the small *window* model a sharded worker trains in.

With ``DaskTrainer(shard_state=True)`` worker ``r`` of W stores only the sparse rows it owns
(``id % W == r``, `widedeep.training.sharding`) in compact arrays: global id ``g`` is row
``g // W`` of its store, so it holds ~1/W of every table (wide ``w``, FTRL ``z`` / ``n``,
each trainable embedding block and its AdaGrad accumulator). It never allocates a full
table. To run the estimator's own `TrainingStep` it keeps a **window**: an estimator of
the same class and parameters whose vocabularies and wide fields have only ``cap`` rows,
holding the replicated parts (dense layers, their optimizer state, the wide bias,
batch-norm statistics, the dropout generator) for good and, during one phase, the sparse
rows of one batch (compute) or of one update (apply) at window positions:

- compute: each *id class* (the input fields reading one trainable vocabulary, or one
  wide-only field) gets its batch's distinct ids ``U`` (sorted); a field's id ``u`` becomes
  ``searchsorted(U, u)``. The map is increasing, so the window sees the same entries in the
  same order and sums them in the same order as the full model: the gradient, mapped back
  to global ids, is bit-identical.
- apply: the owner's rows of the summed gradient are loaded (every state key) into the
  window at consecutive positions of their field / vocabulary, the estimator's
  ``combine`` + ``apply`` run there, and the rows are written back to the store.

`SparseLayout` is that structure, read from the full model's layers once on the driver
(offsets, sizes, which fields read which vocabulary) and shipped to the workers as data.
"""
from __future__ import annotations

import copy

import numpy as np

from ..input_checks import validate_fields
from ..inputs import SparseInput
from ..io.config import estimator_config, estimator_from_config
from ..training import sharding

__all__ = ["SparseLayout", "build_window", "replicated_keys"]


class SparseLayout:
    """Where each sparse field's ids live in a model's sparse state (`sharding.sparse_state`).

    ``wide``: ``{field: (offset, size)}`` of the contiguous wide coordinates;
    ``blocks``: ``{name: {vocabulary: (offset, rows)}}`` of each trainable embedding block
    (``name`` = ``"block<i>"``); ``classes``: ``{class: [fields]}``, the fields whose ids must
    be renumbered together (those reading one vocabulary, or one wide-only field);
    ``checks``: ``[(field, size)]`` every sparse input the model reads, with its id bound.
    """

    def __init__(self, estimator):
        step = estimator.step_
        self.wide, self.blocks, self.classes, self.checks = {}, {}, {}, []
        class_of = {}
        if step.deep is not None:
            embeddings = step.deep.embeddings
            for index, group in enumerate(embeddings.groups):
                if group.trainable:
                    self.blocks[f"block{index}"] = {
                        vocab: (int(group.offsets[vocab]), int(group.sizes[vocab]))
                        for vocab in group.offsets}
            for field, vocab in embeddings.field_vocabs.items():
                group = embeddings.groups[embeddings.group_of[vocab]]
                self.checks.append((field, int(group.sizes[vocab])))
                if group.trainable:
                    class_of[field] = f"vocabulary {vocab}"
        if step.wide is not None:
            for field, size in step.wide.field_sizes.items():
                self.wide[field] = (int(step.wide.offsets[field]), int(size))
                self.checks.append((field, int(size)))
                if field in (step.deep.embeddings.field_vocabs if step.deep is not None
                             else {}) and field not in class_of:
                    raise ValueError(f"shard_state=True: wide field {field!r} also reads the "
                                     f"frozen embedding vocabulary; train it replicated")
                class_of.setdefault(field, f"wide field {field}")
        for field, name in class_of.items():
            self.classes.setdefault(name, []).append(field)
        self.class_of = class_of
        self.vocab_class = {vocab: f"vocabulary {vocab}" for vocabs in self.blocks.values()
                            for vocab in vocabs}
        # the most rows any member of a class can need (a window never exceeds it)
        self.class_rows = {name: 0 for name in self.classes}
        for field, (_, size) in self.wide.items():
            self.class_rows[class_of[field]] = max(self.class_rows[class_of[field]], size)
        for vocabs in self.blocks.values():
            for vocab, (_, rows) in vocabs.items():
                name = self.vocab_class[vocab]
                self.class_rows[name] = max(self.class_rows[name], rows)

    # ------------------------------------------------------------------ a batch
    def check(self, features):
        """Every sparse input the model reads is a `SparseInput` with ids below its real
        bound (the window's own check sees renumbered ids, always in range)."""
        for field, _ in self.checks:
            if field not in features:
                raise ValueError(f"missing sparse field {field!r}")
            if not isinstance(features[field], SparseInput):
                raise TypeError(f"field {field!r}: expected a SparseInput, got "
                                f"{type(features[field]).__name__}")
        validate_fields([features[f] for f, _ in self.checks], [s for _, s in self.checks],
                        [f for f, _ in self.checks])

    def renumber(self, features):
        """``(window features, {class: distinct sorted ids U})``: each sparse field's ids
        replaced by their positions in its class's ``U``; other inputs unchanged."""
        uniques = {name: np.unique(np.concatenate([features[f].feature_ids for f in fields]))
                   for name, fields in self.classes.items()}
        out = dict(features)
        for field, name in self.class_of.items():
            x = features[field]
            out[field] = SparseInput(x.example_indices, np.searchsorted(uniques[name],
                                                                        x.feature_ids),
                                     x.feature_values, n_examples=x.n_examples,
                                     field=x.field, dtype=x.feature_values.dtype,
                                     validate=False)
        return out, uniques

    def batch_ids(self, features):
        """``{name: distinct ascending global ids}`` the batch reads (as
        `sharding.batch_ids` on the full model)."""
        ids = {}
        if self.wide:
            ids["wide"] = np.unique(np.concatenate(
                [features[f].feature_ids + offset for f, (offset, _) in self.wide.items()]))
        for block, vocabs in self.blocks.items():
            # a vocabulary's class holds exactly the fields reading it
            parts = [features[f].feature_ids + offset for vocab, (offset, _) in vocabs.items()
                     for f in self.classes.get(self.vocab_class[vocab], [])]
            if parts:
                ids[block] = np.unique(np.concatenate(parts))
        return ids

    def window_positions(self, window, ids, uniques):
        """``{name: window positions}`` of the global ``ids`` (`batch_ids`) of a batch
        renumbered with ``uniques``, in the window model's layout (`window_offsets`)."""
        offsets = window_offsets(window)
        positions = {}
        for name, rows in ids.items():
            segments = self.wide if name == "wide" else self.blocks[name]
            out = np.empty_like(rows)
            for key, (offset, size) in segments.items():
                inside = (rows >= offset) & (rows < offset + size)
                cls = self.class_of[key] if name == "wide" else self.vocab_class[key]
                out[inside] = offsets[name][key] + np.searchsorted(uniques[cls],
                                                                   rows[inside] - offset)
            positions[name] = out
        return positions

    def update_positions(self, window, ids):
        """``{name: window positions}`` for an update of the global ``ids`` (distinct,
        ascending per name): each field's / vocabulary's ids at consecutive positions."""
        offsets = window_offsets(window)
        positions = {}
        for name, rows in ids.items():
            segments = self.wide if name == "wide" else self.blocks[name]
            out = np.empty_like(rows)
            for key, (offset, size) in segments.items():
                first, last = np.searchsorted(rows, [offset, offset + size])
                out[first:last] = offsets[name][key] + np.arange(last - first)
            positions[name] = out
        return positions

    def update_needs(self, ids):
        """``{class: rows}`` a window needs for an update of ``ids`` (see `update_positions`)."""
        needs = {}
        for name, rows in ids.items():
            segments = self.wide if name == "wide" else self.blocks[name]
            for key, (offset, size) in segments.items():
                first, last = np.searchsorted(rows, [offset, offset + size])
                cls = self.class_of[key] if name == "wide" else self.vocab_class[key]
                needs[cls] = max(needs.get(cls, 0), int(last - first))
        return needs


def window_offsets(window):
    """``{"wide": {field: offset}, "block<i>": {vocabulary: offset}}`` of a window model."""
    step = window.step_
    offsets = {}
    if step.wide is not None:
        offsets["wide"] = dict(step.wide.offsets)
    if step.deep is not None:
        for index, group in enumerate(step.deep.embeddings.groups):
            offsets[f"block{index}"] = dict(group.offsets)
    return offsets


def build_window(config, layout, caps):
    """An estimator of ``config`` whose classes of sparse fields have ``caps[class]`` rows
    (vocabularies and wide fields), allocated without random draws."""
    config = copy.deepcopy(config)
    params = config["params"]
    for field in layout.wide:
        params["wide_fields"][field] = int(caps[layout.class_of[field]])
    for vocabs in layout.blocks.values():
        for vocab in vocabs:
            params["vocabularies"][vocab] = [int(caps[layout.vocab_class[vocab]]),
                                             int(params["vocabularies"][vocab][1])]
    params.update(storage="memory", storage_dir=None)
    if "embedding_init" in params:
        params["embedding_init"] = None   # the window's rows come from the store
    window = estimator_from_config(config, "window config")
    return window.initialize(allocate_only=True)


def full_config(estimator):
    """The estimator's config (`widedeep.io.config`), the window's blueprint."""
    return estimator_config(estimator)


def replicated_keys(estimator):
    """The keys of ``estimator.get_state()`` that are not row-sharded sparse state (dense
    layers and their optimizer state, the wide bias, statistics, frozen tables)."""
    sparse = [array for arrays in sharding.sparse_state(estimator.step_).values()
              for array in arrays.values()]
    return [key for key, value in estimator.get_state().items()
            if not any(np.may_share_memory(value, array) for array in sparse)]

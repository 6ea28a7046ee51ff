"""Warm start: initialize a new model from a previous one, carrying rows over by token.

The paper retrains whenever new data arrives and initializes each new model from the
previous one's embeddings and linear weights (Cheng et al. 2016, section 4.2). Between two
trainings the vocabularies change: tokens appear, disappear and change ids. So

- an embedding row and a wide weight are carried over **by token**: new id ``i`` takes the
  old row of the id whose token equals ``tokens_new[i]``; new tokens keep the new model's
  fresh initialization; old tokens absent from the new vocabulary are dropped. Hashed
  fields and crosses (ids are their own tokens) carry by id when the hash space has the same
  size, and not at all otherwise;
- dense layers are matched by position among the dense layers and copied when their shapes
  match. The first layer is matched input by input (``dense:<field>``, ``embedding:<field>``
  segments of the deep input), so adding, removing or reordering fields keeps the weights of
  the inputs both models have;
- batch-norm layers are matched by position among the batch-norm layers (``gamma``,
  ``beta`` and running statistics copied when the widths agree);
- with ``copy_optimizer_state=True`` the deep optimizer's state (AdaGrad accumulators,
  Adam moments) and FTRL ``z``/``n`` of the
  carried rows are copied too: with unchanged vocabularies and layers the new model then
  continues training exactly like the old one. Without it AdaGrad accumulators start fresh,
  and FTRL starts with fresh ``n`` and the ``z`` that reproduces each carried weight
  (FTRL's weight is a function of ``z`` and ``n``: copying the weight alone would be
  forgotten at that coordinate's next update).
"""
from __future__ import annotations

import os
import re

import numpy as np

from .saving import load_model, load_spec
from .token_map import id_space, match_rows

__all__ = ["warm_start", "WarmStartReport"]

_LAYER_KEY = re.compile(r"^layer(\d+)/W$")


class WarmStartReport:
    """What `warm_start` carried over.

    ``embeddings[vocabulary]`` and ``wide[field]`` (the wide bias is ``wide["bias"]``):
    ``{"how": "token" | "id" | "none", "carried", "new", "dropped", "reason"}`` with
    ``carried`` new ids that took an old row, ``new`` ids left freshly initialized,
    ``dropped`` old ids with no place in the new model. ``dense[layer]``: "copied",
    "fresh (...)" or "inputs copied: [...]; fresh: [...]" for the first layer.
    """

    def __init__(self, optimizer_state):
        self.optimizer_state = optimizer_state
        self.embeddings = {}
        self.wide = {}
        self.dense = {}

    def to_dict(self):
        return {"optimizer_state": self.optimizer_state, "embeddings": self.embeddings,
                "wide": self.wide, "dense": self.dense}

    def __str__(self):
        lines = [f"warm start (optimizer state {'copied' if self.optimizer_state else 'fresh'})"]
        for kind, records in (("embedding", self.embeddings), ("wide", self.wide)):
            for name, r in records.items():
                line = (f"  {kind} {name}: {r['carried']} carried ({r['how']}), {r['new']} new, "
                        f"{r['dropped']} dropped")
                lines.append(line + (f" — {r['reason']}" if r["reason"] else ""))
        lines += [f"  dense {name}: {status}" for name, status in self.dense.items()]
        return "\n".join(lines)

    __repr__ = __str__


def warm_start(model, source, *, old_spec=None, new_spec=None, old_tokens=None,
               new_tokens=None, copy_optimizer_state=False):
    """Initialize ``model`` (an unfitted or fitted estimator, the *new* model) from
    ``source`` (a saved model directory or a fitted estimator, the *old* model).

    ``model`` is re-initialized from its own ``random_state`` and then overwritten where the
    old model has a matching row or layer; its ``warm_start`` parameter is set to True so
    that the next `fit` continues from these values.

    Tokens of each id space come, in this order, from ``old_tokens`` / ``new_tokens``
    (``{wide field or vocabulary name: tokens in id order}``), from the specs'
    ``vocabulary_tokens(field)`` (``old_spec`` defaults to the spec saved with ``source``),
    and otherwise the ids are taken as their own tokens (carried by id if the sizes agree).

    Returns a `WarmStartReport`.
    """
    if isinstance(source, (str, os.PathLike)):
        old = load_model(source)
        if old_spec is None:
            old_spec = load_spec(source)
    else:
        old = source
    old_state = old.get_state()
    model.initialize(n_classes=getattr(old, "n_classes_", None))
    new_state = model.get_state()
    copy_opt = bool(copy_optimizer_state)
    report = WarmStartReport(copy_opt)
    old_ids = _IdSpaces(old, old_spec, old_tokens, "old")
    new_ids = _IdSpaces(model, new_spec, new_tokens, "new")
    matches = {}

    new_wide = getattr(model, "wide_", None)
    old_wide = getattr(old, "wide_", None)
    if new_wide is not None:
        for field, size in new_wide.field_sizes.items():
            if old_wide is None or field not in old_wide.field_sizes:
                report.wide[field] = _nothing(size, 0, "not a wide field of the old model")
                continue
            new_rows, old_rows, record = _match(old_ids.wide(field), new_ids.wide(field),
                                                matches)
            _carry_wide(new_wide, new_wide.field_ftrl(field), old_wide.field_ftrl(field),
                        field, old_state, new_state, old_rows, new_rows, copy_opt)
            report.wide[field] = record
        if old_wide is not None and model.fit_intercept:
            rows = np.arange(new_wide.params["bias"].shape[0])   # [1], or [K] classes
            _carry_wide(new_wide, new_wide.bias_ftrl, old_wide.bias_ftrl, "bias", old_state,
                        new_state, rows, rows, copy_opt)
            report.wide["bias"] = _record("id", 1, 0, 0, "")

    new_deep = getattr(model, "deep_", None)
    old_deep = getattr(old, "deep_", None)
    if new_deep is not None:
        for vocab, table in new_deep.embeddings.params.items():
            old_table = old_deep.embeddings.params.get(vocab) if old_deep is not None else None
            if old_table is None:
                report.embeddings[vocab] = _nothing(table.shape[0], 0,
                                                    "not a vocabulary of the old model")
                continue
            if old_table.shape[1] != table.shape[1]:
                report.embeddings[vocab] = _nothing(
                    table.shape[0], old_table.shape[0],
                    f"embedding dim changed ({old_table.shape[1]} -> {table.shape[1]})")
                continue
            new_rows, old_rows, record = _match(old_ids.table(vocab), new_ids.table(vocab),
                                                matches)
            key = f"embedding/{vocab}"
            _copy_rows(old_state, new_state, f"deep/{key}", old_rows, new_rows)
            if copy_opt:
                _copy_optimizer_rows(old_state, new_state, key, key, old_rows, new_rows)
            report.embeddings[vocab] = record
        _carry_dense_layers(old, model, old_state, new_state, copy_opt, report)
        _carry_batch_norm_layers(old_state, new_state, copy_opt, report)
    model.warm_start = True
    return report


# ---------------------------------------------------------------------- id spaces
class _IdSpaces:
    """The `IdSpace` of every wide field and table of one model (``side`` "old"/"new").

    ``wide``/``table`` return ``(key, IdSpace)``; ids spaces read from the same token
    source (a wide field and the table of the same column) share a key, so their row
    matching is computed once."""

    def __init__(self, estimator, spec, tokens, side):
        self.estimator, self.spec, self.tokens, self.side = estimator, spec, tokens or {}, side
        self._cache = {}

    def wide(self, field):
        size = self.estimator.wide_.field_sizes[field]
        return self._space([field], size, f"{self.side} wide field {field!r}")

    def table(self, vocab):
        size = self.estimator.deep_.embeddings.params[vocab].shape[0]
        fields = [f for f, v in self.estimator.deep_.embeddings.field_vocabs.items()
                  if v == vocab]
        return self._space([vocab, *fields], size, f"{self.side} vocabulary {vocab!r}")

    def _space(self, names, size, where):
        source, tokens = self._tokens(names)
        key = (source, size)
        if key not in self._cache:
            self._cache[key] = id_space(size, tokens, where)
        return key, self._cache[key]

    def _tokens(self, names):
        for name in names:
            if name in self.tokens:
                return ("given", name), self.tokens[name]
        if self.spec is not None:
            for name in names:
                try:
                    return ("spec", name), self.spec.vocabulary_tokens(name)
                except ValueError:   # not a sparse field of that spec
                    continue
        return ("ids", names[0]), None


def _match(old, new, cache):
    (old_key, old_space), (new_key, new_space) = old, new
    key = (old_key, new_key)
    if key not in cache:
        cache[key] = match_rows(old_space, new_space)
    new_rows, old_rows, how, reason = cache[key]
    carried = int(new_rows.shape[0])
    return new_rows, old_rows, _record(how, carried, new_space.size - carried,
                                       old_space.size - carried, reason)


def _record(how, carried, new, dropped, reason):
    return {"how": how, "carried": carried, "new": new, "dropped": dropped, "reason": reason}


def _nothing(new_size, old_size, reason):
    return _record("none", 0, int(new_size), int(old_size), reason)


# ---------------------------------------------------------------------- copying
def _copy_rows(old_state, new_state, key, old_rows, new_rows, new_key=None):
    target, source = new_state[new_key or key], old_state[key]
    if (target.shape == source.shape and new_rows.shape[0] == target.shape[0]
            and np.array_equal(new_rows, old_rows)):   # every row, in place: one block copy
        target[...] = source
        return
    target[new_rows] = source[old_rows].astype(target.dtype, copy=False)


def _carry_wide(wide, new_ftrl, old_ftrl, name, old_state, new_state, old_rows, new_rows,
                copy_opt):
    """Carry weights ``w`` and, with ``copy_opt``, FTRL ``z``/``n`` of one wide model."""
    prefix = f"wide/{name}/"
    w, z, n = (new_state[prefix + part] for part in ("w", "z", "n"))
    carried_w = old_state[prefix + "w"][old_rows].astype(w.dtype)
    if copy_opt:
        _copy_rows(old_state, new_state, prefix + "z", old_rows, new_rows)
        _copy_rows(old_state, new_state, prefix + "n", old_rows, new_rows)
        if new_ftrl.get_config() != old_ftrl.get_config():
            # other hyper-parameters: the weight the new optimizer derives from (z, n)
            carried_w = new_ftrl.weights(z[new_rows], n[new_rows]).astype(w.dtype)
        w[new_rows] = carried_w
        return
    w[new_rows] = carried_w
    z[new_rows] = _z_for_weights(new_ftrl, carried_w, n[new_rows]).astype(z.dtype)


def _z_for_weights(ftrl, w, n):
    """The ``z`` for which ``ftrl.weights(z, n) == w`` (``0`` where ``w == 0``)."""
    scale = (ftrl.beta + np.sqrt(n)) / ftrl.alpha + ftrl.l2
    return np.where(w == 0, 0.0, -(w * scale) - np.sign(w) * ftrl.l1)


def _carry_dense_layers(old, model, old_state, new_state, copy_opt, report):
    old_layers = _dense_layer_indices(old_state)
    new_layers = _dense_layer_indices(new_state)
    for position, new_index in enumerate(new_layers):
        name = f"layer{new_index}"
        if position >= len(old_layers):
            report.dense[name] = "fresh (the old model has fewer dense layers)"
            continue
        old_name = f"layer{old_layers[position]}"
        old_w, new_w = old_state[f"deep/{old_name}/W"], new_state[f"deep/{name}/W"]
        if position == 0 and old_w.shape[1] == new_w.shape[1]:
            report.dense[name] = _carry_first_layer(old, model, old_state, new_state,
                                                    old_name, name, copy_opt)
            continue
        if old_w.shape != new_w.shape:
            report.dense[name] = f"fresh (shape {list(old_w.shape)} -> {list(new_w.shape)})"
            continue
        rows = np.arange(new_w.shape[0])
        _copy_layer_rows(old_state, new_state, old_name, name, rows, rows, copy_opt)
        report.dense[name] = "copied"


def _dense_layer_indices(state):
    return sorted(int(m.group(1)) for m in
                  (_LAYER_KEY.match(key[len("deep/"):]) for key in state
                   if key.startswith("deep/")) if m)


def _copy_layer_rows(old_state, new_state, old_name, name, old_rows, new_rows, copy_opt):
    """Copy rows of ``W`` and (when both have one) the whole bias ``b``."""
    parts = [("W", old_rows, new_rows)]
    if f"deep/{name}/b" in new_state and f"deep/{old_name}/b" in old_state:
        everything = np.arange(new_state[f"deep/{name}/b"].shape[0])
        parts.append(("b", everything, everything))
    for part, old_r, new_r in parts:
        target = new_state[f"deep/{name}/{part}"]
        target[new_r] = old_state[f"deep/{old_name}/{part}"][old_r].astype(target.dtype)
        if copy_opt:
            _copy_optimizer_rows(old_state, new_state, f"{old_name}/{part}", f"{name}/{part}",
                                 old_r, new_r)


def _copy_optimizer_rows(old_state, new_state, old_param, param, old_rows, new_rows):
    """Copy the optimizer state of rows of a deep parameter, slot by slot (AdaGrad's
    ``accumulator``, Adam's ``m``/``v``); a slot not shaped like the parameter (Adam's
    ``step``) is copied whole; slots the old optimizer does not have stay fresh."""
    prefix = f"deep_optimizer/{param}/"
    for key in [k for k in new_state if k.startswith(prefix)]:
        source = old_state.get(f"deep_optimizer/{old_param}/{key[len(prefix):]}")
        target = new_state[key]
        if source is None:
            continue
        if target.shape == new_state[f"deep/{param}"].shape:
            target[new_rows] = source[old_rows].astype(target.dtype)
        elif source.shape == target.shape:
            target[...] = source


_BATCH_NORM_KEY = re.compile(r"^layer(\d+)/gamma$")


def _carry_batch_norm_layers(old_state, new_state, copy_opt, report):
    """Batch-norm layers matched by position among the batch-norm layers: ``gamma``,
    ``beta`` and the running statistics copied when the widths agree."""
    def indices(state):
        return sorted(int(m.group(1)) for m in (_BATCH_NORM_KEY.match(key[len("deep/"):])
                                                for key in state if key.startswith("deep/"))
                      if m)
    old_layers = indices(old_state)
    for position, new_index in enumerate(indices(new_state)):
        name = f"layer{new_index}"
        if position >= len(old_layers):
            report.dense[name] = "fresh (the old model has fewer batch-norm layers)"
            continue
        old_name = f"layer{old_layers[position]}"
        old_gamma = old_state[f"deep/{old_name}/gamma"]
        if old_gamma.shape != new_state[f"deep/{name}/gamma"].shape:
            report.dense[name] = "fresh (batch-norm width changed)"
            continue
        rows = np.arange(old_gamma.shape[0])
        for part in ("gamma", "beta"):
            _copy_rows(old_state, new_state, f"deep/{old_name}/{part}", rows, rows,
                       new_key=f"deep/{name}/{part}")
            if copy_opt:
                _copy_optimizer_rows(old_state, new_state, f"{old_name}/{part}",
                                     f"{name}/{part}", rows, rows)
        for part in ("running_mean", "running_var"):
            _copy_rows(old_state, new_state, f"deep_statistics/{old_name}/{part}", rows, rows,
                       new_key=f"deep_statistics/{name}/{part}")
        report.dense[name] = "copied (batch norm)"


def _input_segments(estimator):
    """``{segment name: (first row, width)}`` of the deep input (dense fields, then the
    pooled embedding of each sparse field, as `DeepNetwork` concatenates them)."""
    segments, start = {}, 0
    for field, width in (estimator.dense_fields or {}).items():
        segments[f"dense:{field}"] = (start, int(width))
        start += int(width)
    tables = estimator.deep_.embeddings.params
    for field, vocab in (estimator.embedding_fields or {}).items():
        width = tables[vocab].shape[1]
        segments[f"embedding:{field}"] = (start, width)
        start += width
    return segments


def _carry_first_layer(old, model, old_state, new_state, old_name, name, copy_opt):
    old_segments, new_segments = _input_segments(old), _input_segments(model)
    copied, fresh, old_rows, new_rows = [], [], [], []
    for segment, (start, width) in new_segments.items():
        match = old_segments.get(segment)
        if match is None or match[1] != width:
            fresh.append(segment)
            continue
        copied.append(segment)
        old_rows.append(np.arange(match[0], match[0] + width))
        new_rows.append(np.arange(start, start + width))
    if not copied:
        return "fresh (no deep input in common)"
    _copy_layer_rows(old_state, new_state, old_name, name, np.concatenate(old_rows),
                     np.concatenate(new_rows), copy_opt)
    if not fresh and list(old_segments) == list(new_segments):
        return "copied"
    return f"inputs copied: {copied}; fresh: {fresh}"

"""Explaining a Wide & Deep model: one prediction, its strongest wide rules, its sparsity.

One example's logit decomposes exactly into

    logit = bias + sum_{f, id fired} w_f[id] * v_f(id) + deep_logit

where ``v_f(id)`` is the summed feature value of ``id`` in field ``f`` of the example (1 for
a plain one-hot), ``bias`` the wide bias and ``deep_logit`` the deep tower's output (for a
`DeepEstimator`, whose output layer carries its own bias, ``bias`` is 0). The wide terms are
listed with their tokens, e.g. ``installed_apps=netflix AND impression_app=pandora: +1.700``;
they, the bias and the deep logit add up to the model's logit up to float rounding (the
model sums in its own dtype and order).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..estimators.batching import n_examples
from ..losses import sigmoid
from ..records import Ragged
from .finite import describe_non_finite, non_finite_parameters
from .request import is_feature_dict

__all__ = ["Contribution", "Explanation", "WideRule", "SparsityReport", "explain",
           "strongest_rules", "sparsity_report"]

_MAX_CROSS_COMBINATIONS = 100_000


@dataclass(frozen=True)
class Contribution:
    """One fired wide feature: ``contribution = weight * value``.

    ``token``: the vocabulary token of ``feature_id`` (from the spec), or for a cross the
    component values that hash to it (``"a=x AND b=y"``, several joined by ``" | "`` when
    they collide), else the id as text.
    """
    field: str
    feature_id: int
    token: str
    value: float
    weight: float
    contribution: float

    def __str__(self):
        return f"{_readable(self.field, self.token)}: {self.contribution:+.4f}"


def _readable(field, token):
    """``field=token``, or the token alone when it names itself (a cross's ``a=x AND
    b=y``, a bucket's ``age_buckets:[25,30)``)."""
    if " AND " in token or token.startswith((f"{field}:", f"{field}<", f"{field}>",
                                             f"<{field}:")):
        return token
    return f"{field}={token}"


@dataclass(frozen=True)
class Explanation:
    """The decomposition of one example's logit (see the module docstring)."""
    logit: float
    bias: float
    deep_logit: float
    wide_contributions: list
    class_index: int | None = None      # multiclass: the class whose logit is explained
    prediction: float | None = None     # the link's output (class probability or value)

    @property
    def probability(self):
        """P(y = 1), or of ``class_index`` (multiclass); a regression's predicted value."""
        if self.prediction is not None:
            return self.prediction
        return float(sigmoid(np.asarray(self.logit)))

    @property
    def wide_logit(self):
        """``bias + sum of the wide contributions``."""
        return self.bias + float(sum(c.contribution for c in self.wide_contributions))

    def __str__(self):
        head = "logit" if self.class_index is None else f"class {self.class_index} logit"
        lines = [f"{head} {self.logit:+.4f} (p = {self.probability:.4f}) = bias "
                 f"{self.bias:+.4f} + deep {self.deep_logit:+.4f} + wide features:"]
        lines += [f"  {c}" for c in self.wide_contributions]
        return "\n".join(lines)


@dataclass(frozen=True)
class WideRule:
    """One memorized wide weight: ``field=token`` adds ``weight`` to the logit."""
    field: str
    feature_id: int
    token: str
    weight: float

    def __str__(self):
        return f"{_readable(self.field, self.token)}: {self.weight:+.4f}"


@dataclass(frozen=True)
class SparsityReport:
    """Non-zero wide weights (after FTRL's L1) per field: ``fields[name] = (nonzero, size)``."""
    fields: dict

    @property
    def nonzero(self):
        return sum(nz for nz, _ in self.fields.values())

    @property
    def total(self):
        return sum(size for _, size in self.fields.values())

    @property
    def fraction(self):
        return self.nonzero / self.total if self.total else 0.0

    def __str__(self):
        width = max([len(f) for f in self.fields] + [5])
        lines = [f"{'field':<{width}} {'nonzero':>10} {'size':>10} {'share':>8}"]
        for field, (nz, size) in self.fields.items():
            lines.append(f"{field:<{width}} {nz:>10} {size:>10} {nz / size:>8.2%}")
        lines.append(f"{'total':<{width}} {self.nonzero:>10} {self.total:>10} "
                     f"{self.fraction:>8.2%}")
        return "\n".join(lines)


def explain(estimator, features, spec=None, class_index=None):
    """Decompose the logit of one example into bias, deep logit and wide contributions.

    For a multiclass model, the logit of class ``class_index`` (default: the predicted
    class) is decomposed, each wide weight being that class's weight of the coordinate;
    ``probability`` is then that class's softmax probability. A regression model's
    ``probability`` is its predicted value.

    ``features``: a feature dict of one example, or (with ``spec``) a raw column batch of one
    row. With a spec, wide ids are shown as tokens, and a cross's ids as the component values
    of this example that produce them. Contributions are sorted by decreasing magnitude;
    features whose weight is exactly 0 (pruned by FTRL's L1) are omitted: they add nothing.
    A NaN or infinite logit (a model with non-finite parameters) raises ``ValueError``
    naming the part it comes from and the broken parameters; it is never explained.
    """
    estimator.check_is_fitted()
    columns = None
    if not is_feature_dict(features, spec):
        columns, features = features, spec.transform(features)
    if n_examples(features) != 1:
        raise ValueError(f"explain takes one example, got {n_examples(features)}")
    logits = estimator.predict_logit(features)[0]
    loss = estimator.loss_
    prediction = None
    if loss.name == "multiclass":
        if class_index is None:
            class_index = int(np.argmax(logits))
        if not 0 <= int(class_index) < loss.n_classes:
            raise ValueError(f"class_index must be in 0 .. {loss.n_classes - 1}, got "
                             f"{class_index!r}")
        class_index = int(class_index)
        prediction = float(loss.link(logits[None].astype(np.float64))[0, class_index])
        logit = float(logits[class_index])
    elif class_index is not None:
        raise ValueError(f"class_index is for multiclass models; this one is {loss.name!r}")
    else:
        logit = float(logits)
        if loss.name == "regression":
            prediction = logit
    column = slice(None) if class_index is None else class_index
    wide = getattr(estimator, "wide_", None)
    deep = getattr(estimator, "deep_", None)
    deep_logit = 0.0
    if deep is not None:
        deep_out = deep.forward(features)[0][0]
        deep_logit = float(deep_out if class_index is None else deep_out[class_index])
    contributions = []
    if wide is not None:
        for field in wide.field_sizes:
            x = features[field]
            if x.nnz == 0:
                continue
            ids, position = np.unique(x.feature_ids, return_inverse=True)
            values = np.bincount(position, weights=x.feature_values.astype(np.float64))
            weights = wide.params[field][ids][:, column] if class_index is not None \
                else wide.params[field][ids]
            weights = weights.astype(np.float64)
            tokens = _Tokens(spec, field, columns)
            for feature_id, value, weight in zip(ids.tolist(), values.tolist(),
                                                 weights.tolist()):
                if weight == 0.0:      # pruned by L1: contributes nothing, not a rule
                    continue
                contributions.append(Contribution(field, feature_id, tokens[feature_id],
                                                  value, weight, weight * value))
    contributions.sort(key=lambda c: -abs(c.contribution))
    bias = float(wide.params["bias"][0 if class_index is None else class_index]) \
        if wide is not None else 0.0
    if not np.isfinite(logit):
        parts = [f"{c.field}={c.token} ({c.contribution})" for c in contributions
                 if not np.isfinite(c.contribution)]
        parts += [f"bias ({bias})"] if not np.isfinite(bias) else []
        parts += [f"deep logit ({deep_logit})"] if not np.isfinite(deep_logit) else []
        raise ValueError(f"explain: the logit is {logit}, not finite; from "
                         f"{', '.join(parts) or 'rounding overflow'}; the model's non-finite "
                         f"parameters: {describe_non_finite(non_finite_parameters(estimator))}")
    return Explanation(logit, bias, deep_logit, contributions, class_index, prediction)


def strongest_rules(estimator, spec=None, top=20, field=None, class_index=None):
    """The ``top`` wide weights of largest magnitude (over all wide fields, or ``field``),
    as `WideRule` s sorted by decreasing ``|weight|``; zero weights are never listed.

    A multiclass model has one weight per class for each coordinate: ``class_index``
    (required there) says which class's weights are ranked."""
    estimator.check_is_fitted()
    wide = getattr(estimator, "wide_", None)
    if wide is None:
        raise ValueError(f"{type(estimator).__name__} has no wide part")
    n_classes = getattr(estimator.loss_, "n_classes", None) \
        if estimator.loss_.name == "multiclass" else None
    if n_classes is None and class_index is not None:
        raise ValueError(f"class_index is for multiclass models; this one is "
                         f"{estimator.loss_.name!r}")
    if n_classes is not None:
        if class_index is None:
            raise ValueError("a multiclass model has one weight per class: pass "
                             f"class_index (0 .. {n_classes - 1})")
        if isinstance(class_index, bool) or not 0 <= int(class_index) < n_classes \
                or int(class_index) != class_index:
            raise ValueError(f"class_index must be in 0 .. {n_classes - 1}, got "
                             f"{class_index!r}")
        class_index = int(class_index)
    fields = list(wide.field_sizes) if field is None else [field]
    for name in fields:
        if name not in wide.field_sizes:
            raise ValueError(f"{name!r} is not a wide field; wide fields: "
                             f"{list(wide.field_sizes)}")
    candidates = []
    for name in fields:
        weights = wide.params[name] if class_index is None \
            else wide.params[name][:, class_index]
        nonzero = np.flatnonzero(weights)
        if nonzero.size > top:
            keep = np.argpartition(-np.abs(weights[nonzero]), top - 1)[:top]
            nonzero = nonzero[keep]
        candidates += [(name, int(i), float(weights[i])) for i in nonzero]
    candidates.sort(key=lambda rule: (-abs(rule[2]), rule[0], rule[1]))
    rules, tokens = [], {}
    for name, feature_id, weight in candidates[:top]:
        if name not in tokens:
            tokens[name] = _Tokens(spec, name, None)
        rules.append(WideRule(name, feature_id, tokens[name][feature_id], weight))
    return rules


def sparsity_report(estimator):
    """Non-zero wide weights per field and in total (the bias is not counted)."""
    estimator.check_is_fitted()
    wide = getattr(estimator, "wide_", None)
    if wide is None:
        raise ValueError(f"{type(estimator).__name__} has no wide part")
    counts = wide.nonzero_counts()
    return SparsityReport({f: (counts[f], size) for f, size in wide.field_sizes.items()})


class _Tokens:
    """Token of a field's ids: the spec's vocabulary tokens, the component values of a
    cross (when the example's raw columns are known), else the id."""

    def __init__(self, spec, field, columns):
        self.vocabulary = None
        self.recorded = None
        self.cross = {}
        if spec is None:
            return
        cross_column = _crossed_column(spec, field)
        if cross_column is not None and columns is not None:
            self.cross = _cross_origins(spec, cross_column, columns)
        if cross_column is not None and hasattr(cross_column, "id_labels"):
            # the combination recorded while fitting (the spec's memory-bounded map)
            self.recorded = lambda feature_id: cross_column.id_labels([feature_id])[0]
        try:
            self.vocabulary = spec.vocabulary_tokens(field)
        except (ValueError, KeyError, RuntimeError):
            self.vocabulary = None

    def __getitem__(self, feature_id):
        if feature_id in self.cross:
            return " | ".join(self.cross[feature_id])
        if self.recorded is not None:
            label = self.recorded(feature_id)
            if label is not None:
                return label
        if self.vocabulary is not None and feature_id < len(self.vocabulary):
            return str(self.vocabulary[feature_id])
        return str(feature_id)


def _crossed_column(spec, field):
    for column in getattr(spec, "columns", []):
        if column.name == field and getattr(column, "components", None):
            return column
    return None


def _cross_origins(spec, column, columns):
    """``{cross id: ["a=x AND b=y", ...]}`` for the example's value combinations, using
    ``spec.describe_cross`` (ids in row-major order of the components' values)."""
    if not hasattr(spec, "describe_cross"):
        return {}
    values = {component.name: _raw_values(columns, component)
              for component in column.components}
    if any(not v for v in values.values()) \
            or np.prod([len(v) for v in values.values()]) > _MAX_CROSS_COMBINATIONS:
        return {}
    query = {name: (v if len(v) > 1 else v[0]) for name, v in values.items()}
    ids = spec.describe_cross(column.name, query)
    combinations = list(itertools.product(*values.values()))
    if len(ids) != len(combinations):
        return {}
    origins = {}
    for feature_id, combination in zip(ids, combinations):
        label = " AND ".join(f"{name}={value}" for name, value in zip(values, combination))
        origins.setdefault(int(feature_id), []).append(label)
    return origins


def _raw_values(columns, component):
    """The raw values of the one-row ``columns`` read by ``component`` (a list)."""
    raw = columns.get(component.source)
    if raw is None:
        return []
    if isinstance(raw, Ragged):
        return list(raw.to_lists()[0])
    item = np.asarray(raw, dtype=object)[0] if not isinstance(raw, list) else raw[0]
    if isinstance(item, (list, tuple, np.ndarray)):
        return list(item)
    separator = getattr(component, "separator", None)
    if isinstance(item, str) and separator:
        return [token for token in item.split(separator) if token]
    if item is None or (isinstance(item, str) and not item):
        return []
    return [item.item() if isinstance(item, np.generic) else item]

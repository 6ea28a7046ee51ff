"""``class_weight``: per-class weights folded into the sample weights of training.

``"balanced"`` gives class ``c`` the weight ``n / (K * n_c)`` (scikit-learn's rule: every
class then carries the same total weight), computed on the training labels; a dict
``{class: weight}`` gives its classes those weights and every other class 1. The weight of
example ``i`` becomes ``sample_weight_i * class_weight[y_i]``.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_class_weight", "class_weights_of", "apply_class_weight"]


def check_class_weight(class_weight, n_classes):
    """Validate ``class_weight`` for ``n_classes`` classes (None: a regression, where class
    weights make no sense); raise ``ValueError`` naming the parameter."""
    if class_weight is None:
        return
    if n_classes is None:
        raise ValueError("class_weight is for classification; this objective has no classes "
                         "(use sample_weight)")
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be 'balanced', a dict {{class: weight}} or "
                             f"None, got {class_weight!r}")
        return
    if not isinstance(class_weight, dict):
        raise ValueError(f"class_weight must be 'balanced', a dict {{class: weight}} or None, "
                         f"got {type(class_weight).__name__}")
    for label, weight in class_weight.items():
        if isinstance(label, bool) or not isinstance(label, numbers.Real) \
                or label != int(label) or not 0 <= int(label) < n_classes:
            raise ValueError(f"class_weight: class {label!r} is not one of 0 .. "
                             f"{n_classes - 1}")
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real) \
                or not np.isfinite(weight) or weight < 0:
            raise ValueError(f"class_weight[{label!r}] must be a finite number >= 0, got "
                             f"{weight!r}")


def class_weights_of(class_weight, y, n_classes):
    """The weight of each class, float64 [n_classes]; ``y`` the (training) labels."""
    if class_weight == "balanced":
        counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes)
        present = counts > 0
        weights = np.ones(n_classes)
        weights[present] = counts.sum() / (present.sum() * counts[present])
        return weights
    weights = np.ones(n_classes)
    for label, weight in class_weight.items():
        weights[int(label)] = float(weight)
    return weights


def apply_class_weight(weights, y, sample_weight, dtype):
    """``sample_weight * weights[y]`` as ``dtype`` (``sample_weight`` None: ones)."""
    per_example = weights[np.asarray(y, dtype=np.int64)]
    if sample_weight is not None:
        per_example = per_example * np.asarray(sample_weight, dtype=np.float64)
    return per_example.astype(dtype)

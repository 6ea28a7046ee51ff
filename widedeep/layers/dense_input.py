"""`DenseInputLayer`: concatenates the numeric (dense) fields of a feature dict.

    out = concat_f [x_f]       x_f: [n, width_f] (a 1-d array is read as [n, 1])

It checks every field's shape and that values are finite (NaN/inf name the field and row).
No parameters; its gradient w.r.t. inputs is not needed (raw features are not trained).
"""
from __future__ import annotations

import numpy as np

from .base import Layer

__all__ = ["DenseInputLayer"]


class DenseInputLayer(Layer):
    def __init__(self, field_widths, dtype=np.float32):
        super().__init__()
        self.field_widths = dict(field_widths)
        self.dtype = np.dtype(dtype)

    @property
    def output_dim(self):
        return sum(self.field_widths.values())

    def field_array(self, features, field, n_examples=None, finite=True):
        """The field as a validated [n, width] array of the layer's dtype (``finite=False``:
        every check but the values' finiteness)."""
        if field not in features:
            raise ValueError(f"missing dense field {field!r} (expected dense fields: "
                             f"{list(self.field_widths)})")
        value = features[field]
        if hasattr(value, "n_examples"):
            raise TypeError(f"dense field {field!r}: expected a numeric array, got "
                            f"{type(value).__name__}")
        try:
            arr = np.asarray(value, dtype=self.dtype)
        except (TypeError, ValueError):
            raise TypeError(f"dense field {field!r}: values are not numeric") from None
        if arr.ndim == 1:
            arr = arr[:, None]
        width = self.field_widths[field]
        if arr.ndim != 2 or arr.shape[1] != width:
            raise ValueError(f"dense field {field!r}: expected shape [n, {width}], got "
                             f"{np.shape(value)}")
        if n_examples is not None and arr.shape[0] != n_examples:
            raise ValueError(f"dense field {field!r}: has {arr.shape[0]} rows, expected "
                             f"{n_examples}")
        if finite and not np.all(np.isfinite(arr)):
            row, col = np.argwhere(~np.isfinite(arr))[0]
            raise ValueError(f"dense field {field!r}: non-finite value {arr[row, col]} at row "
                             f"{row}, column {col}")
        return arr

    def check_input(self, features, n_examples=None, finite=True):
        for field in self.field_widths:
            self.field_array(features, field, n_examples, finite)

    def forward(self, features, training=False, rng=None):
        arrays = [self.field_array(features, f) for f in self.field_widths]
        if not arrays:
            return None, None
        return (arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=1)), None

    def backward(self, grad_out, cache):
        return None, {}

    def __repr__(self):
        return f"DenseInputLayer({self.field_widths})"

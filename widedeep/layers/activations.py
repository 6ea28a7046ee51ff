"""Element-wise activations. Shapes: any; the output has the input's shape.

    ReLU:    y = max(x, 0),         dy/dx = 1[x > 0]
    Sigmoid: y = 1 / (1 + e^-x),    dy/dx = y (1 - y)
    Tanh:    y = tanh(x),           dy/dx = 1 - y^2
"""
from __future__ import annotations

import numpy as np

from ..losses import sigmoid
from .base import Layer

__all__ = ["ReLU", "Sigmoid", "Tanh", "ACTIVATIONS"]


class ReLU(Layer):
    def forward(self, x, training=False, rng=None):
        out = np.maximum(x, 0)
        return out, out

    def backward(self, grad_out, cache):
        return grad_out * (cache > 0), {}


class Sigmoid(Layer):
    def forward(self, x, training=False, rng=None):
        out = sigmoid(x)
        return out, out

    def backward(self, grad_out, cache):
        return grad_out * cache * (1 - cache), {}


class Tanh(Layer):
    def forward(self, x, training=False, rng=None):
        out = np.tanh(x)
        return out, out

    def backward(self, grad_out, cache):
        return grad_out * (1 - cache * cache), {}


ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}

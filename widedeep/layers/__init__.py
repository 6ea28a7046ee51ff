"""Layers: forward/backward with returned caches (stateless inference)."""
from .activations import ReLU, Sigmoid, Tanh
from .base import Layer, RowSparseGrad, sum_rows_by_id
from .batch_norm import BatchNorm
from .deep_network import DeepNetwork
from .dense import DenseLayer
from .dense_input import DenseInputLayer
from .dropout import Dropout
from .embedding import EmbeddingLayer
from .embedding_combine import EmbeddingCombineLayer
from .wide import WideLayer

__all__ = ["Layer", "RowSparseGrad", "sum_rows_by_id", "EmbeddingLayer",
           "EmbeddingCombineLayer", "DenseLayer", "DenseInputLayer", "ReLU", "Sigmoid", "Tanh",
           "Dropout", "BatchNorm", "WideLayer", "DeepNetwork"]

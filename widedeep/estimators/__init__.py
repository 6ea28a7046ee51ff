"""Estimators: Wide (FTRL logistic regression), Deep (AdaGrad DNN), Wide & Deep (joint)."""
from .base import BaseEstimator, NotFittedError
from .deep import DeepEstimator
from .wide import WideEstimator
from .wide_deep import WideDeepEstimator

__all__ = ["BaseEstimator", "NotFittedError", "WideEstimator", "DeepEstimator",
           "WideDeepEstimator"]

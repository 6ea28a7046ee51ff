"""Optimizers: hyper-parameters only; the state arrays belong to the caller.

- :class:`Adagrad` (``adagrad.py``): the deep part, dense and row-sparse updates.
- :class:`FtrlProximal` (``ftrl.py``): the wide part, per-coordinate FTRL-Proximal with L1/L2.
"""
from .adagrad import Adagrad
from .ftrl import FtrlProximal

__all__ = ["Adagrad", "FtrlProximal"]

"""Optimizers: hyper-parameters only; the state arrays belong to the caller.

- :class:`Adagrad` (``adagrad.py``): the deep part, dense and row-sparse updates.
- :class:`Adam` (``adam.py``): optional for the deep part, dense and lazy row-sparse updates.
- :class:`FtrlProximal` (``ftrl.py``): the wide part, per-coordinate FTRL-Proximal with L1/L2.
"""
from .adagrad import Adagrad
from .adam import Adam
from .ftrl import FtrlProximal

__all__ = ["Adagrad", "Adam", "FtrlProximal"]

"""widedeep: Wide & Deep learning (Cheng et al., 2016) in pure NumPy.

The wide part (`WideLayer`) is a sparse linear model over raw and crossed categorical
features, one FTRL-Proximal model per field; the deep part (`DeepNetwork`) pools shared
embedding tables and dense features through ReLU layers, trained with row-sparse AdaGrad;
`WideDeepEstimator` trains both jointly on one logistic loss.
"""
__version__ = "0.1.0"

from .estimators import DeepEstimator, NotFittedError, WideDeepEstimator, WideEstimator
from .inputs import SparseInput
from .optim import Adagrad, FtrlProximal

__all__ = ["SparseInput", "WideEstimator", "DeepEstimator", "WideDeepEstimator",
           "NotFittedError", "Adagrad", "FtrlProximal", "__version__"]

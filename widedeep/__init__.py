"""widedeep: Wide & Deep learning (Cheng et al., 2016) in pure NumPy."""
__version__ = "0.1.0"

from .inputs import SparseInput

__all__ = ["SparseInput", "__version__"]

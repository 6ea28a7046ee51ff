"""``python -m widedeep.server MODEL_BASE --port 8501``."""
import sys

from .main import main

if __name__ == "__main__":
    sys.exit(main())

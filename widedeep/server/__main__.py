"""``python -m widedeep.server MODEL_BASE --port 8501``."""
import sys

from .main import main

sys.exit(main())

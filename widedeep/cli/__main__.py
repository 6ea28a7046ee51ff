"""``python -m widedeep.cli``."""
import sys

from . import main

sys.exit(main())

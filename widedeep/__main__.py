"""``python -m widedeep``: the command line (`widedeep.cli`)."""
import sys

from .cli import main

sys.exit(main())

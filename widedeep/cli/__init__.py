"""The ``widedeep`` command line (also ``python -m widedeep``).

::

    widedeep train    --data train.csv --label y --columns columns.txt --valid valid.csv --model out/
    widedeep evaluate out/ --data test.csv
    widedeep predict  out/ --data new.csv --output scores.csv
    widedeep inspect  out/

A subcommand is one module of this package (a name not starting with ``_``) that defines
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int`` (the exit status);
`main` discovers them, so adding a subcommand is adding a file. Errors the user can fix
(bad lines, unknown columns, missing files) end the command with exit status 1 and one
line on stderr naming the file, the line and the column; usage errors exit with 2.
Progress goes to stderr through the ``"widedeep"`` logger (``--quiet`` silences it).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys

from .errors import CliError

__all__ = ["main", "subcommands", "CliError"]

logger = logging.getLogger("widedeep")


def subcommands():
    """``{name: module}`` of every subcommand module of this package, sorted by name."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "errors":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "run") and hasattr(module, "add_arguments"):
            found[info.name] = module
    return found


def build_parser():
    parser = argparse.ArgumentParser(
        prog="widedeep", description="Train, evaluate and serve Wide & Deep models on files.")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    parser.add_argument("--traceback", action="store_true",
                        help="show the Python traceback of an error (for bug reports)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for name, module in subcommands().items():
        sub = commands.add_parser(name, help=module.HELP, description=module.__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        # also accepted after the subcommand; SUPPRESS keeps a value given before it
        sub.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                         help="no progress messages")
        sub.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS,
                         help="show the Python traceback of an error")
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv=None):
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    if not args.quiet and not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print(f"widedeep {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:   # e.g. `widedeep predict ... | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (CliError, ValueError, TypeError, OSError, KeyError, RuntimeError) as error:
        if args.traceback:
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        if isinstance(error, OSError) and getattr(error, "filename", None) \
                and error.filename not in message:
            message = f"{error.filename}: {message}"
        print(f"widedeep {args.command}: error: {message}", file=sys.stderr)
        return 1

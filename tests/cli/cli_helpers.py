"""Running the command line in a subprocess, and finding the shared real datasets."""
import os
import subprocess
import sys
from pathlib import Path

from shared_data import dataset_folder  # noqa: F401  (re-exported for the CLI tests)

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args, cwd=None, check=True):
    """``python -m widedeep ARGS`` with this checkout on PYTHONPATH; the CompletedProcess."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep
               + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "widedeep", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=600)
    if check and done.returncode != 0:
        raise AssertionError(f"exit {done.returncode}\nstdout: {done.stdout[-2000:]}\n"
                             f"stderr: {done.stderr[-3000:]}")
    return done

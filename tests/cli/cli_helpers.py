"""Running the command line in a subprocess, and finding the shared real datasets."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def dataset_folder(name, required_files):
    """The folder of a shared dataset: ``$WIDEDEEP_DATA/<name>`` if it holds the files,
    else ``../shared/datasets/<name>`` next to the repository; skips the test (saying
    where it looked) when neither has them."""
    candidates = []
    if os.environ.get("WIDEDEEP_DATA"):
        candidates.append(Path(os.environ["WIDEDEEP_DATA"]).expanduser() / name)
    candidates.append(REPO_ROOT.parent / "shared" / "datasets" / name)
    for folder in candidates:
        if all((folder / f).is_file() for f in required_files):
            return folder
    pytest.skip(f"dataset {name!r} ({', '.join(required_files)}) not found in "
                f"{' or '.join(str(c) for c in candidates)}; set WIDEDEEP_DATA to the folder "
                f"holding {name}/")


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

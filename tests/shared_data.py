"""Where the real-data tests find the shared public datasets (importable from every test
folder: ``pythonpath = ["tests"]`` in pyproject.toml).

A dataset ``<name>`` is looked for in ``$WIDEDEEP_DATA/<name>`` first (when the variable
is set), then in ``../shared/datasets/<name>`` beside the repository. A test whose data
is in neither place is skipped, and the skip says where it looked and how to point it at
the data.
"""
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO_ROOT.parent / "shared" / "datasets"


def dataset_roots():
    """The folders that may hold the datasets, in the order they are searched."""
    roots = []
    if os.environ.get("WIDEDEEP_DATA"):
        roots.append(Path(os.environ["WIDEDEEP_DATA"]).expanduser())
    roots.append(SHARED_DATASETS)
    return roots


def find_dataset(name, required_files=()):
    """The folder of dataset ``name`` holding every file of ``required_files``, or None."""
    for root in dataset_roots():
        folder = root / name
        if folder.is_dir() and all((folder / f).is_file() for f in required_files):
            return folder
    return None


def dataset_folder(name, required_files=()):
    """`find_dataset`, skipping the calling test (saying why) when the data is absent."""
    folder = find_dataset(name, required_files)
    if folder is None:
        pytest.skip(_reason(name, required_files))
    return folder


def skip_unless_dataset(name, required_files=()):
    """A ``pytest.mark.skipif`` for a module or test that needs dataset ``name``."""
    return pytest.mark.skipif(find_dataset(name, required_files) is None,
                              reason=_reason(name, required_files))


def _reason(name, required_files):
    files = f" ({', '.join(required_files)})" if required_files else ""
    looked = " or ".join(str(root / name) for root in dataset_roots())
    return (f"dataset {name!r}{files} not found in {looked}; set WIDEDEEP_DATA to the "
            f"folder holding {name}/")

"""Where public datasets are looked for, and the error that says how to get them.

widedeep never downloads anything. A loader called with ``path=None`` looks in the user
cache folder ``$WIDEDEEP_DATA/<name>`` (when the ``WIDEDEEP_DATA`` environment variable
is set) or else ``~/.widedeep/data/<name>``.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_home", "find_dataset_folder"]


def data_home():
    """The cache root: ``$WIDEDEEP_DATA`` if set, else ``~/.widedeep/data``."""
    root = os.environ.get("WIDEDEEP_DATA")
    return Path(root).expanduser() if root else Path.home() / ".widedeep" / "data"


def find_dataset_folder(name, path, file_sets, how_to_get, subfolders=()):
    """The folder holding one complete set of files, and which set it is.

    ``file_sets`` lists alternatives (tuples of file names); the first complete one found
    wins. ``path=None`` means the cache folder ``data_home() / name``. ``subfolders`` are
    also searched inside the folder (e.g. ``ml-100k`` as unzipped from GroupLens).
    Raises ``FileNotFoundError`` naming the folders searched, the files needed and
    ``how_to_get``.
    """
    base = data_home() / name if path is None else Path(path).expanduser()
    candidates = [base] + [base / sub for sub in subfolders]
    for folder in candidates:
        for files in file_sets:
            if all((folder / f).is_file() for f in files):
                return folder, files
    needed = " or ".join("{" + ", ".join(files) + "}" for files in file_sets)
    searched = ", ".join(str(c) for c in candidates)
    hint = (f" Put them in {data_home() / name} (set WIDEDEEP_DATA to change the cache "
            f"root) or pass path=... ." if path is None else "")
    raise FileNotFoundError(f"{name}: files not found in {searched}. Needed: {needed}. "
                            f"{how_to_get}{hint} widedeep never downloads data.")

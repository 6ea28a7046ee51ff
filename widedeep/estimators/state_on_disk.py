"""`StateOnDisk`: a copy of a model's learned arrays kept in files, not in memory.

Early stopping must be able to go back to the best epoch's parameters. Keeping that copy in
memory doubles the model's footprint (tables and optimizer state twice); here each array of
`get_state` is written to its own ``.npy`` file (NumPy's format: a header with dtype and
shape, then the raw bytes; read back with ``allow_pickle=False``) in a private temporary
directory. Restoring memory-maps each file and copies it into the live array, one array at
a time, so neither saving nor restoring allocates a second copy of the model, and the
restored arrays are bit-identical to the saved ones.

>>> import numpy as np
>>> live = {"wide/x/w": np.arange(4.0)}
>>> with StateOnDisk() as store:
...     _ = store.save(live)
...     live["wide/x/w"][:] = -1.0
...     _ = store.restore(live)
>>> live["wide/x/w"].tolist()
[0.0, 1.0, 2.0, 3.0]
"""
from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np

__all__ = ["StateOnDisk"]


class StateOnDisk:
    """The last `save`\\ d ``{key: ndarray}`` state, in ``.npy`` files of a temporary
    directory created under ``directory`` (default: the system's temporary directory,
    ``TMPDIR``). `close` (or leaving the ``with`` block) deletes the files."""

    def __init__(self, directory=None):
        self.directory = directory
        self.path = None
        self.files = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def save(self, state):
        """Write every array of ``state`` (replacing the previous save); returns self."""
        if self.path is None:
            self.path = tempfile.mkdtemp(prefix="widedeep-state-", dir=self.directory)
        files = {}
        for number, (key, value) in enumerate(state.items()):
            filename = os.path.join(self.path, f"{number:05d}.npy")
            np.save(filename, np.asarray(value), allow_pickle=False)
            files[key] = filename
        self.files = files
        return self

    def restore(self, targets):
        """Copy the saved arrays into ``targets`` (``{key: ndarray}``, e.g. the model's
        `get_state()`) in place; keys, shapes and dtypes must match the save."""
        if set(targets) != set(self.files):
            raise ValueError(f"saved state does not match the model: missing "
                             f"{sorted(set(targets) - set(self.files))[:5]}, unexpected "
                             f"{sorted(set(self.files) - set(targets))[:5]}")
        saved = {}
        for key, target in targets.items():
            saved[key] = np.load(self.files[key], mmap_mode="r", allow_pickle=False) \
                if target.size else np.load(self.files[key], allow_pickle=False)
            if saved[key].shape != target.shape or saved[key].dtype != target.dtype:
                raise ValueError(f"saved state {key!r} is {saved[key].dtype}"
                                 f"{list(saved[key].shape)}, the model has {target.dtype}"
                                 f"{list(target.shape)}")
        for key, target in targets.items():
            target[...] = saved[key]
        return targets

    def close(self):
        """Delete the files (the store can be used again)."""
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
        self.path, self.files = None, {}

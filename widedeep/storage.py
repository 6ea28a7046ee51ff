"""Where the large arrays live: in memory, or in memory-mapped files (``storage="memmap"``).

The model's big arrays — the embedding tables, the wide part's weights and FTRL ``z`` /
``n``, and the optimizer accumulators of both — are created through an *allocator*,
``allocate(shape, dtype, fill=0) -> ndarray``, which the estimator passes down to the
layers and optimizers. Two allocators:

- `in_memory` (``storage="memory"``, the default): ``np.zeros`` / ``np.full``;
- `MemmapAllocator` (``storage="memmap"``, with a directory): each array is a shared
  memory map of its own scratch file in that directory, so tables larger than RAM work; the
  kernel keeps the pages in use in memory and writes the others back to the file.

A memory-mapped array is an ordinary ``ndarray`` (a view of the map), so training does the
same arithmetic in the same order on the same dtype: results are bit-identical to
in-memory storage. The scratch files are anonymous (`tempfile.TemporaryFile`: on POSIX
unlinked at creation), so they vanish with the arrays, even if the process is killed;
`widedeep.io.save_model` is what persists a model. Small arrays (dense layers, biases) stay
in memory.

Memory accounting: pages of a shared file mapping count in the resident set while they are
in memory but are not private data (``RLIMIT_DATA`` does not include them) and the kernel can
evict them at any time; a table of T bytes needs T bytes of free disk in the directory.

>>> import tempfile
>>> allocate = allocator("memmap", tempfile.gettempdir())
>>> table = allocate((1000, 8), np.float32, fill=0.1)
>>> table.shape, table.dtype.name, bool(table[999, 7] == np.float32(0.1))
((1000, 8), 'float32', True)
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

__all__ = ["STORAGES", "in_memory", "MemmapAllocator", "allocator", "check_storage"]

STORAGES = ("memory", "memmap")


def in_memory(shape, dtype, fill=0.0):
    """A new in-memory array of ``shape`` and ``dtype`` filled with ``fill``."""
    if fill == 0:
        return np.zeros(shape, dtype=dtype)
    return np.full(shape, fill, dtype=dtype)


class MemmapAllocator:
    """Arrays memory-mapped from anonymous scratch files in ``directory``."""

    def __init__(self, directory):
        self.directory = os.fspath(directory)

    def __call__(self, shape, dtype, fill=0.0):
        shape = tuple(int(k) for k in np.atleast_1d(shape)) if not isinstance(shape, tuple) \
            else shape
        if int(np.prod(shape)) == 0:   # a file cannot map 0 bytes
            return in_memory(shape, dtype, fill)
        try:
            handle = tempfile.TemporaryFile(prefix="widedeep-array-", dir=self.directory)
        except OSError as error:
            raise OSError(f"storage='memmap': cannot create a scratch file in "
                          f"{self.directory!r}: {error}") from None
        with handle:   # the map keeps the (unlinked) file alive after the handle closes
            mapped = np.memmap(handle, dtype=dtype, mode="w+", shape=shape)
        if fill != 0:    # the new file reads as zeros (sparse: no disk written yet)
            mapped[...] = fill
        # a plain ndarray view: arithmetic on it gives plain arrays, not memmap objects
        return np.asarray(mapped)

    def __repr__(self):
        return f"MemmapAllocator({self.directory!r})"


def check_storage(storage, storage_dir):
    """``ValueError`` naming the parameter unless ``storage`` is one of `STORAGES` and
    ``storage_dir`` an existing directory exactly when ``storage="memmap"``."""
    if storage not in STORAGES:
        raise ValueError(f"storage must be one of {STORAGES}, got {storage!r}")
    if storage == "memory":
        if storage_dir is not None:
            raise ValueError(f"storage_dir is used only with storage='memmap'; got "
                             f"storage_dir={storage_dir!r} with storage='memory'")
        return
    if storage_dir is None:
        raise ValueError("storage='memmap' needs storage_dir, the directory for the "
                         "memory-mapped scratch files (free disk >= the model's tables)")
    if not isinstance(storage_dir, (str, os.PathLike)) or not os.path.isdir(storage_dir):
        raise ValueError(f"storage_dir must be an existing directory, got {storage_dir!r}")


def allocator(storage="memory", storage_dir=None):
    """The allocator of a ``storage`` setting (checked by `check_storage`)."""
    check_storage(storage, storage_dir)
    return in_memory if storage == "memory" else MemmapAllocator(storage_dir)

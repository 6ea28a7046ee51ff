"""Save and load a trained estimator (and its feature spec) as one directory.

Layout of a model directory ``path``::

    path/manifest.json              the commit record (see below)
    path/snapshot-<32 hex>/
        arrays.npz                  every learned array, incl. optimizer state (no pickles)
        config.json                 estimator constructor parameters (``get_config()``)
        training_state.json         seed, epoch/step counters, dropout RNG state, history
        spec.json                   the `FeatureSpec` (only when one was saved)

``manifest.json`` holds the format name and version, the snapshot directory, the size and
SHA-256 of every file of the snapshot, and for every array its key (``get_state()`` path),
its member name inside the ``.npz``, its shape and dtype.

Atomicity: a save writes a new snapshot under a temporary name, flushes it to disk, renames
it, and then replaces ``manifest.json`` with ``os.replace`` (atomic on POSIX and Windows).
A crash at any moment leaves ``manifest.json`` pointing at a complete snapshot: the old one
until the replace, the new one after. Older snapshots are deleted once the new manifest is
in place. Two processes must not save into the same directory at once.

Loading never unpickles or imports anything: the estimator class, optimizers and dtype come
from explicit registries (`widedeep.io.config`), arrays are read with ``allow_pickle=False``,
and every mismatch (version, checksum, size, key, shape, dtype) is a ``ValueError`` naming
the file and the key.

Loading while another process saves: a reader gets the old model or the new one, never an
error. Every load reads one snapshot (model and spec from the same one, see
`load_model_and_spec`); if the snapshot is deleted under it by a save that committed
meanwhile (the manifest then names a newer one), it starts again on the new manifest, up to
``LOAD_ATTEMPTS`` times. An error met while the manifest stays the same is a real error and
is raised at once. Leftovers of a killed save (``.tmp-snapshot-*``, an uncommitted
``snapshot-*``) are deleted by the next save.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import secrets
import shutil
import time
import struct
import zipfile

import numpy as np

from .. import __version__
from .config import estimator_config, estimator_from_config, to_jsonable

__all__ = ["save_model", "load_model", "load_spec", "load_model_and_spec", "read_manifest",
           "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "widedeep.model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
REQUIRED_FILES = ("arrays.npz", "config.json", "training_state.json")
OPTIONAL_FILES = ("spec.json",)
SNAPSHOT_PATTERN = re.compile(r"^snapshot-[0-9a-f]{32}$")
LOAD_ATTEMPTS = 50
"""Times a load starts again when concurrent saves replace the snapshot under it."""
TRAINING_STATE_KEYS = {"seed": int, "epochs_trained": int, "steps_trained": int,
                       "dropout_rng": dict, "history": list}


# ---------------------------------------------------------------------- saving
def save_model(estimator, path, spec=None):
    """Save a fitted ``estimator`` (and optionally the `FeatureSpec` ``spec`` that produces
    its feature dicts) into the directory ``path``, atomically; returns ``path``.

    ``path`` is created if needed; an existing model directory is replaced (its previous
    contents stay loadable until the new save is complete). A non-empty directory that is
    not a model directory is refused rather than overwritten.
    """
    path = os.fspath(path)
    config = estimator_config(estimator)
    state = estimator.get_state()
    training_state = to_jsonable(estimator.get_training_state(), "training state")
    spec_text = None if spec is None else _spec_json(spec)
    _prepare_directory(path)

    snapshot = f"snapshot-{secrets.token_hex(16)}"
    staging = os.path.join(path, f".tmp-{snapshot}")
    final = os.path.join(path, snapshot)
    manifest_tmp = os.path.join(path, f".tmp-{snapshot}-{MANIFEST}")
    committed = False
    os.mkdir(staging)
    try:
        keys = sorted(state)
        members = {f"a{k:05d}": np.ascontiguousarray(state[key]) for k, key in enumerate(keys)}
        with open(os.path.join(staging, "arrays.npz"), "wb") as handle:
            np.savez(handle, **members)
            _flush(handle)
        texts = {"config.json": _dumps(config), "training_state.json": _dumps(training_state)}
        if spec_text is not None:
            texts["spec.json"] = spec_text
        for name, text in texts.items():
            _write_text(os.path.join(staging, name), text)
        files = {name: _file_record(os.path.join(staging, name))
                 for name in ["arrays.npz", *texts]}
        _fsync_directory(staging)
        os.rename(staging, final)
        manifest = {
            "format": FORMAT_NAME, "format_version": FORMAT_VERSION,
            "widedeep_version": __version__, "estimator_class": config["class"],
            "snapshot": snapshot, "files": files,
            "arrays": {key: {"member": member, "shape": list(members[member].shape),
                             "dtype": members[member].dtype.name}
                       for key, member in zip(keys, members)},
        }
        _write_text(manifest_tmp, _dumps(manifest))
        os.replace(manifest_tmp, os.path.join(path, MANIFEST))
        committed = True
        _fsync_directory(path)
    finally:
        if not committed:
            for leftover in (staging, final):
                shutil.rmtree(leftover, ignore_errors=True)
            if os.path.exists(manifest_tmp):
                os.remove(manifest_tmp)
    _remove_stale(path, keep=snapshot)
    return path


def _prepare_directory(path):
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{path}: exists and is not a directory; cannot save a model there")
    os.makedirs(path, exist_ok=True)
    entries = os.listdir(path)
    if entries and MANIFEST not in entries and not all(_is_ours(e) for e in entries):
        raise ValueError(f"{path}: is a non-empty directory without {MANIFEST} (not a "
                         f"widedeep model directory); refusing to overwrite it")


def _is_ours(entry):
    return entry.startswith(".tmp-snapshot-") or bool(SNAPSHOT_PATTERN.match(entry))


def _remove_stale(path, keep):
    """Delete older snapshots and leftovers of interrupted saves."""
    for entry in os.listdir(path):
        if entry != keep and _is_ours(entry):
            target = os.path.join(path, entry)
            if os.path.isdir(target):
                shutil.rmtree(target, ignore_errors=True)
            else:
                os.remove(target)


def _spec_json(spec):
    text = spec.to_json()
    if not isinstance(text, str):
        text = _dumps(text)
    try:
        json.loads(text)
    except ValueError as error:
        raise ValueError(f"spec.to_json() did not return valid JSON: {error}") from None
    return text


def _dumps(data):
    return json.dumps(data, indent=1)


def _write_text(filename, text):
    with open(filename, "w", encoding="utf-8") as handle:
        handle.write(text)
        _flush(handle)


def _flush(handle):
    handle.flush()
    os.fsync(handle.fileno())


def _fsync_directory(path):
    if os.name != "posix":   # directories cannot be opened for fsync elsewhere
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_record(filename):
    return {"bytes": os.path.getsize(filename), "sha256": _sha256(filename)}


def _sha256(filename):
    digest = hashlib.sha256()
    with open(filename, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------- loading
def read_manifest(path, verify=True):
    """The checked manifest of the model directory ``path`` (a dict).

    Checks the format name and version, the snapshot name, that every file exists and
    (``verify=True``) has the recorded size and SHA-256. Raises ``ValueError`` naming the
    file.
    """
    path = os.fspath(path)
    manifest_file = os.path.join(path, MANIFEST)
    if not os.path.isdir(path):
        raise ValueError(f"{path}: no such model directory")
    if not os.path.exists(manifest_file):
        raise ValueError(f"{path}: not a widedeep model directory ({MANIFEST} is missing)")
    manifest = _read_json(manifest_file)
    where = manifest_file
    if not isinstance(manifest, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(manifest).__name__}")
    _require_keys(manifest, ("format", "format_version", "snapshot", "files", "arrays"), where)
    if manifest["format"] != FORMAT_NAME:
        raise ValueError(f"{where}: key 'format' is {manifest['format']!r}, expected "
                         f"{FORMAT_NAME!r}")
    version = manifest["format_version"]
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise ValueError(f"{where}: key 'format_version' is {version!r}; this widedeep "
                         f"({__version__}) reads format version {FORMAT_VERSION}"
                         + (" (the model was saved by a newer widedeep)" if newer else ""))
    snapshot = manifest["snapshot"]
    if not isinstance(snapshot, str) or not SNAPSHOT_PATTERN.match(snapshot):
        raise ValueError(f"{where}: key 'snapshot' is {snapshot!r}, expected "
                         f"'snapshot-' and 32 hex digits")
    files = manifest["files"]
    if not isinstance(files, dict):
        raise ValueError(f"{where}: key 'files' must be an object")
    missing = [name for name in REQUIRED_FILES if name not in files]
    unknown = sorted(set(files) - set(REQUIRED_FILES) - set(OPTIONAL_FILES))
    if missing or unknown:
        raise ValueError(f"{where}: key 'files' lists {sorted(files)}; required "
                         f"{list(REQUIRED_FILES)}, optional {list(OPTIONAL_FILES)}")
    for name, record in files.items():
        filename = os.path.join(path, snapshot, name)
        if not isinstance(record, dict) or set(record) != {"bytes", "sha256"}:
            raise ValueError(f"{where}: files.{name} must be an object with 'bytes' and "
                             f"'sha256'")
        if not os.path.isfile(filename):
            raise ValueError(f"{filename}: missing (listed in {MANIFEST})")
        if not verify:
            continue
        size = os.path.getsize(filename)
        if size != record["bytes"]:
            raise ValueError(f"{filename}: {size} bytes, but {MANIFEST} recorded "
                             f"{record['bytes']}: the file was truncated or modified after "
                             f"saving")
        if _sha256(filename) != record["sha256"]:
            raise ValueError(f"{filename}: SHA-256 does not match {MANIFEST}: the file was "
                             f"modified or damaged after saving")
    _check_array_records(manifest["arrays"], where)
    return manifest


def _committed_snapshot(path):
    """The snapshot ``manifest.json`` names now, or None if it cannot be read."""
    try:
        with open(os.path.join(path, MANIFEST), encoding="utf-8") as handle:
            return json.load(handle).get("snapshot")
    except (OSError, ValueError, AttributeError):
        return None


def _read_consistently(path, read):
    """``read(manifest)`` on one committed snapshot; started again when a concurrent save
    replaced the snapshot while it was being read (see the module docstring)."""
    path = os.fspath(path)
    for attempt in range(LOAD_ATTEMPTS):
        before = _committed_snapshot(path)
        try:
            return read(path)
        except (OSError, ValueError) as error:
            after = _committed_snapshot(path)
            if after is None or after == before or attempt == LOAD_ATTEMPTS - 1:
                if isinstance(error, FileNotFoundError):
                    raise ValueError(f"{error.filename}: missing ({error.strerror})") \
                        from None
                raise
            time.sleep(0.001 * attempt)   # a save committed meanwhile: read the new one


def load_model(path, verify=True, mmap=False):
    """The estimator saved in ``path``, fitted and ready to predict.

    To continue training exactly where the saved run stopped (same shuffles, same dropout
    masks, bit-identical to never having stopped), call
    ``model.set_params(warm_start=True).fit(...)`` — without ``warm_start`` `fit` starts
    from fresh parameters, as for any estimator. ``verify=False`` skips the size and SHA-256
    checks of the files (keys, shapes, dtypes and contents are still checked), e.g. to load
    a model whose JSON was edited by hand.

    ``mmap=True`` (for serving): the parameter arrays are read-only memory maps of
    ``arrays.npz`` (stored uncompressed), bound to the model without a copy
    (`bind_state`), so several processes serving one model share one copy of its tables in
    the page cache; the model predicts but cannot be trained.

    Safe while another process saves into ``path``: the old model or the new one is
    returned (module docstring).
    """
    return _read_consistently(path, lambda p: _load_model(p, read_manifest(p, verify), mmap))


def load_model_and_spec(path, verify=True, mmap=False):
    """``(estimator, spec or None)`` from the same snapshot: unlike `load_model` then
    `load_spec`, a save committed between the two calls cannot pair one model's estimator
    with another's spec."""
    def read(p):
        manifest = read_manifest(p, verify)
        return _load_model(p, manifest, mmap), _load_spec(p, manifest)
    return _read_consistently(path, read)


def _load_model(path, manifest, mmap):
    snapshot = os.path.join(path, manifest["snapshot"])
    config_file = os.path.join(snapshot, "config.json")
    estimator = estimator_from_config(_read_json(config_file), config_file)
    if estimator.get_config()["class"] != manifest.get("estimator_class", "?"):
        raise ValueError(f"{config_file}: class {type(estimator).__name__} differs from "
                         f"{MANIFEST}'s estimator_class {manifest.get('estimator_class')!r}")
    _refuse_tables_larger_than_saved(estimator, manifest, path, config_file)
    try:
        _allocate(estimator)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{config_file}: the parameters do not build a model: {error}") \
            from None
    except MemoryError as error:
        # an edited config declaring huge tables: the arrays saved with it are far smaller
        # (tables allocated without a draw are untouched zero pages until set_state, and
        # the shape check below refuses them before any is written)
        saved = sum(int(np.prod(r["shape"], dtype=np.float64)) for r in
                    manifest["arrays"].values() if isinstance(r, dict) and "shape" in r)
        raise ValueError(f"{config_file}: the parameters declare a model too large to "
                         f"allocate ({error}), while the saved arrays hold {saved:,} "
                         f"values; the config does not belong to these arrays") from None
    expected = {key: (list(a.shape), a.dtype.name) for key, a in estimator.get_state().items()}
    records = manifest["arrays"]
    where = os.path.join(path, MANIFEST)
    missing, extra = sorted(set(expected) - set(records)), sorted(set(records) - set(expected))
    if missing or extra:
        raise ValueError(f"{where}: the arrays do not match the model of {config_file}: "
                         f"missing {missing[:5]}, unexpected {extra[:5]}")
    for key, (shape, dtype) in expected.items():
        record = records[key]
        if (record["shape"], record["dtype"]) != (shape, dtype):
            raise ValueError(f"{where}: array {key!r} is {record['dtype']}{record['shape']} but "
                             f"the model of {config_file} needs {dtype}{shape}")
    arrays_file = os.path.join(snapshot, "arrays.npz")
    if mmap:
        estimator.bind_state(_map_arrays(arrays_file, records))
    elif getattr(estimator, "storage", "memory") == "memmap":
        # copied from the file's pages into the model's memory-mapped arrays: no in-memory
        # copy of tables that may be larger than RAM
        estimator.set_state(_map_arrays(arrays_file, records))
    else:
        estimator.set_state(_read_arrays(arrays_file, records))
    training_file = os.path.join(snapshot, "training_state.json")
    _set_training_state(estimator, _read_json(training_file), training_file)
    return estimator


_DEFLATE_MAX_RATIO = 1100


def _refuse_tables_larger_than_saved(estimator, manifest, path, config_file):
    """A ``ValueError`` before any allocation when the config declares more parameters
    than the saved arrays hold values (every parameter is saved, so such a config cannot
    belong to them): an edited config.json of a few bytes must not allocate gigabytes.

    The count is a lower bound taken from the constructor's sizes alone: embedding tables
    (rows x dim), wide coordinates, and dense layers (dense input widths x first hidden
    width, then hidden x next hidden)."""
    params = estimator.get_params()
    declared = 0.0
    for rows, dim in (params.get("vocabularies") or {}).values():
        declared += float(rows) * float(dim)
    declared += float(sum((params.get("wide_fields") or {}).values()))
    widths = [float(sum((params.get("dense_fields") or {}).values()))] \
        + [float(h) for h in (params.get("hidden_units") or ())]
    declared += sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    records = manifest["arrays"].values()
    saved = sum(float(np.prod(record["shape"], dtype=np.float64)) for record in records)
    arrays_file = os.path.join(os.path.dirname(config_file), "arrays.npz")
    # the manifest's shapes are checked against the archive only when it is read; bound
    # them by the archive's size first (deflate expands at most ~1032x)
    archive_bound = _DEFLATE_MAX_RATIO * float(os.path.getsize(arrays_file)) + 2 ** 20
    if saved > archive_bound:
        raise ValueError(f"{os.path.join(path, MANIFEST)}: the array shapes "
                         f"declare {saved:,.0f} values, more than {arrays_file} "
                         f"({os.path.getsize(arrays_file):,} bytes) can hold")
    if declared > saved:
        raise ValueError(f"{config_file}: the parameters declare at least {declared:,.0f} "
                         f"parameters, but the saved arrays hold {saved:,.0f} values; the "
                         f"config does not belong to these arrays (edited or damaged)")


def _allocate(estimator):
    """Build the model's arrays, which `set_state` then overwrites. Uses the estimator's
    ``initialize(allocate_only=True)`` (no random draws: drawing a 10^6 x 32 truncated
    normal costs seconds) when it has one."""
    if "allocate_only" in inspect.signature(estimator.initialize).parameters:
        estimator.initialize(allocate_only=True)
    else:
        estimator.initialize()


def load_spec(path, verify=True):
    """The `FeatureSpec` saved with the model in ``path``, or None if none was saved
    (safe while another process saves, like `load_model`)."""
    return _read_consistently(path, lambda p: _load_spec(p, read_manifest(p, verify)))


def _load_spec(path, manifest):
    if "spec.json" not in manifest["files"]:
        return None
    from ..features import FeatureSpec   # a higher stage may import a lower one

    filename = os.path.join(path, manifest["snapshot"], "spec.json")
    try:
        with open(filename, encoding="utf-8") as handle:
            text = handle.read()
        return FeatureSpec.from_json(text)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{filename}: not a valid feature spec: {error}") from None


def _read_json(filename):
    try:
        with open(filename, encoding="utf-8") as handle:
            return json.load(handle)
    except UnicodeDecodeError as error:
        raise ValueError(f"{filename}: not UTF-8 text ({error})") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{filename}: invalid JSON at line {error.lineno} column "
                         f"{error.colno}: {error.msg}") from None


def _require_keys(data, keys, where):
    missing = [key for key in keys if key not in data]
    if missing:
        raise ValueError(f"{where}: missing key(s) {missing}")


def _check_array_records(records, where):
    if not isinstance(records, dict):
        raise ValueError(f"{where}: key 'arrays' must be an object")
    for key, record in records.items():
        if not (isinstance(record, dict) and set(record) == {"member", "shape", "dtype"}
                and isinstance(record["member"], str)
                and isinstance(record["shape"], list)
                and all(isinstance(s, int) and s >= 0 for s in record["shape"])
                and isinstance(record["dtype"], str)):
            raise ValueError(f"{where}: arrays.{key} must be an object with 'member' (str), "
                             f"'shape' (list of int >= 0) and 'dtype' (str), got {record!r}")


def _read_arrays(filename, records):
    arrays = {}
    try:
        with np.load(filename, allow_pickle=False) as archive:
            members = set(archive.files)
            for key, record in records.items():
                if record["member"] not in members:
                    raise ValueError(f"{filename}: member {record['member']!r} (array "
                                     f"{key!r}) is missing")
                value = archive[record["member"]]
                if list(value.shape) != record["shape"] or value.dtype.name != record["dtype"]:
                    raise ValueError(f"{filename}: array {key!r} is "
                                     f"{value.dtype.name}{list(value.shape)}, the manifest "
                                     f"says {record['dtype']}{record['shape']}")
                arrays[key] = value
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise ValueError(f"{filename}: damaged or truncated archive ({error})") from None
    except ValueError as error:
        if str(error).startswith(filename):
            raise
        # NumPy refuses object arrays without allow_pickle, or a damaged .npy header
        raise ValueError(f"{filename}: cannot read arrays ({error})") from None
    return arrays


def _map_arrays(filename, records):
    """``{key: read-only np.memmap}`` of the arrays inside the uncompressed ``.npz``: each
    member's data starts after its zip local header and its ``.npy`` header."""
    arrays = {}
    try:
        with zipfile.ZipFile(filename) as archive, open(filename, "rb") as handle:
            for key, record in records.items():
                info = archive.getinfo(record["member"] + ".npy")
                if info.compress_type != zipfile.ZIP_STORED:
                    raise ValueError(f"{filename}: member {record['member']!r} is compressed; "
                                     f"only stored members can be memory-mapped")
                handle.seek(info.header_offset + 26)
                name_length, extra_length = struct.unpack("<HH", handle.read(4))
                handle.seek(info.header_offset + 30 + name_length + extra_length)
                version = np.lib.format.read_magic(handle)
                shape, fortran, dtype = (np.lib.format.read_array_header_1_0(handle)
                                         if version == (1, 0) else
                                         np.lib.format.read_array_header_2_0(handle))
                if list(shape) != record["shape"] or dtype.name != record["dtype"] \
                        or dtype.hasobject:
                    raise ValueError(f"{filename}: array {key!r} is {dtype.name}{list(shape)}, "
                                     f"the manifest says {record['dtype']}{record['shape']}")
                if int(np.prod(shape)) == 0:
                    arrays[key] = np.zeros(shape, dtype=dtype)
                    continue
                mapped = np.memmap(filename, dtype=dtype, mode="r", offset=handle.tell(),
                                   shape=tuple(shape), order="F" if fortran else "C")
                # a plain ndarray view of the map: results of arithmetic on it are plain
                # arrays, not memmap objects (whose bookkeeping costs ~1 ms per request)
                arrays[key] = np.asarray(mapped)
    except (zipfile.BadZipFile, KeyError, EOFError, OSError, struct.error) as error:
        raise ValueError(f"{filename}: damaged or truncated archive ({error!r})") from None
    return arrays


def _set_training_state(estimator, state, where):
    if not isinstance(state, dict):
        raise ValueError(f"{where}: expected a JSON object")
    for key, kind in TRAINING_STATE_KEYS.items():
        if key not in state:
            raise ValueError(f"{where}: missing key {key!r}")
        if not isinstance(state[key], kind) or isinstance(state[key], bool):
            raise ValueError(f"{where}: key {key!r} must be a {kind.__name__}, got "
                             f"{type(state[key]).__name__}")
    try:
        estimator.set_training_state(state)
    except ValueError as error:
        if str(error).startswith("epoch_progress"):
            raise ValueError(f"{where}: {error}") from None
        raise ValueError(f"{where}: key 'dropout_rng' is not a valid generator state "
                         f"({error!r})") from None
    except (KeyError, TypeError) as error:
        raise ValueError(f"{where}: key 'dropout_rng' is not a valid generator state "
                         f"({error!r})") from None

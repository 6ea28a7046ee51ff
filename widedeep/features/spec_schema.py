"""Checking a serialized `FeatureSpec` (the dict of ``to_dict`` / the JSON of a saved
model) before anything is built from it.

Every key is checked: missing and unknown keys, value types, vocabulary tokens (distinct,
non-empty strings), bucket boundaries (finite, strictly increasing), moments (finite,
``std > 0``), references between columns and vocabularies, and that a spec marked fitted
(``n_rows_seen`` set) carries what every column learned. Errors are ``ValueError`` or
``TypeError`` naming the place, e.g. ``columns[0] ('color'): config key 'colour' is
unknown``.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Mapping

__all__ = ["check_spec_dict", "check_column_state", "config_keys"]

_TOP_REQUIRED = ("format", "version", "vocabularies", "columns")
_TOP_OPTIONAL = ("n_rows_seen",)
_VOCABULARY_REQUIRED = ("name", "given", "min_count", "max_size", "num_oov_buckets", "tokens")
_VOCABULARY_OPTIONAL = ("stats",)
_COLUMN_REQUIRED = ("type", "config")
_COLUMN_OPTIONAL = ("state",)
_STATE_KEYS = {"categorical": (), "hashed": (), "crossed": ("origins",),
               "bucketized": ("boundaries", "n_missing_at_fit"),
               "numeric": ("mean", "std", "boundaries", "n_missing_at_fit")}


def _keys(data, where, required, optional):
    if not isinstance(data, Mapping):
        raise TypeError(f"{where}: expected a JSON object, got {type(data).__name__}")
    missing = [key for key in required if key not in data]
    if missing:
        raise ValueError(f"{where}: missing key {missing[0]!r} (required keys: "
                         f"{list(required)})")
    unknown = sorted(str(key) for key in data if key not in required and key not in optional)
    if unknown:
        raise ValueError(f"{where}: key {unknown[0]!r} is unknown (allowed keys: "
                         f"{sorted(required + optional)})")


def _int(value, where, minimum, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{where} must be an integer{' or null' if allow_none else ''}, got "
                        f"{value!r}")
    if value < minimum:
        raise ValueError(f"{where} must be >= {minimum}, got {value}")


def _number(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        raise ValueError(f"{where} must be a finite number, got {value!r}")


def _boundaries(value, where):
    if value is None:
        return
    if not isinstance(value, list):
        raise TypeError(f"{where} must be a list of numbers or null, got "
                        f"{type(value).__name__}")
    for k, item in enumerate(value):
        _number(item, f"{where}[{k}]")
    for k in range(1, len(value)):
        if not value[k] > value[k - 1]:
            raise ValueError(f"{where} must be strictly increasing; item {k} ({value[k]!r}) "
                             f"follows {value[k - 1]!r}")


def _vocabulary(entry, where):
    _keys(entry, where, _VOCABULARY_REQUIRED, _VOCABULARY_OPTIONAL)
    name = entry["name"]
    if not isinstance(name, str) or not name:
        raise TypeError(f"{where}: key 'name' must be a non-empty string, got {name!r}")
    where = f"{where} ({name!r})"
    if not isinstance(entry["given"], bool):
        raise TypeError(f"{where}: key 'given' must be true or false, got {entry['given']!r}")
    _int(entry["min_count"], f"{where}: key 'min_count'", 1)
    _int(entry["max_size"], f"{where}: key 'max_size'", 0, allow_none=True)
    _int(entry["num_oov_buckets"], f"{where}: key 'num_oov_buckets'", 1)
    tokens = entry["tokens"]
    if tokens is None:
        if entry["given"]:
            raise ValueError(f"{where}: key 'tokens' is null but 'given' is true")
    elif not isinstance(tokens, list):
        raise TypeError(f"{where}: key 'tokens' must be a list of strings or null, got "
                        f"{type(tokens).__name__}")
    else:
        seen = set()
        for k, token in enumerate(tokens):
            if not isinstance(token, str) or not token:
                raise TypeError(f"{where}: tokens[{k}] must be a non-empty string, got "
                                f"{token!r}")
            if token in seen:
                raise ValueError(f"{where}: token {token!r} appears twice in 'tokens' "
                                 f"(again at tokens[{k}])")
            seen.add(token)
    stats = entry.get("stats")
    if stats is not None and not isinstance(stats, Mapping):
        raise TypeError(f"{where}: key 'stats' must be an object or null")


def config_keys(column_type):
    """``(required, optional)`` constructor keywords of a column class."""
    required, optional = [], []
    for name, parameter in inspect.signature(column_type.__init__).parameters.items():
        if name == "self" or parameter.kind in (parameter.VAR_POSITIONAL,
                                                parameter.VAR_KEYWORD):
            continue
        (required if parameter.default is parameter.empty else optional).append(name)
    return tuple(required), tuple(optional)


def check_column_state(type_name, state, where):
    """Check the learned state of one column (keys, numbers, boundaries)."""
    if state is None:
        return
    _keys(state, f"{where}: key 'state'", (), _STATE_KEYS[type_name])
    for key in ("mean", "std"):
        if state.get(key) is not None:
            _number(state[key], f"{where}: state key {key!r}")
    if (state.get("mean") is None) != (state.get("std") is None):
        raise ValueError(f"{where}: state keys 'mean' and 'std' must both be numbers or "
                         f"both null, got {state.get('mean')!r} and {state.get('std')!r}")
    if state.get("std") is not None and not state["std"] > 0:
        raise ValueError(f"{where}: state key 'std' must be > 0, got {state['std']!r}")
    _boundaries(state.get("boundaries"), f"{where}: state key 'boundaries'")
    n_missing = state.get("n_missing_at_fit", 0)
    if isinstance(n_missing, bool) or not isinstance(n_missing, int) or n_missing < 0:
        raise ValueError(f"{where}: state key 'n_missing_at_fit' must be an integer >= 0 "
                         f"(missing values counted while fitting), got {n_missing!r}")


def check_spec_dict(data, column_types, format_name, version):
    """Raise ``ValueError``/``TypeError`` naming the column and key for anything wrong in
    a serialized spec (see the module docstring); the column and vocabulary constructors
    then check the values they own."""
    if not isinstance(data, Mapping) or data.get("format") != format_name:
        raise ValueError(f"not a serialized FeatureSpec (expected format {format_name!r})")
    if data.get("version") != version:
        raise ValueError(f"unsupported FeatureSpec version {data.get('version')!r}; "
                         f"this widedeep reads version {version}")
    _keys(data, "spec", _TOP_REQUIRED, _TOP_OPTIONAL)
    _int(data.get("n_rows_seen"), "spec: key 'n_rows_seen'", 0, allow_none=True)
    for key in ("vocabularies", "columns"):
        if not isinstance(data[key], list):
            raise TypeError(f"spec: key {key!r} must be a list, got "
                            f"{type(data[key]).__name__}")
    names = set()
    for k, entry in enumerate(data["vocabularies"]):
        _vocabulary(entry, f"vocabularies[{k}]")
        if entry["name"] in names:
            raise ValueError(f"vocabularies[{k}]: two vocabularies are named "
                             f"{entry['name']!r}")
        names.add(entry["name"])
    for k, entry in enumerate(data["columns"]):
        where = f"columns[{k}]"
        _keys(entry, where, _COLUMN_REQUIRED, _COLUMN_OPTIONAL)
        config = entry["config"]
        if isinstance(config, Mapping) and isinstance(config.get("name"), str):
            where = f"{where} ({config['name']!r})"
        column_type = column_types.get(entry["type"]) if isinstance(entry["type"], str) \
            else None
        if column_type is None:
            raise ValueError(f"{where}: unknown column type {entry['type']!r} (key 'type'); "
                             f"known column types: {sorted(column_types)}")
        required, optional = config_keys(column_type)
        _keys(config, f"{where}: key 'config'", required, optional)
        if entry["type"] == "categorical":
            vocabulary = config.get("vocabulary")
            if not isinstance(vocabulary, str) or vocabulary not in names:
                raise ValueError(f"{where}: config key 'vocabulary' is {vocabulary!r}, not "
                                 f"the name of one of the spec's vocabularies "
                                 f"{sorted(names)}")
        check_column_state(entry["type"], entry.get("state"), where)

"""``--columns``: a `FeatureSpec` JSON file, a short column list, or ``auto``.

The short list has one entry per line (``#`` starts a comment) or comma-separated entries
on the command line::

    age                      kind inferred from the data (number or category)
    workclass:cat:embed=16   categorical, 16-d embedding
    C1:hash=100000           hashed into 100000 ids
    hours_per_week:num:norm=quantile
    education*occupation:hash=10000     crossed column (hash buckets, default 10000)

Options: ``cat``, ``num`` (the kind), ``embed=D``, ``hash=N``, ``norm=raw|standardize|
log1p|quantile``, ``buckets=N`` (numbers: quantile buckets of the wide part),
``min_count=K``, ``wide`` / ``deep`` (feed only that part). Columns inferred or marked
``num`` feed the deep part as normalized numbers and the wide part as quantile buckets;
categories feed the wide part and an embedding (see `widedeep.features.infer`). ``auto``
declares every column of the file except the label and the weight.
"""
from __future__ import annotations

import json
import os

from ..features import (BucketizedColumn, CategoricalColumn, CrossedColumn, FeatureSpec,
                        HashedColumn, NumericColumn)
from ..features.infer import infer_columns, is_numeric_column
from .errors import CliError

__all__ = ["read_columns_argument", "build_spec"]

_DEFAULTS = {"embed": 8, "buckets": 10, "norm": "standardize", "min_count": 1,
             "cross_hash": 10_000}


def read_columns_argument(text):
    """``("spec", FeatureSpec)``, ``("list", [entries])`` or ``("auto", None)``."""
    if text is None or text == "auto":
        return "auto", None
    if os.path.isfile(text):
        with open(text, encoding="utf-8") as handle:
            content = handle.read()
        stripped = content.lstrip()
        if stripped.startswith("{"):
            try:
                return "spec", FeatureSpec.from_json(content)
            except (ValueError, KeyError, TypeError) as error:
                raise CliError(f"{text}: not a valid FeatureSpec JSON: {error}") from None
        if stripped.startswith("["):
            try:
                entries = json.loads(content)
            except ValueError as error:
                raise CliError(f"{text}: invalid JSON list: {error}") from None
            return "list", [(text, k + 1, str(e)) for k, e in enumerate(entries)]
        entries = []
        for number, line in enumerate(content.splitlines(), start=1):
            line = line.split("#", 1)[0].strip()
            if line:
                entries += [(text, number, part.strip()) for part in line.split(",")
                            if part.strip()]
        return "list", entries
    return "list", [("--columns", 1, part.strip()) for part in text.split(",")
                    if part.strip()]


def build_spec(kind, value, sample, *, model, exclude, numeric_default=0.0):
    """The `FeatureSpec` (unfitted) and the raw columns to read as numbers.

    ``sample``: the first rows of the training file as text columns (for kind inference).
    """
    if kind == "spec":
        numeric = {c.source for c in value.columns
                   if isinstance(c, (NumericColumn, BucketizedColumn))}
        return value, numeric
    if kind == "auto":
        columns, numeric = infer_columns(sample, model=model, exclude=exclude,
                                         numeric_default=numeric_default,
                                         normalization="quantile")
        return FeatureSpec(columns), numeric
    wide, deep = model in ("wide", "wide_deep"), model in ("deep", "wide_deep")
    columns, numeric, crosses = {}, set(), []
    for where, line, entry in value:
        name, options = _parse_entry(entry, where, line)
        if "*" in name:
            crosses.append((name.split("*"), options, where, line))
            continue
        if name not in sample:
            raise CliError(f"{where}, line {line}: column {name!r} is not in the data; "
                           f"columns: {sorted(sample)[:30]}")
        only = {"wide", "deep"} & set(options)
        part_wide = wide and (not only or "wide" in only)
        part_deep = deep and (not only or "deep" in only)
        kind_of = options.get("kind") or ("num" if is_numeric_column(sample[name]) else "cat")
        if kind_of == "num":
            numeric.add(name)
            if part_deep:
                columns[name] = NumericColumn(name, normalization=options.get(
                    "norm", _DEFAULTS["norm"]), default=numeric_default)
            if part_wide or not part_deep:
                columns[f"{name}_bucket"] = BucketizedColumn(
                    f"{name}_bucket", source=name, default=numeric_default,
                    n_buckets=int(options.get("buckets", _DEFAULTS["buckets"])))
        elif "hash" in options:
            columns[name] = HashedColumn(name, int(options["hash"]), wide=part_wide,
                                         embedding_dim=int(options.get("embed", 8))
                                         if part_deep else None)
        else:
            columns[name] = CategoricalColumn(
                name, wide=part_wide, min_count=int(options.get("min_count", 1)),
                embedding_dim=int(options.get("embed", _DEFAULTS["embed"]))
                if part_deep else None)
    for components, options, where, line in crosses:
        names = []
        for component in components:
            if f"{component}_bucket" in columns:
                names.append(f"{component}_bucket")
            elif component in columns:
                names.append(component)
            elif component in sample:
                columns[component] = CategoricalColumn(component, wide=False)
                names.append(component)
            else:
                raise CliError(f"{where}, line {line}: cross component {component!r} is not "
                               f"a column of the data")
        columns["_x_".join(names)] = CrossedColumn(
            names, hash_buckets=int(options.get("hash", _DEFAULTS["cross_hash"])))
    if not columns:
        raise CliError("--columns declares no column")
    try:
        return FeatureSpec(list(columns.values())), numeric
    except (TypeError, ValueError) as error:
        raise CliError(f"--columns: {error}") from None


def _parse_entry(entry, where, line):
    parts = [p.strip() for p in entry.split(":")]
    name, options = parts[0], {}
    if not name:
        raise CliError(f"{where}, line {line}: empty column name in {entry!r}")
    for part in parts[1:]:
        if part in ("cat", "num"):
            options["kind"] = part
        elif part in ("wide", "deep"):
            options[part] = True
        elif "=" in part:
            key, _, val = part.partition("=")
            if key not in ("embed", "hash", "norm", "buckets", "min_count"):
                raise CliError(f"{where}, line {line}: unknown option {key!r} in {entry!r} "
                               f"(embed, hash, norm, buckets, min_count)")
            if key != "norm":
                try:
                    val = int(val)
                except ValueError:
                    raise CliError(f"{where}, line {line}: {key}= needs an integer, got "
                                   f"{val!r}") from None
            options[key] = val
        else:
            raise CliError(f"{where}, line {line}: cannot read {part!r} in {entry!r} "
                           f"(expected cat, num, wide, deep or key=value)")
    return name, options

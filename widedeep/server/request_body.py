"""The JSON bodies of ``:rank`` and ``:predict``, parsed into raw column batches.

``:rank``::

    {"query": {column: value, ...},                  one row: the user and context
     "candidates": {column: [v, ...]} | [{column: v}, ...],   N rows: the items
     "top_k": k, "explain": false,
     "target_class": c}                               multiclass models only: rank by P(c)

Every raw column of the model is given once, in the query (shared) or in the candidates;
a column in both, or in neither, is refused. ``:predict`` takes TensorFlow Serving's row
format ``{"instances": [{column: value}, ...]}`` or column format ``{"inputs": {column:
[...]}}``, every row holding every column.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from . import json_codec
from .errors import RequestError
from .json_columns import (check_column_names, columns_from_json,
                           query_columns_from_json)

__all__ = ["RankRequest", "parse_json", "parse_rank", "parse_predict"]


@dataclass(frozen=True)
class RankRequest:
    """``query``: a 1-row column batch; ``candidates``: an N-row one; ``top_k`` (None: all)."""
    query: dict
    candidates: dict
    n_candidates: int
    top_k: int | None
    explain: bool
    target_class: int | None = None


def parse_json(body):
    """The JSON object of a request body; 400 on bytes that are not a JSON object (the
    non-standard constants NaN and Infinity are refused too)."""
    try:
        data = json_codec.loads(body, _refuse_constant)   # orjson when installed, same results
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError, RecursionError) as error:
        raise RequestError(400, f"malformed JSON: {error}") from None
    if not isinstance(data, dict):
        raise RequestError(400, f"the body must be a JSON object, got {type(data).__name__}")
    return data


def _refuse_constant(name):
    raise ValueError(f"{name} is not valid JSON (use null for a missing value)")


def parse_rank(data, kinds, limits):
    """A `RankRequest` from the decoded body of ``:rank``."""
    _only_keys(data, ("query", "candidates", "top_k", "explain", "target_class"))
    for key in ("query", "candidates"):
        if key not in data:
            raise RequestError(400, f"missing key {key!r}: a :rank body is {{\"query\": {{...}}, "
                                    f"\"candidates\": ...}}", key)
    query = data["query"]
    if not isinstance(query, Mapping):
        raise RequestError(400, "query: expected an object {column: value}", "query")
    query_columns = query_columns_from_json(query, kinds, "query", limits)
    candidates, n = columns_from_json(data["candidates"], kinds, "candidates", limits,
                                      limits.max_candidates, "max_candidates")
    if n == 0:
        raise RequestError(400, "candidates: the candidate list is empty", "candidates")
    both = [name for name in candidates if name in query_columns]
    if both:
        raise RequestError(400, f"column {both[0]!r} is in both the query and the "
                                f"candidates; give it once", f"candidates.{both[0]}")
    check_column_names({**query_columns, **candidates}, kinds, "request")
    top_k = data.get("top_k")
    if top_k is not None and (type(top_k) is not int or not 1 <= top_k <= limits.max_top_k):
        raise RequestError(400, f"top_k: expected an integer in [1, {limits.max_top_k}] "
                                f"(max_top_k), got {top_k!r}", "top_k")
    explain = data.get("explain", False)
    if type(explain) is not bool:
        raise RequestError(400, f"explain: expected true or false, got {explain!r}", "explain")
    target_class = data.get("target_class")
    if target_class is not None and (type(target_class) is not int or target_class < 0):
        raise RequestError(400, f"target_class: expected a class index >= 0, got "
                                f"{target_class!r}", "target_class")
    return RankRequest(query_columns, candidates, n, top_k, explain, target_class)


def parse_predict(data, kinds, limits):
    """``(columns, n_rows)`` from the decoded body of ``:predict``."""
    _only_keys(data, ("instances", "inputs", "signature_name"))
    if ("instances" in data) == ("inputs" in data):
        raise RequestError(400, "give exactly one of 'instances' (a list of rows) or 'inputs' "
                                "(an object of columns)", "instances")
    key = "instances" if "instances" in data else "inputs"
    payload = data[key]
    if key == "instances" and not isinstance(payload, list):
        raise RequestError(400, "instances: expected a list of rows", "instances")
    if key == "inputs" and not isinstance(payload, Mapping):
        raise RequestError(400, "inputs: expected an object {column: [values]}", "inputs")
    columns, n = columns_from_json(payload, kinds, key, limits, limits.max_instances,
                                   "max_instances")
    if n == 0:
        raise RequestError(400, f"{key}: no rows to predict", key)
    check_column_names(columns, kinds, key)
    return columns, n


def _only_keys(data, allowed):
    extra = [key for key in data if key not in allowed]
    if extra:
        raise RequestError(400, f"unknown key {extra[0]!r}; expected {list(allowed)}", extra[0])

"""A query object's cells become the same 1-row columns, and the same errors, through the
query path (`query_columns_from_json`) as through the general one (`columns_from_json` of
``{name: [cell]}``)."""
import numpy as np
import pytest

from widedeep.records import Ragged
from widedeep.server.errors import RequestError
from widedeep.server.json_columns import columns_from_json, query_columns_from_json
from widedeep.server.limits import ServerLimits

KINDS = {"user": "category", "apps": "category", "age": "number", "income": "number",
         "city": "category"}
LIMITS = ServerLimits(max_string_length=8, max_bag_length=3)


def general(query):
    return columns_from_json({name: [cell] for name, cell in query.items()}, KINDS, "query",
                             LIMITS, 1, "one query row")[0]


@pytest.mark.parametrize("query", [
    {"user": "u17", "apps": ["a", "b"], "age": 31, "income": 52000.5, "city": 7},
    {"user": "ü-名前", "age": 2 ** 62, "income": -0.0, "city": None, "apps": []},
    {"user": "", "age": None, "income": 1e308, "apps": "solo", "city": "x" * 8},
])
def test_query_cells_give_the_general_paths_arrays(query):
    fast, slow = query_columns_from_json(query, KINDS, "query", LIMITS), general(query)
    assert list(fast) == list(slow)
    for name in slow:
        if isinstance(slow[name], Ragged):
            assert isinstance(fast[name], Ragged)
            np.testing.assert_array_equal(fast[name].values, slow[name].values)
            np.testing.assert_array_equal(fast[name].lengths, slow[name].lengths)
        else:
            assert fast[name].dtype == slow[name].dtype and fast[name].shape == (1,)
            np.testing.assert_array_equal(fast[name], slow[name])


@pytest.mark.parametrize("query", [
    {"user": "x" * 9},            # over max_string_length
    {"age": "31"},                # a string where a number is expected
    {"age": True},                # a boolean is not a number
    {"age": 10 ** 400},           # beyond float64
    {"apps": ["a"] * 4},          # bag over max_bag_length
    {"user": {"id": 1}},          # an object as a category
    {"color": "red", "age": "x"},  # an unknown column is named before a bad cell
])
def test_query_cells_give_the_general_paths_errors(query):
    with pytest.raises(RequestError) as fast:
        query_columns_from_json(query, KINDS, "query", LIMITS)
    with pytest.raises(RequestError) as slow:
        general(query)
    assert (fast.value.status, fast.value.field, fast.value.message) == \
        (slow.value.status, slow.value.field, slow.value.message)

"""`validate_fields` accepts exactly what field-by-field `SparseInput.validate` accepts and
raises the same errors, naming the field."""
import numpy as np
import pytest

from widedeep import SparseInput
from widedeep.input_checks import validate_fields


def fields(n=50, seed=0):
    rng = np.random.default_rng(seed)
    inputs = [SparseInput.from_ids(rng.integers(0, size, n)) for size in (5, 300, 7)]
    return inputs, [5, 300, 7], ["a", "b", "c"]


def per_field_error(inputs, sizes, names):
    for x, size, name in zip(inputs, sizes, names):
        try:
            x.validate(size, field=name)
        except ValueError as error:
            return str(error)
    return None


def test_valid_one_hot_fields_pass():
    validate_fields(*fields())


@pytest.mark.parametrize("field,position,value", [(1, 10, 300), (2, 0, -1), (0, 49, 5)])
def test_an_id_out_of_range_raises_the_fields_own_error(field, position, value):
    inputs, sizes, names = fields()
    ids = inputs[field].feature_ids.copy()
    ids[position] = value
    inputs[field] = SparseInput.from_ids(ids, field=names[field]) if value >= 0 else \
        SparseInput(np.arange(50), ids, n_examples=50, validate=False)
    expected = per_field_error(inputs, sizes, names)
    assert expected is not None and repr(names[field]) in expected
    with pytest.raises(ValueError) as raised:
        validate_fields(inputs, sizes, names)
    assert str(raised.value) == expected


def test_a_non_finite_value_raises_the_fields_own_error():
    inputs, sizes, names = fields()
    values = np.ones(50, dtype=np.float32)
    values[7] = np.nan
    inputs[1] = SparseInput(np.arange(50), inputs[1].feature_ids, values, n_examples=50,
                            validate=False)
    with pytest.raises(ValueError, match="'b'.*non-finite"):
        validate_fields(inputs, sizes, names)


def test_unsorted_bags_are_checked_field_by_field():
    inputs, sizes, names = fields()
    inputs[0] = SparseInput(np.array([1, 0]), np.array([0, 1]), n_examples=50,
                            validate=False)
    with pytest.raises(ValueError, match="'a'.*sorted"):
        validate_fields(inputs, sizes, names)


def concatenations(inputs):
    ids = np.concatenate([x.feature_ids for x in inputs]).astype(np.int64)
    return ids.reshape(len(inputs), -1), np.concatenate([x.feature_values for x in inputs])


@pytest.mark.parametrize("field,position,value", [(1, 10, 300), (2, 0, -1), (0, 49, 5)])
def test_given_concatenations_raise_the_fields_own_error(field, position, value):
    # a one-gather caller hands in the ids [k, n] and values it concatenated for itself
    inputs, sizes, names = fields()
    ids = inputs[field].feature_ids.copy()
    ids[position] = value
    inputs[field] = SparseInput(np.arange(50), ids, n_examples=50, validate=False)
    expected = per_field_error(inputs, sizes, names)
    with pytest.raises(ValueError) as raised:
        validate_fields(inputs, sizes, names, *concatenations(inputs))
    assert str(raised.value) == expected


def test_given_concatenations_of_valid_fields_pass_and_catch_a_nan():
    inputs, sizes, names = fields()
    validate_fields(inputs, sizes, names, *concatenations(inputs))
    values = np.ones(50, dtype=np.float32)
    values[3] = np.inf
    inputs[2] = SparseInput(np.arange(50), inputs[2].feature_ids, values, n_examples=50,
                            validate=False)
    with pytest.raises(ValueError, match="'c'.*non-finite"):
        validate_fields(inputs, sizes, names, *concatenations(inputs))


@pytest.mark.parametrize("bad", ["a", "bag", "c"])
def test_one_hot_fields_next_to_a_bag_raise_the_first_failing_fields_error(bad):
    inputs, sizes, names = fields()
    bag = SparseInput.from_lists([[0, 1]] * 25 + [[2]] * 25, field="bag")
    inputs, sizes, names = inputs[:1] + [bag] + inputs[2:], [5, 3, 7], ["a", "bag", "c"]
    validate_fields(inputs, sizes, names)   # all valid: passes
    k = names.index(bad)
    x = inputs[k]
    ids = x.feature_ids.copy()
    ids[-1] = sizes[k]   # one past the end
    inputs[k] = SparseInput(x.example_indices, ids, n_examples=50, validate=False)
    expected = per_field_error(inputs, sizes, names)
    assert repr(bad) in expected
    with pytest.raises(ValueError) as raised:
        validate_fields(inputs, sizes, names)
    assert str(raised.value) == expected

"""libsvm/libfm files whose fields are known id ranges (Frappe, MovieLens-tag layout)
become one field per range; -1/1 labels map to 0/1 when asked."""
import numpy as np
import pytest

from widedeep.readers import BadLineError, LibffmReader, LibsvmReader


def _write(tmp_path, text, name="data.libfm"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_field_ranges_split_ids_into_local_per_field_ids(tmp_path):
    # user ids 0-2, item ids 3-7, context 8-9: one active id per field, as in Frappe
    path = _write(tmp_path, "1 0:1 4:1 9:1\n-1 2:1 3:1 8:1\n1 1:1 7:1 8:1\n")
    reader = LibsvmReader(path, field_ranges={"user": 3, "item": 5, "context": 2},
                          binary_labels=True)
    features, labels = reader.read()
    assert labels.tolist() == [1.0, 0.0, 1.0]
    assert list(features) == ["user", "item", "context"]
    assert features["user"].feature_ids.tolist() == [0, 2, 1]
    assert features["item"].feature_ids.tolist() == [1, 0, 4]          # 4-3, 3-3, 7-3
    assert features["context"].feature_ids.tolist() == [1, 0, 0]       # 9-8, 8-8, 8-8
    for field in features.values():
        assert field.example_indices.tolist() == [0, 1, 2]


def test_explicit_ranges_may_leave_gaps_and_come_in_any_order(tmp_path):
    path = _write(tmp_path, "0 10:1 2:0.5\n")
    features, _ = LibsvmReader(path, field_ranges={"b": (10, 20), "a": (0, 5)}).read()
    assert list(features) == ["a", "b"]                     # ordered by start
    assert features["a"].feature_ids.tolist() == [2]
    assert features["a"].feature_values.tolist() == [0.5]
    assert features["b"].feature_ids.tolist() == [0]


def test_rows_missing_a_field_get_an_empty_bag(tmp_path):
    path = _write(tmp_path, "1 0:1\n0 0:1 5:1\n")
    features, _ = LibsvmReader(path, field_ranges={"user": 3, "item": 5}).read()
    assert features["item"].example_indices.tolist() == [1]
    assert features["item"].n_examples == 2


def test_id_outside_every_range_is_a_bad_line_naming_line_and_token(tmp_path):
    path = _write(tmp_path, "1 0:1 4:1\n1 1:1 99:1\n")
    with pytest.raises(BadLineError, match=r"line 2, field 3: token '99:1': id 99 is in no "
                                           r"field range"):
        LibsvmReader(path, field_ranges={"user": 3, "item": 5}).read()
    reader = LibsvmReader(path, field_ranges={"user": 3, "item": 5}, skip_bad_lines=True)
    features, labels = reader.read()
    assert labels.shape == (1,) and reader.n_bad_lines == 1


def test_binary_labels_refuse_other_values(tmp_path):
    path = _write(tmp_path, "1 0:1\n2 1:1\n")
    with pytest.raises(BadLineError, match=r"line 2, field 1: label '2' is not -1, 0 or 1"):
        LibsvmReader(path, binary_labels=True).read()
    assert LibsvmReader(path).read()[1].tolist() == [1.0, 2.0]       # as written otherwise


def test_libffm_binary_labels(tmp_path):
    path = _write(tmp_path, "-1 0:1:1\n1 0:2:1\n", "data.ffm")
    _, labels = LibffmReader(path, binary_labels=True).read()
    assert labels.tolist() == [0.0, 1.0]


@pytest.mark.parametrize("ranges, message", [
    ({"a": (0, 5), "b": (3, 8)}, "overlap"),
    ({"a": (4, 4)}, "empty"),
    ({}, "non-empty"),
    ({"a": "x"}, "start, stop"),
])
def test_bad_field_ranges_are_refused(tmp_path, ranges, message):
    path = _write(tmp_path, "1 0:1\n")
    with pytest.raises((TypeError, ValueError), match=message):
        LibsvmReader(path, field_ranges=ranges)


def test_field_ranges_equal_a_reference_split_on_random_data(tmp_path):
    rng = np.random.default_rng(0)
    sizes = {"u": 7, "i": 11, "c": 3}
    starts = np.cumsum([0] + list(sizes.values()))[:-1]
    rows = [[int(starts[k] + rng.integers(size)) for k, size in enumerate(sizes.values())]
            for _ in range(200)]
    path = _write(tmp_path, "".join("1 " + " ".join(f"{i}:1" for i in r) + "\n"
                                    for r in rows))
    features, _ = LibsvmReader(path, batch_size=64, field_ranges=sizes).read()
    for k, name in enumerate(sizes):
        assert features[name].feature_ids.tolist() == [r[k] - starts[k] for r in rows]

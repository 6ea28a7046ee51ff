import numpy as np
import pytest

from widedeep.inputs import SparseInput
from widedeep.readers import BadLineError, LibffmReader, LibsvmReader


def write(tmp_path, text, name="data.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_libsvm_ids_values_labels_and_empty_rows(tmp_path):
    path = write(tmp_path, "1 3:1 5:0.5\n0\n-1 2:2.5  # a comment\n\n1 7:1\n")
    batches = list(LibsvmReader(path, batch_size=2))
    assert len(batches) == 2
    features, labels = batches[0]
    x = features["features"]
    assert isinstance(x, SparseInput) and x.n_examples == 2
    assert x.to_lists() == [[3, 5], []]
    np.testing.assert_array_equal(x.feature_values, [1.0, 0.5])
    np.testing.assert_array_equal(labels, [1.0, 0.0])
    features, labels = batches[1]
    assert features["features"].to_lists() == [[2], [7]]
    np.testing.assert_array_equal(features["features"].feature_values, [2.5, 1.0])
    np.testing.assert_array_equal(labels, [-1.0, 1.0])


def test_libsvm_one_based_shift_and_field_name(tmp_path):
    path = write(tmp_path, "1 1:1 4:2\n")
    (features, _), = LibsvmReader(path, zero_based=False, field="x")
    assert features["x"].to_lists() == [[0, 3]]


def test_libsvm_bad_token_names_file_line_and_token(tmp_path):
    path = write(tmp_path, "1 3:1\n0 4:x\n")
    with pytest.raises(ValueError) as error:
        list(LibsvmReader(path))
    assert str(error.value) == (f"{path}, line 2, field 2: token '4:x': cannot parse "
                                f"value 'x' as a number")


@pytest.mark.parametrize("line, reason", [
    ("x 1:1", "cannot parse label 'x'"),
    ("1 1", "expected id:value"),
    ("1 1:2:3", "expected id:value"),
    ("1 -1:1", "id -1 is negative"),
    ("1 9:1", "out of range for n_features=5"),
    ("1 1:inf", "non-finite value"),
])
def test_libsvm_malformed_lines(tmp_path, line, reason):
    path = write(tmp_path, "0 0:1\n" + line + "\n")
    with pytest.raises(BadLineError, match="line 2") as error:
        list(LibsvmReader(path, n_features=5))
    assert reason in str(error.value)


def test_libsvm_skip_bad_lines_counts_and_keeps_batches_full(tmp_path):
    path = write(tmp_path, "1 0:1\n0 x:1\n1 1:1\n0 2:1\n1 3\n0 4:1\n")
    reader = LibsvmReader(path, batch_size=2, skip_bad_lines=True)
    batches = list(reader)
    assert [f["features"].to_lists() for f, _ in batches] == [[[0], [1]], [[2], [4]]]
    assert reader.n_bad_lines == 2
    assert [b.line for b in reader.bad_lines] == [2, 5]


def test_libsvm_shuffle_is_reproducible(tmp_path):
    path = write(tmp_path, "".join(f"{i % 2} {i}:1\n" for i in range(100)))

    def ids(reader):
        return [i for f, _ in reader for bag in f["features"].to_lists() for i in bag]

    first = ids(LibsvmReader(path, batch_size=8, shuffle_buffer=20, random_state=1))
    assert first == ids(LibsvmReader(path, batch_size=8, shuffle_buffer=20, random_state=1))
    assert sorted(first) == list(range(100)) and first != list(range(100))


def test_libffm_one_sparse_input_per_field(tmp_path):
    path = write(tmp_path, "1 0:3:1 1:5:0.5\n0 1:1:1\n1 2:4:1 0:9:2\n")
    (features, labels), = LibffmReader(path, batch_size=10)
    assert list(features) == ["f0", "f1", "f2"]
    assert features["f0"].to_lists() == [[3], [], [9]]
    assert features["f1"].to_lists() == [[5], [1], []]
    assert features["f2"].to_lists() == [[], [], [4]]
    np.testing.assert_array_equal(features["f0"].feature_values, [1.0, 2.0])
    np.testing.assert_array_equal(features["f1"].feature_values, [0.5, 1.0])
    np.testing.assert_array_equal(labels, [1.0, 0.0, 1.0])


def test_libffm_user_field_names_and_unknown_field(tmp_path):
    path = write(tmp_path, "1 0:3:1 1:5:1\n0 2:1:1\n")
    reader = LibffmReader(path, field_names=["user", "item"])
    with pytest.raises(BadLineError, match=r"line 2, field 2: token '2:1:1': field 2 has no"):
        list(reader)
    reader = LibffmReader(path, field_names={0: "user", 1: "item"}, skip_bad_lines=True)
    (features, labels), = reader
    assert features["user"].to_lists() == [[3]] and features["item"].to_lists() == [[5]]
    assert reader.n_bad_lines == 1


def test_libffm_malformed_token(tmp_path):
    path = write(tmp_path, "1 0:3\n")
    with pytest.raises(BadLineError, match="expected field:id:value"):
        list(LibffmReader(path, n_fields=1))


def test_read_concatenates_all_batches(tmp_path):
    path = write(tmp_path, "1 0:1\n0\n1 2:1 3:1\n")
    features, labels = LibsvmReader(path, batch_size=2).read()
    assert features["features"].to_lists() == [[0], [], [2, 3]]
    assert labels.tolist() == [1.0, 0.0, 1.0]
    empty = write(tmp_path, "\n", name="empty.txt")
    features, labels = LibffmReader(empty, n_fields=2).read()
    assert list(features) == ["f0", "f1"] and features["f1"].n_examples == 0
    assert labels.shape == (0,)

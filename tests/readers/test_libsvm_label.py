"""``label=False``: libsvm/libffm lines without a label yield the features alone."""
import numpy as np
import pytest

from widedeep.readers import BadLineError, LibffmReader, LibsvmReader


def write(tmp_path, text, name="data.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_libsvm_without_labels_reads_every_token_as_a_feature(tmp_path):
    path = write(tmp_path, "3:1 5:0.5\n\n2:2.5  # comment\n7:1\n")
    batches = list(LibsvmReader(path, batch_size=2, label=False))
    assert [type(b) for b in batches] == [dict, dict]
    assert batches[0]["features"].to_lists() == [[3, 5], [2]]
    assert batches[1]["features"].to_lists() == [[7]]
    np.testing.assert_array_equal(batches[0]["features"].feature_values, [1.0, 0.5, 2.5])


def test_labelled_and_unlabelled_files_give_the_same_features(tmp_path):
    labelled = write(tmp_path, "1 0:1 4:2\n0 1:1\n1 2:3 3:1\n", "a.svm")
    bare = write(tmp_path, "0:1 4:2\n1:1\n2:3 3:1\n", "b.svm")
    features, labels = LibsvmReader(labelled).read()
    alone = LibsvmReader(bare, label=False).read()
    assert alone["features"].to_lists() == features["features"].to_lists() == \
        [[0, 4], [1], [2, 3]]
    np.testing.assert_array_equal(alone["features"].feature_values,
                                  features["features"].feature_values)
    np.testing.assert_array_equal(labels, [1.0, 0.0, 1.0])


def test_libffm_without_labels_discovers_fields_from_the_first_token(tmp_path):
    path = write(tmp_path, "0:3:1 2:5:1\n1:4:1\n")
    reader = LibffmReader(path, label=False)
    assert reader.field_names == {0: "f0", 1: "f1", 2: "f2"}
    features = reader.read()
    assert features["f0"].to_lists() == [[3], []]
    assert features["f1"].to_lists() == [[], [4]]
    assert features["f2"].to_lists() == [[5], []]


def test_bad_token_position_counts_from_the_first_token_without_labels(tmp_path):
    path = write(tmp_path, "3:1\n4:x 5:1\n")
    with pytest.raises(BadLineError) as error:
        list(LibsvmReader(path, label=False))
    assert str(error.value).startswith(f"{path}, line 2, field 1: token '4:x'")


def test_a_label_token_in_an_unlabelled_file_is_a_bad_line(tmp_path):
    path = write(tmp_path, "1 3:1\n")
    with pytest.raises(BadLineError, match="line 1, field 1: token '1'"):
        list(LibsvmReader(path, label=False))


def test_empty_unlabelled_file_reads_as_zero_rows(tmp_path):
    features = LibsvmReader(write(tmp_path, "\n# only a comment\n"), label=False,
                            n_features=10).read()
    assert features["features"].n_examples == 0


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_label_must_be_a_bool(tmp_path, bad):
    with pytest.raises(TypeError, match="label must be True"):
        LibsvmReader(write(tmp_path, "1 3:1\n"), label=bad)


def test_binary_labels_need_labels(tmp_path):
    with pytest.raises(ValueError, match="binary_labels=True needs label=True"):
        LibsvmReader(write(tmp_path, "3:1\n"), label=False, binary_labels=True)

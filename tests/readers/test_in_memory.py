import numpy as np
import pytest

from widedeep.inputs import SparseInput
from widedeep.readers import (ArrayReader, concat_batches, iter_batches, rebatch,
                              slice_batch)
from widedeep.records import Ragged


def _columns():
    return {
        "x": np.arange(7, dtype=np.float64),
        "dense": np.arange(14).reshape(7, 2),
        "tags": Ragged.from_lists([["a"], [], ["b", "c"], ["d"], [], ["e"], ["f", "g"]]),
        "ids": SparseInput.from_lists([[1], [2, 3], [], [4], [5], [], [6]]),
    }


def test_batches_cut_every_column_type_in_order():
    batches = list(iter_batches(_columns(), batch_size=3))
    assert [b["x"].tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    assert batches[1]["dense"].tolist() == [[6, 7], [8, 9], [10, 11]]
    assert batches[0]["tags"].to_lists() == [["a"], [], ["b", "c"]]
    assert batches[2]["ids"].to_lists() == [[6]]


def test_drop_last():
    batches = list(iter_batches({"x": np.arange(7)}, batch_size=3, drop_last=True))
    assert [len(b["x"]) for b in batches] == [3, 3]


def test_shuffle_is_a_reproducible_permutation_kept_aligned_across_columns():
    columns = _columns()
    a = list(iter_batches(columns, 3, shuffle=True, random_state=4))
    b = list(iter_batches(columns, 3, shuffle=True, random_state=4))
    order = np.concatenate([batch["x"] for batch in a]).astype(int)
    assert order.tolist() == np.concatenate([batch["x"] for batch in b]).astype(int).tolist()
    assert sorted(order.tolist()) == list(range(7))
    assert order.tolist() == np.random.default_rng([4, 0]).permutation(7).tolist()
    tags = Ragged.from_lists([["a"], [], ["b", "c"], ["d"], [], ["e"], ["f", "g"]])
    assert [t for batch in a for t in batch["tags"].to_lists()] == \
        tags.take(order).to_lists()


def test_mismatched_column_lengths_are_an_error():
    with pytest.raises(ValueError, match="column 'b' has 2 rows but column 'a' has 3"):
        list(iter_batches({"a": np.zeros(3), "b": np.zeros(2)}, 2))


def test_array_reader_epochs_differ_and_label_is_split_off():
    reader = ArrayReader({"x": np.arange(10), "y": np.arange(10) % 2}, 4, shuffle=True,
                         random_state=0, label="y")
    assert len(reader) == 3
    epoch0 = list(reader)
    epoch1 = list(reader)
    features, labels = epoch0[0]
    assert list(features) == ["x"] and (features["x"] % 2 == labels).all()
    order0 = np.concatenate([f["x"] for f, _ in epoch0]).tolist()
    order1 = np.concatenate([f["x"] for f, _ in epoch1]).tolist()
    assert order0 != order1
    assert order1 == np.concatenate([f["x"] for f, _ in reader.iter_epoch(1)]).tolist()


def test_rebatch_and_concat_recut_ragged_and_sparse_columns():
    columns = _columns()
    pieces = [slice_batch(columns, 0, 2), slice_batch(columns, 2, 3),
              slice_batch(columns, 3, 7)]
    out = list(rebatch(pieces, 3))
    assert [len(b["x"]) for b in out] == [3, 3, 1]
    whole = concat_batches(out)
    assert whole["tags"].to_lists() == columns["tags"].to_lists()
    assert whole["ids"].to_lists() == columns["ids"].to_lists()
    assert whole["dense"].tolist() == columns["dense"].tolist()


def test_pandas_dataframe_is_accepted():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "s": ["x", None, "z"]})
    batches = list(iter_batches(frame, batch_size=2))
    assert batches[0]["a"].tolist() == [1.0, 2.0]
    assert batches[0]["s"].tolist() == ["x", None]
    assert batches[1]["s"].tolist() == ["z"]

"""Row ownership (widedeep.training.sharding), checked against direct indexing."""
import numpy as np

from widedeep import SparseInput, WideDeepEstimator
from widedeep.layers.base import RowSparseGrad
from widedeep.training import StepGradient
from widedeep.training.sharding import (batch_ids, owned_rows, restrict_gradient,
                                        sparse_state, write_owned_rows)


def model():
    estimator = WideDeepEstimator({"a": 7, "b": 5}, vocabularies={"v": (9, 2)},
                                  embedding_fields={"a": "v", "c": "v"}, hidden_units=(3,),
                                  dtype=np.float64, random_state=0)
    return estimator.initialize()


def features():
    return {"a": SparseInput.from_ids(np.array([6, 1, 6]), vocab_size=7),
            "b": SparseInput.from_ids(np.array([4, 4, 0]), vocab_size=5),
            "c": SparseInput.from_ids(np.array([8, 2, 1]), vocab_size=9)}


def test_batch_ids_are_the_wide_coordinates_and_block_rows_read():
    ids = batch_ids(model().step_, features())
    assert ids["wide"].tolist() == [1, 6, 7, 11]        # b's ids are offset by a's 7
    assert ids["block0"].tolist() == [1, 2, 6, 8]       # a and c share the table


def test_restricted_gradients_partition_the_sparse_rows_and_keep_dense_whole():
    gradient = StepGradient(n_examples=3, loss=0.5, predictions=np.zeros(3),
                            wide=(np.array([0, 3, 4, 5]), np.array([1.0, 2.0, 3.0, 4.0]),
                                  np.array([0.5])),
                            embeddings=[RowSparseGrad(np.array([2, 5]), np.ones((2, 2)))],
                            dense={"layer0/W": np.ones(2)})
    parts = [restrict_gradient(gradient, rank, 3) for rank in range(3)]
    assert [p.wide[0].tolist() for p in parts] == [[0, 3], [4], [5]]
    assert [p.wide[1].tolist() for p in parts] == [[1.0, 2.0], [3.0], [4.0]]
    assert all(p.wide[2].tolist() == [0.5] and p.dense is gradient.dense for p in parts)
    assert parts[0].embeddings == [None] and parts[1].embeddings == [None]
    assert parts[2].embeddings[0].rows.tolist() == [2, 5]


def test_owned_rows_put_back_together_give_the_whole_state():
    source, target = model(), model()
    for arrays in sparse_state(source.step_).values():
        for array in arrays.values():
            array[...] = np.random.default_rng(0).standard_normal(array.shape)
    for rank in range(3):
        write_owned_rows(target.step_, rank, 3, owned_rows(source.step_, rank, 3))
    for name, arrays in sparse_state(source.step_).items():
        for key, array in arrays.items():
            np.testing.assert_array_equal(sparse_state(target.step_)[name][key], array)

import doctest
import importlib
import json
import sys
import types

import numpy as np
import pytest

from widedeep.features import (BucketizedColumn, CategoricalColumn, CrossedColumn,
                               FeatureSpec, HashedColumn, NumericColumn, Vocabulary)
from widedeep.inputs import SparseInput
from widedeep.records import Ragged


def movie_spec():
    movies = Vocabulary("movies", min_count=1)
    return FeatureSpec([
        CategoricalColumn("movie_id", vocabulary=movies, embedding_dim=8, wide=False),
        CategoricalColumn("history", vocabulary=movies, embedding_dim=8, combiner="mean",
                          wide=False),
        CategoricalColumn("user", embedding_dim=4, wide=True),
        CrossedColumn(["history", "movie_id"], hash_buckets=1000),
    ])


def movie_batch():
    return {"movie_id": np.array([10, 20, 30]),
            "history": Ragged.from_lists([[20, 40], [], [40, 40, 10]]),
            "user": np.array(["ann", "bob", "ann"])}


def census_like_rows(n, seed):
    rng = np.random.default_rng(seed)
    return {"education": rng.choice(["BS", "MS", "PhD", "HS", ""], size=n),
            "occupation": rng.choice(["dev", "ops", "sales", "mgmt"], size=n),
            "genres": np.array(["|".join(rng.choice(["a", "b", "c"], size=rng.integers(0, 3)))
                                for _ in range(n)]),
            "age": rng.integers(17, 90, size=n).astype(float),
            "gain": rng.exponential(1000, size=n)}


def census_like_spec():
    return FeatureSpec([
        CategoricalColumn("education", min_count=2, embedding_dim=4),
        CategoricalColumn("occupation", num_oov_buckets=3, embedding_dim=4),
        CategoricalColumn("genres", separator="|", embedding_dim=2, combiner="sqrtn"),
        HashedColumn("occupation_hash", 17, source="occupation", wide=False, embedding_dim=2),
        BucketizedColumn("age_buckets", source="age", boundaries=[25, 40, 60]),
        BucketizedColumn("age_deciles", source="age", n_buckets=10, wide=False,
                         embedding_dim=3),
        NumericColumn("age", normalization="quantile", n_quantiles=20),
        NumericColumn("gain", normalization="log1p"),
        CrossedColumn(["age_buckets", "education", "occupation"], hash_buckets=500),
    ])


def assert_same_features(left, right):
    assert list(left) == list(right)
    for field in left:
        a, b = left[field], right[field]
        if isinstance(a, SparseInput):
            assert a.n_examples == b.n_examples
            assert np.array_equal(a.example_indices, b.example_indices)
            assert np.array_equal(a.feature_ids, b.feature_ids)
            assert np.array_equal(a.feature_values, b.feature_values)
        else:
            assert a.dtype == b.dtype and np.array_equal(a, b)


def test_shared_vocabulary_gives_one_table_and_the_same_id_for_the_same_token():
    spec = movie_spec().fit(movie_batch())
    # union counts: 40 x3, 10 x2, 20 x2, 30 x1 -> ids 1, 2, 3, 4
    assert spec.vocabulary_tokens("movie_id") == ["<OOV>", "40", "10", "20", "30"]
    features = spec.transform({"movie_id": np.array([40, 99]),
                               "history": Ragged.from_lists([[10, 40], [20]]),
                               "user": np.array(["ann", "cat"])})
    assert features["movie_id"].feature_ids.tolist() == [1, 0]
    assert features["history"].to_lists() == [[2, 1], [3]]
    params = spec.estimator_params()
    assert params["vocabularies"] == {"movies": (5, 8), "user": (3, 4)}
    assert params["embedding_fields"] == {"movie_id": "movies", "history": "movies",
                                          "user": "user"}
    assert params["combiners"] == {"movie_id": "sum", "history": "mean", "user": "sum"}
    assert params["wide_fields"] == {"user": 3, "history_x_movie_id": 1000}
    assert params["dense_fields"] == {}
    assert spec.report()["vocabularies"]["movies"]["columns"] == ["movie_id", "history"]


def test_shared_vocabulary_columns_must_agree_on_the_embedding_dimension():
    movies = Vocabulary("movies")
    with pytest.raises(ValueError, match="embedding_dim 8 and 4"):
        FeatureSpec([CategoricalColumn("a", vocabulary=movies, embedding_dim=8),
                     CategoricalColumn("b", vocabulary=movies, embedding_dim=4)])


def test_json_round_trip_gives_identical_transforms():
    spec = census_like_spec().fit(census_like_rows(500, seed=0))
    restored = FeatureSpec.from_json(spec.to_json())
    batch = census_like_rows(200, seed=1)
    assert_same_features(spec.transform(batch), restored.transform(batch))
    assert restored.estimator_params() == spec.estimator_params()
    assert json.loads(restored.to_json()) == json.loads(spec.to_json())


def test_streaming_fit_over_chunks_equals_the_in_memory_fit():
    data = census_like_rows(1000, seed=2)
    whole = census_like_spec().fit(data)
    chunks = ({name: column[start:start + 128] for name, column in data.items()}
              for start in range(0, 1000, 128))
    streamed = census_like_spec().fit(chunks)
    for field in ("education", "occupation", "genres", "age_deciles"):
        assert streamed.vocabulary_tokens(field) == whole.vocabulary_tokens(field)
    whole_columns = whole.report()["columns"]
    streamed_columns = streamed.report()["columns"]
    assert streamed_columns["age"]["boundaries"] == whole_columns["age"]["boundaries"]
    assert streamed_columns["gain"]["mean"] == pytest.approx(whole_columns["gain"]["mean"],
                                                             rel=1e-12)
    assert streamed.report()["n_rows"] == 1000
    test = census_like_rows(100, seed=3)
    a, b = whole.transform(test), streamed.transform(test)
    np.testing.assert_allclose(a["numeric"], b["numeric"], rtol=1e-6)
    for field in a:
        if field != "numeric":
            assert np.array_equal(a[field].feature_ids, b[field].feature_ids)


def test_transform_is_row_order_equivariant():
    spec = census_like_spec().fit(census_like_rows(300, seed=4))
    batch = census_like_rows(50, seed=5)
    order = np.random.default_rng(6).permutation(50)
    permuted = {name: column[order] for name, column in batch.items()}
    a, b = spec.transform(batch), spec.transform(permuted)
    for field in a:
        if field == "numeric":
            assert np.array_equal(a[field][order], b[field])
        else:
            assert a[field].take(order).to_lists() == b[field].to_lists()


def test_missing_column_is_an_error_at_the_first_batch():
    spec = census_like_spec()

    def batches():
        data = census_like_rows(10, seed=0)
        del data["gain"]
        yield data
        raise AssertionError("fit read past the first batch")

    with pytest.raises(ValueError, match=r"fit batch 0: column 'gain' \(needed by gain\)"):
        spec.fit(batches())
    spec.fit(census_like_rows(50, seed=0))
    batch = census_like_rows(5, seed=1)
    del batch["occupation"]
    with pytest.raises(ValueError, match=r"column 'occupation' \(needed by occupation, "
                                         r"occupation_hash, age_buckets_x_education"):
        spec.transform(batch)


def test_unfitted_spec_says_to_call_fit():
    with pytest.raises(RuntimeError, match="call spec.fit"):
        census_like_spec().transform(census_like_rows(3, seed=0))


def test_report_lists_sizes_oov_rates_and_boundaries():
    spec = FeatureSpec([CategoricalColumn("c", min_count=2),
                        NumericColumn("x", normalization="quantile", n_quantiles=4)])
    spec.fit({"c": np.array(["a", "a", "b", ""]), "x": np.arange(1.0, 5.0)})
    report = spec.report()
    assert report["n_rows"] == 4
    assert report["vocabularies"]["c"]["size"] == 2
    assert report["vocabularies"]["c"]["oov_rate"] == pytest.approx(0.5)
    assert report["columns"]["x"]["boundaries"] == [2.0, 3.0, 4.0]


def test_unknown_column_types_and_duplicate_names_are_rejected():
    with pytest.raises(TypeError, match="unknown column type dict"):
        FeatureSpec([{"name": "x"}])
    with pytest.raises(TypeError, match="not a column"):
        FeatureSpec([Vocabulary("v")])
    with pytest.raises(ValueError, match="two columns are named 'a'"):
        FeatureSpec([CategoricalColumn("a"), HashedColumn("a", 3)])
    with pytest.raises(ValueError, match="dense field 'numeric'"):
        FeatureSpec([CategoricalColumn("numeric"), NumericColumn("x")])
    with pytest.raises(ValueError, match="unknown column type 'magic'"):
        FeatureSpec.from_dict({"format": "widedeep.FeatureSpec", "version": 1,
                               "vocabularies": [], "columns": [{"type": "magic",
                                                                "config": {}}]})


def test_build_estimator_passes_the_derived_sizes(monkeypatch):
    calls = []

    def recorder(kind):
        def construct(*args, **kwargs):
            calls.append((kind, args, kwargs))
            return kind
        return construct

    fake = types.ModuleType("widedeep.estimators")
    fake.WideEstimator = recorder("wide")
    fake.DeepEstimator = recorder("deep")
    fake.WideDeepEstimator = recorder("wide_deep")
    monkeypatch.setitem(sys.modules, "widedeep.estimators", fake)
    spec = FeatureSpec([CategoricalColumn("c", embedding_dim=2),
                        NumericColumn("x", normalization="raw")])
    spec.fit({"c": np.array(["a", "b"]), "x": np.array([1.0, 2.0])})
    assert spec.build_estimator("wide_deep", hidden_units=(4,)) == "wide_deep"
    assert spec.build_estimator("wide", epochs=2) == "wide"
    assert spec.build_estimator("deep") == "deep"
    deep_kwargs = {"vocabularies": {"c": (3, 2)}, "embedding_fields": {"c": "c"},
                   "combiners": {"c": "sum"}, "dense_fields": {"numeric": 1}}
    assert calls[0] == ("wide_deep", ({"c": 3},), dict(deep_kwargs, hidden_units=(4,)))
    assert calls[1] == ("wide", ({"c": 3},), {"epochs": 2})
    assert calls[2] == ("deep", (), deep_kwargs)
    with pytest.raises(TypeError, match="derived from the spec"):
        spec.build_estimator("deep", vocabularies={})
    with pytest.raises(ValueError, match="kind"):
        spec.build_estimator("linear")


@pytest.mark.parametrize("module", ["hashing", "vocabulary", "quantiles", "moments", "spec"])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(f"widedeep.features.{module}"))
    assert result.attempted > 0 and result.failed == 0

import numpy as np
import pytest

from widedeep.features import BucketizedColumn, FeatureSpec, NumericColumn

AGES = np.array([20.0, 30.0, 40.0, 50.0])


def dense(spec, columns, field="numeric"):
    return spec.transform(columns)[field]


def test_raw_and_standardized_values_fill_one_dense_field_in_declaration_order():
    spec = FeatureSpec([NumericColumn("age", normalization="standardize"),
                        NumericColumn("hours", normalization="raw")])
    spec.fit({"age": AGES, "hours": np.array([1.0, 2.0, 3.0, 4.0])})
    out = dense(spec, {"age": np.array([35.0, 50.0]), "hours": np.array([8.0, 9.0])})
    std = np.sqrt(125.0)  # population std of 20, 30, 40, 50
    assert out.dtype == np.float32 and out.shape == (2, 2)
    np.testing.assert_allclose(out, [[0.0, 8.0], [15.0 / std, 9.0]], rtol=1e-6)
    assert spec.estimator_params()["dense_fields"] == {"numeric": 2}


def test_log1p_standardizes_the_log():
    spec = FeatureSpec([NumericColumn("gain", normalization="log1p")])
    data = np.array([0.0, np.e - 1.0])   # log1p -> 0, 1: mean 0.5, std 0.5
    spec.fit({"gain": data})
    np.testing.assert_allclose(dense(spec, {"gain": data})[:, 0], [-1.0, 1.0], rtol=1e-6)


def test_log1p_rejects_values_at_or_below_minus_one_naming_the_row():
    spec = FeatureSpec([NumericColumn("gain", normalization="log1p")])
    with pytest.raises(ValueError, match=r"'gain' row 1: log1p needs values > -1"):
        spec.fit({"gain": np.array([0.0, -1.0])})


def test_quantile_normalization_follows_the_paper_with_ties_and_out_of_range():
    spec = FeatureSpec([NumericColumn("x", normalization="quantile", n_quantiles=4)])
    spec.fit({"x": np.array([1, 2, 2, 2, 2, 2, 3, 4], dtype=float)})
    out = dense(spec, {"x": np.array([-5.0, 1.0, 2.0, 2.9, 3.0, 4.0, 100.0])})[:, 0]
    assert out.tolist() == [0.0, 0.0, 0.5, 0.5, 1.0, 1.0, 1.0]
    assert spec.report()["columns"]["x"]["boundaries"] == [2.0, 3.0]


def test_missing_number_without_default_is_an_error_naming_column_and_row():
    spec = FeatureSpec([NumericColumn("age", normalization="raw")])
    with pytest.raises(ValueError, match=r"column 'age'.*row 2: missing"):
        spec.transform({"age": np.array([1.0, 2.0, np.nan])})
    with pytest.raises(ValueError, match=r"column 'age'.*row 1: missing"):
        spec.transform({"age": np.array(["3", ""])})


def test_missing_number_at_fit_is_an_error_too():
    spec = FeatureSpec([NumericColumn("age")])
    with pytest.raises(ValueError, match=r"row 0: missing.*at fit"):
        spec.fit({"age": np.array([np.nan, 1.0])})


def test_declared_default_replaces_missing_values_and_is_ignored_by_statistics():
    spec = FeatureSpec([NumericColumn("age", default=0.0)])
    spec.fit({"age": np.array([10.0, np.nan, 30.0])})
    report = spec.report()["columns"]["age"]
    assert report["mean"] == 20.0 and report["n_missing_at_fit"] == 1
    out = dense(spec, {"age": np.array([np.nan, 30.0, np.inf])})[:, 0]
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, [-2.0, 1.0, -2.0])


def test_bucketized_given_boundaries():
    spec = FeatureSpec([BucketizedColumn("age_buckets", source="age", boundaries=[18, 25, 30])])
    x = spec.transform({"age": np.array([17.0, 18.0, 29.0, 30.0, 99.0])})["age_buckets"]
    assert x.feature_ids.tolist() == [0, 1, 2, 3, 3]
    assert spec.estimator_params()["wide_fields"] == {"age_buckets": 4}
    assert spec.vocabulary_tokens("age_buckets") == [
        "age_buckets<18", "age_buckets:[18,25)", "age_buckets:[25,30)", "age_buckets>=30"]


def test_bucketized_learned_boundaries_are_quantiles():
    spec = FeatureSpec([BucketizedColumn("b", source="x", n_buckets=4, embedding_dim=3)])
    spec.fit({"x": np.arange(1.0, 9.0)})
    assert spec.report()["columns"]["b"]["boundaries"] == [3.0, 5.0, 7.0]
    assert spec.transform({"x": np.array([0.0, 3.0, 8.0])})["b"].feature_ids.tolist() == \
        [0, 1, 3]
    assert spec.estimator_params()["vocabularies"] == {"b": (4, 3)}


def test_numeric_column_can_feed_the_wide_part_as_one_coordinate():
    spec = FeatureSpec([NumericColumn("x", normalization="raw", wide=True, deep=False)])
    x = spec.transform({"x": np.array([2.5, -1.0])})["x"]
    assert x.feature_ids.tolist() == [0, 0] and x.feature_values.tolist() == [2.5, -1.0]
    assert spec.estimator_params()["wide_fields"] == {"x": 1}


def test_several_dense_fields_by_name():
    spec = FeatureSpec([NumericColumn("a", normalization="raw", dense_field="user"),
                        NumericColumn("b", normalization="raw", dense_field="item"),
                        NumericColumn("c", normalization="raw", dense_field="user")])
    out = spec.transform({"a": np.array([1.0]), "b": np.array([2.0]), "c": np.array([3.0])})
    assert out["user"].tolist() == [[1.0, 3.0]] and out["item"].tolist() == [[2.0]]


def test_bad_numeric_parameters_are_rejected():
    with pytest.raises(ValueError, match="normalization"):
        NumericColumn("x", normalization="minmax")
    with pytest.raises(ValueError, match="exactly one"):
        BucketizedColumn("b")
    with pytest.raises(ValueError, match="strictly increasing"):
        BucketizedColumn("b", boundaries=[3, 1])
    with pytest.raises(ValueError, match="default"):
        NumericColumn("x", default=float("nan"))

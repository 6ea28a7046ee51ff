"""FeatureSpec from frames and readers: fit/transform on a DataFrame or a reader, and
spec.batches() as the batch source of fit / evaluate / eval_set."""
import numpy as np
import pytest

from widedeep import Adagrad, FtrlProximal
from widedeep.features import CategoricalColumn, FeatureSpec, NumericColumn
from widedeep.readers import ArrayReader, CsvReader

pd = pytest.importorskip("pandas")


def _frame(n=200, seed=0):
    rng = np.random.default_rng(seed)
    color = rng.choice(["red", "blue"], n)
    return pd.DataFrame({"color": color, "size": rng.normal(size=n),
                         "clicked": (color == "red").astype(int),
                         "w": np.full(n, 2.0)})


def _spec():
    return FeatureSpec([CategoricalColumn("color", embedding_dim=2), NumericColumn("size")])


def test_fit_and_transform_accept_a_dataframe():
    frame = _frame()
    spec = _spec().fit(frame)
    features = spec.transform(frame)
    assert spec.n_rows_seen_ == 200
    red = spec.vocabulary_tokens("color").index("red")
    assert np.array_equal(features["color"].feature_ids == red, frame["color"] == "red")
    np.testing.assert_allclose(features["numeric"][:, 0],
                               (frame["size"] - frame["size"].mean()) / frame["size"].std(ddof=0),
                               rtol=1e-5)


def test_fit_and_transform_accept_a_reader(tmp_path):
    frame = _frame()
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    reader = CsvReader(path, batch_size=64, dtypes={"size": "float64"})
    from_reader = _spec().fit(reader)
    from_frame = _spec().fit(frame)
    assert from_reader.vocabulary_tokens("color") == from_frame.vocabulary_tokens("color")
    size_reader = from_reader.report()["columns"]["size"]
    size_frame = from_frame.report()["columns"]["size"]
    assert size_reader["mean"] == pytest.approx(size_frame["mean"], rel=1e-12)
    assert from_reader.n_rows_seen_ == 200
    features = from_reader.transform(reader)          # every row, one feature dict
    assert features["color"].n_examples == 200


def test_batches_feed_fit_evaluate_and_eval_set():
    frame = _frame()
    spec = _spec().fit(frame)
    batches = spec.batches(frame, label="clicked", batch_size=50)
    first = next(iter(batches))
    assert len(first) == 2 and first[1].tolist() == frame["clicked"][:50].tolist()
    # a 4-unit net memorizing 200 rows in 3 epochs: the settings this test was written with,
    # pinned (the library's defaults regularize for real data, docs/DEFAULTS.md)
    model = spec.build_estimator("wide_deep", hidden_units=(4,), epochs=3, random_state=0,
                                 dropout=0.0, embedding_l2=0.0, adagrad=Adagrad(lr=0.1),
                                 ftrl=FtrlProximal(alpha=0.05, l1=1e-4))
    model.fit(batches, eval_set=spec.batches(frame, label="clicked"))
    assert model.history_[-1]["examples"] == 200          # re-iterable: every epoch whole
    assert model.evaluate(spec.batches(frame, label="clicked"))["accuracy"] == 1.0


def test_batches_with_weights_and_positive_value():
    frame = _frame()
    frame["answer"] = np.where(frame["clicked"] == 1, "yes", "no")
    spec = _spec().fit(frame)
    features, labels, weights = next(iter(spec.batches(frame, label="answer", weight="w",
                                                       positive="yes")))
    assert labels.tolist() == frame["clicked"].astype(float).tolist()
    assert weights.tolist() == [2.0] * 200


def test_batches_from_a_labelled_reader():
    frame = _frame()
    spec = _spec().fit(frame)
    reader = ArrayReader(frame, batch_size=100, label="clicked")
    y = np.concatenate([labels for _, labels in spec.batches(reader)])
    assert y.tolist() == frame["clicked"].tolist()


def test_batches_errors_name_the_missing_column():
    spec = _spec().fit(_frame())
    with pytest.raises(ValueError, match="'nope'"):
        spec.batches(_frame(), label="nope")
    with pytest.raises(ValueError, match="label"):
        next(iter(spec.batches(_frame())))

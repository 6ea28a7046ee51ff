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


def test_batches_pass_k_replays_the_readers_pass_k_however_often_it_was_read(tmp_path):
    frame = _frame(n=300)
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    spec = _spec().fit(frame)
    reader = CsvReader(path, batch_size=32, shuffle_buffer=300, random_state=7,
                       dtypes={"size": "float64"})
    batches = spec.batches(reader, label="clicked")

    def sizes(batch_iter):
        return np.concatenate([features["numeric"][:, 0] for features, _ in batch_iter])

    first = [sizes(batches.iter_epoch(k)) for k in (0, 1)]
    list(iter(batches))                        # plain passes move the reader on ...
    list(iter(batches))
    again = [sizes(batches.iter_epoch(k)) for k in (0, 1)]
    for a, b in zip(first, again):             # ... but pass k stays pass k
        assert np.array_equal(a, b)
    assert not np.array_equal(first[0], first[1])          # the reader really shuffles
    assert sorted(first[0].tolist()) == sorted(first[1].tolist())


def test_two_fits_on_one_spec_batches_source_give_the_same_model(tmp_path):
    frame = _frame(n=300)
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    spec = _spec().fit(frame)
    batches = spec.batches(CsvReader(path, batch_size=32, shuffle_buffer=300, random_state=7,
                                     dtypes={"size": "float64"}), label="clicked")
    models = [spec.build_estimator("wide_deep", hidden_units=(4,), epochs=2, random_state=0)
              .fit(batches) for _ in range(2)]
    features = spec.transform(frame)
    assert np.array_equal(models[0].predict_proba(features),
                          models[1].predict_proba(features))

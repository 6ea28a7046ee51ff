"""A FeatureSpec fitted on a dask DataFrame equals the one-process fit on the same rows:
vocabularies and quantile boundaries identical, moments to rounding."""
import numpy as np
import pytest

pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

from widedeep.dask import fit_spec  # noqa: E402
from widedeep.features import (BucketizedColumn, CategoricalColumn,  # noqa: E402
                               CrossedColumn, FeatureSpec, NumericColumn)
from widedeep.features.quantiles import QuantileSummary  # noqa: E402
from frames import uneven_dask_frame  # noqa: E402


def wide_frame(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    price = rng.lognormal(1.0, 1.0, n)
    price[rng.random(n) < 0.05] = np.nan                     # missing, filled by default
    return pd.DataFrame({
        "city": rng.choice([f"c{k}" for k in range(300)], n, p=np.r_[[0.5], [0.5 / 299] * 299]),
        "tag": rng.choice(["x", "y", "z", ""], n),            # "" counts as missing
        "price": price, "age": rng.integers(18, 90, n).astype(float)})


def make_spec():
    # small summaries, so the 3000 rows overflow them and the reservoir really samples
    return FeatureSpec([
        CategoricalColumn("city", min_count=3, embedding_dim=4),
        CategoricalColumn("tag", vocabulary=None, max_size=2),
        NumericColumn("price", normalization="quantile", n_quantiles=20, default=0.0,
                      summary_size=500, seed=4),
        NumericColumn("log_price", source="price", normalization="log1p", default=0.0),
        NumericColumn("age", normalization="standardize"),
        BucketizedColumn("age_bucket", source="age", n_buckets=7, summary_size=300),
        CrossedColumn(["city", "tag"], hash_buckets=97)])     # collisions: 1200 -> 97


def test_fit_spec_on_dask_equals_one_process_fit(client):
    frame = wide_frame()
    cuts = (0, 700, 701, 701, 1900, 3000)                    # uneven, one empty partition
    ddf = uneven_dask_frame(frame, cuts)
    distributed_spec = fit_spec(make_spec(), ddf, client)
    reference = make_spec().fit([frame.iloc[a:b].to_dict("series")
                                 for a, b in zip(cuts[:-1], cuts[1:]) if b > a])
    assert distributed_spec.n_rows_seen_ == reference.n_rows_seen_ == 3000
    for field in ("city", "tag"):
        assert distributed_spec.vocabulary_tokens(field) == reference.vocabulary_tokens(field)
    ours, theirs = distributed_spec.report(), reference.report()
    assert ours["vocabularies"] == theirs["vocabularies"]   # sizes, OOV rates, counts
    ours, theirs = ours["columns"], theirs["columns"]
    for name in ("price", "age_bucket"):
        assert ours[name]["boundaries"] == theirs[name]["boundaries"]
        assert len(ours[name]["boundaries"]) > 3
    for name in ("age", "log_price"):
        assert ours[name]["mean"] == pytest.approx(theirs[name]["mean"], rel=1e-12)
        assert ours[name]["std"] == pytest.approx(theirs[name]["std"], rel=1e-12)
    assert ours["price"]["n_missing_at_fit"] == theirs["price"]["n_missing_at_fit"] > 0
    cross = distributed_spec.columns[-1].state()["origins"]
    assert cross == reference.columns[-1].state()["origins"]     # labels, keys, collisions
    assert len(cross["ids"]) > 90 and cross["collided"]


def test_quantile_summaries_of_stream_parts_merge_into_the_whole_stream_sample():
    values = np.random.default_rng(2).standard_normal(4000)
    whole = QuantileSummary(capacity=700, seed=9)
    whole.update(values)
    merged = QuantileSummary(capacity=700, seed=9)
    for a, b in ((0, 300), (300, 700), (700, 701), (701, 701), (701, 4000)):
        part = QuantileSummary(capacity=700, seed=9, start=a)
        part.update(values[a:b])
        merged.merge(part.merge_state())
    np.testing.assert_array_equal(merged.sorted_sample(), whole.sorted_sample())
    with pytest.raises(ValueError, match="stream order"):
        merged.merge(QuantileSummary(capacity=700, seed=9, start=10).merge_state())

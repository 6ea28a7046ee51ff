import numpy as np
import pytest

from widedeep.features.quantiles import (QuantileSummary, bucketize, quantile_boundaries,
                                         quantile_normalize)


def test_boundaries_of_distinct_values_split_them_evenly():
    boundaries = quantile_boundaries(np.arange(1.0, 9.0), 4)
    assert boundaries.tolist() == [3.0, 5.0, 7.0]
    values = np.arange(1.0, 9.0)
    assert quantile_normalize(values, boundaries).tolist() == \
        [0, 0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1, 1]


def test_ties_merge_boundaries_and_equal_values_share_a_quantile():
    data = np.array([1, 2, 2, 2, 2, 2, 3, 4], dtype=float)
    # ranks floor(j*8/4) = 2, 4, 6 -> values 2, 2, 3 -> boundaries {2, 3}: n_q = 3
    boundaries = quantile_boundaries(data, 4)
    assert boundaries.tolist() == [2.0, 3.0]
    assert quantile_normalize(data, boundaries).tolist() == [0, .5, .5, .5, .5, .5, 1, 1]


def test_out_of_range_values_clamp_to_0_and_1():
    boundaries = quantile_boundaries(np.arange(1.0, 9.0), 4)
    assert quantile_normalize(np.array([-100.0, 0.99, 8.5, 1e9]), boundaries).tolist() == \
        [0.0, 0.0, 1.0, 1.0]


def test_a_boundary_at_the_minimum_is_dropped_so_the_minimum_maps_to_0():
    data = np.array([0, 0, 0, 0, 0, 0, 5, 9], dtype=float)
    boundaries = quantile_boundaries(data, 4)
    assert boundaries.tolist() == [5.0]
    assert quantile_normalize(np.array([0.0, 5.0]), boundaries).tolist() == [0.0, 1.0]


def test_a_constant_column_normalizes_to_0():
    boundaries = quantile_boundaries(np.full(10, 3.0), 5)
    assert boundaries.size == 0
    assert quantile_normalize(np.array([1.0, 3.0, 7.0]), boundaries).tolist() == [0, 0, 0]


def test_bucketize_puts_a_value_equal_to_a_boundary_in_the_upper_bucket():
    assert bucketize(np.array([17, 18, 24.9, 25, 99]), [18, 25]).tolist() == [0, 1, 1, 2, 2]


def test_summary_holds_everything_while_it_fits():
    rng = np.random.default_rng(0)
    data = rng.normal(size=1000)
    summary = QuantileSummary(capacity=1000, seed=3)
    for chunk in np.array_split(data, 7):
        summary.update(chunk)
    assert np.array_equal(summary.sorted_sample(), np.sort(data))
    assert np.array_equal(summary.boundaries(10), quantile_boundaries(np.sort(data), 10))


def test_summary_sample_does_not_depend_on_how_the_stream_is_chunked():
    data = np.random.default_rng(1).exponential(size=5000)
    whole = QuantileSummary(capacity=300, seed=7)
    whole.update(data)
    chunked = QuantileSummary(capacity=300, seed=7)
    for chunk in np.array_split(data, 13):
        chunked.update(chunk)
    assert whole.n_seen == chunked.n_seen == 5000
    assert np.array_equal(whole.sorted_sample(), chunked.sorted_sample())


def test_summary_boundaries_beyond_capacity_are_within_the_documented_rank_error():
    data = np.random.default_rng(2).uniform(size=200_000)
    summary = QuantileSummary(capacity=10_000, seed=0)
    for chunk in np.array_split(data, 20):
        summary.update(chunk)
    boundaries = summary.boundaries(10)
    true_ranks = np.searchsorted(np.sort(data), boundaries) / data.size
    # 5 standard deviations of sqrt(q(1-q)/capacity) <= 5 * 0.005
    assert np.max(np.abs(true_ranks - np.arange(1, 10) / 10)) < 0.025


def test_bad_quantile_settings_are_rejected():
    with pytest.raises(ValueError, match="n_quantiles"):
        quantile_boundaries(np.arange(3.0), 1)
    with pytest.raises(ValueError, match="capacity"):
        QuantileSummary(capacity=0)

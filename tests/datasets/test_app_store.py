import numpy as np
import pytest

from widedeep.datasets.app_store import AppStore, expand_request, make_app_store, make_requests
from widedeep.records import Ragged, n_rows

N = 50_000


def auc(labels, scores):
    """Rank-sum AUC with average ranks for ties (independent of widedeep.metrics)."""
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    n_pos = labels.sum()
    n_neg = len(labels) - n_pos
    return (ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


@pytest.fixture(scope="module")
def world():
    return AppStore(random_state=7)


@pytest.fixture(scope="module")
def day0(world):
    return world.sample(N, day=0, return_truth=True)


def rows_of(column):
    return column.to_lists() if isinstance(column, Ragged) else column.tolist()


def assert_same_columns(a, b):
    assert list(a) == list(b)
    for name in a:
        if isinstance(a[name], Ragged):
            np.testing.assert_array_equal(a[name].values, b[name].values)
            np.testing.assert_array_equal(a[name].lengths, b[name].lengths)
        else:
            assert a[name].dtype == b[name].dtype
            np.testing.assert_array_equal(a[name], b[name])


def rule_fires(columns, rules):
    """Per example, the summed effect of the rules whose (installed, impression) pair occurs,
    computed from the raw columns (not from the generator's internals)."""
    installed = columns["installed_apps"]
    big = np.int64(1) << 32
    pair = installed.values * big + columns["impression_app"][installed.row_ids]
    rule_pair = rules["installed_app"] * big + rules["impression_app"]
    order = np.argsort(rule_pair)
    position = np.minimum(np.searchsorted(rule_pair[order], pair), len(rule_pair) - 1)
    hit = rule_pair[order][position] == pair
    effect = np.zeros(len(installed))
    np.add.at(effect, installed.row_ids[hit], rules["effect"][order][position[hit]])
    return effect


def test_same_seed_gives_bit_identical_columns_and_labels():
    columns_a, labels_a = make_app_store(2000, random_state=3, n_users=500, n_apps=200)
    columns_b, labels_b = make_app_store(2000, random_state=3, n_users=500, n_apps=200)
    assert_same_columns(columns_a, columns_b)
    np.testing.assert_array_equal(labels_a, labels_b)


def test_different_seeds_give_different_data():
    columns_a, labels_a = make_app_store(2000, random_state=3, n_users=500, n_apps=200)
    columns_b, labels_b = make_app_store(2000, random_state=4, n_users=500, n_apps=200)
    assert (columns_a["impression_app"] != columns_b["impression_app"]).mean() > 0.9
    assert not np.array_equal(labels_a, labels_b)


def test_columns_have_documented_names_dtypes_and_ranges(world, day0):
    columns, labels, _ = day0
    assert n_rows(columns) == N and labels.shape == (N,)
    assert sorted(columns) == sorted(["user_age", "user_country", "user_language", "user_gender",
                                      "installed_apps", "device", "hour", "impression_app",
                                      "impression_category"])
    assert labels.dtype == np.int64 and set(np.unique(labels)) == {0, 1}
    assert columns["user_age"].dtype == np.int64
    assert columns["user_age"].min() >= 16 and columns["user_age"].max() <= 80
    assert columns["hour"].dtype == np.int64
    assert set(np.unique(columns["hour"])) == set(range(24))
    assert set(np.unique(columns["device"])) == {"phone_low", "phone_high", "tablet"}
    countries = {"US", "IN", "BR", "ID", "DE", "JP", "MX", "GB"}
    assert set(np.unique(columns["user_country"])) <= countries
    assert set(np.unique(columns["user_gender"])) == {"female", "male", "unknown"}
    assert columns["impression_app"].dtype == np.int64
    assert columns["impression_app"].min() >= 0 and columns["impression_app"].max() < world.n_apps
    installed = columns["installed_apps"]
    assert installed.values.dtype == np.int64 and installed.lengths.min() >= 1
    assert installed.values.min() >= 0 and installed.values.max() < world.n_apps


def test_installed_bags_are_distinct_and_never_contain_the_impression(day0):
    columns, _, _ = day0
    installed = columns["installed_apps"]
    rows = installed.row_ids
    same_row = rows[1:] == rows[:-1]
    assert np.all(np.diff(installed.values)[same_row] > 0)  # sorted, so distinct
    assert not np.any(installed.values == columns["impression_app"][rows])


def test_impression_category_is_a_function_of_the_app(day0):
    columns, _, _ = day0
    pairs = np.unique(np.stack([columns["impression_app"].astype(str),
                                columns["impression_category"]]), axis=1)
    assert pairs.shape[1] == np.unique(columns["impression_app"]).size


def test_a_user_keeps_demographics_and_installed_apps_across_examples(day0):
    columns, _, truth = day0
    user = np.bincount(truth["user_id"]).argmax()
    rows = np.flatnonzero(truth["user_id"] == user)
    assert rows.size >= 3
    for name in ("user_age", "user_country", "user_language", "user_gender", "installed_apps"):
        values = rows_of(columns[name].take(rows) if isinstance(columns[name], Ragged)
                         else columns[name][rows])
        assert all(v == values[0] for v in values), name


def test_positive_rate_is_near_the_calibrated_default(day0):
    _, labels, _ = day0
    assert 0.18 < labels.mean() < 0.22


def test_positive_rate_follows_the_knob():
    _, labels = make_app_store(20_000, random_state=1, n_users=2000, n_apps=300, positive_rate=0.1)
    assert 0.08 < labels.mean() < 0.12


def test_truth_rules_are_distinct_pairs_with_half_vetoes_in_the_same_category(world):
    rules = world.rules
    assert set(rules) == {"installed_app", "impression_app", "effect"}
    assert rules["installed_app"].dtype == np.int64 and rules["impression_app"].dtype == np.int64
    assert rules["effect"].shape == (200,)
    pairs = set(zip(rules["installed_app"].tolist(), rules["impression_app"].tolist()))
    assert len(pairs) == 200
    assert np.all(rules["installed_app"] != rules["impression_app"])
    vetoes = rules["effect"] < 0
    assert vetoes.sum() == 100
    assert np.all(np.abs(rules["effect"]) >= 0.75 * 3.0)
    assert np.all(np.abs(rules["effect"]) <= 1.25 * 3.0)
    category = world.app_categories(0)
    same = category[rules["installed_app"]] == category[rules["impression_app"]]
    np.testing.assert_array_equal(same, vetoes)


def test_rule_logit_in_truth_matches_the_rules_firing_in_the_columns(day0):
    columns, _, truth = day0
    np.testing.assert_allclose(rule_fires(columns, truth["rules"]), truth["rule_logit"])
    fired = (truth["rule_logit"] != 0).mean()
    assert 0.03 < fired < 0.15


def test_boost_rules_raise_and_veto_rules_lower_the_install_rate(day0):
    columns, labels, truth = day0
    effect = rule_fires(columns, truth["rules"])
    base = labels[effect == 0].mean()
    assert labels[effect > 0].mean() > 2.5 * base
    assert labels[effect < 0].mean() < 0.6 * base
    # Vetoes hit substitutes the affinity favours: compared with what the same impressions
    # would convert at without the rule, the drop is much larger.
    without_rules = 1 / (1 + np.exp(-(truth["logit"] - truth["rule_logit"])))
    assert without_rules[effect < 0].mean() > base
    assert labels[effect < 0].mean() < 0.35 * without_rules[effect < 0].mean()


def test_the_strongest_boost_rules_are_each_visible(day0):
    columns, labels, truth = day0
    rules = truth["rules"]
    strongest = np.argsort(-rules["effect"])[:10]
    installed = columns["installed_apps"]
    for k in strongest:
        rows = installed.row_ids[installed.values == rules["installed_app"][k]]
        rows = rows[columns["impression_app"][rows] == rules["impression_app"][k]]
        if rows.size >= 30:
            assert labels[rows].mean() > 2 * labels.mean(), k


def test_truth_logit_is_the_sum_of_its_parts_and_separates_labels(day0):
    _, labels, truth = day0
    parts = sum(truth[name] for name in ("latent_logit", "rule_logit", "context_logit",
                                         "app_bias_logit"))
    np.testing.assert_allclose(truth["logit"], truth["intercept"] + parts)
    bayes = auc(labels, truth["logit"])
    assert 0.78 < bayes < 0.88
    assert auc(labels, truth["logit"] - truth["rule_logit"]) < bayes - 0.02
    assert auc(labels, truth["latent_logit"]) > 0.7


def test_next_day_has_the_same_world_and_fresh_impressions(world, day0):
    columns0, _, truth0 = day0
    columns1, _, truth1 = world.sample(N, day=1, return_truth=True)
    other = make_app_store(10, day=1, random_state=7, return_truth=True)[2]
    for name in truth0["rules"]:
        np.testing.assert_array_equal(truth0["rules"][name], other["rules"][name])
    assert (columns0["impression_app"] != columns1["impression_app"]).mean() > 0.9
    user = np.intersect1d(truth0["user_id"], truth1["user_id"])[0]
    row0 = np.flatnonzero(truth0["user_id"] == user)[0]
    row1 = np.flatnonzero(truth1["user_id"] == user)[0]
    assert columns0["installed_apps"].take([row0]).to_lists() == \
        columns1["installed_apps"].take([row1]).to_lists()
    assert columns0["user_country"][row0] == columns1["user_country"][row1]


def test_new_apps_appear_from_day_one_and_grow_the_vocabulary(world, day0):
    columns1, _ = world.sample(N, day=1)
    assert world.n_apps_at(1) == world.n_apps + 20
    assert day0[0]["impression_app"].max() < world.n_apps
    new = columns1["impression_app"][columns1["impression_app"] >= world.n_apps]
    assert new.size > 0 and new.max() < world.n_apps_at(1)
    assert columns1["installed_apps"].values.max() < world.n_apps


def test_requests_have_one_query_row_and_distinct_uninstalled_candidates(world):
    requests, truth = world.requests(5, n_candidates=50, return_truth=True)
    assert len(requests) == 5 and truth["logit"].shape == (5, 50)
    for k, request in enumerate(requests):
        assert request["request_id"] == k
        assert n_rows(request["query"]) == 1
        assert "impression_app" not in request["query"]
        candidates = request["candidates"]["impression_app"]
        assert n_rows(request["candidates"]) == 50
        assert np.unique(candidates).size == 50
        installed = request["query"]["installed_apps"].to_lists()[0]
        assert not set(installed) & set(candidates.tolist())
        assert installed == world.installed.take([truth["user_id"][k]]).to_lists()[0]


def test_expand_request_repeats_the_query_for_every_candidate(world):
    request = world.requests(1, n_candidates=30)[0]
    columns = expand_request(request)
    assert n_rows(columns) == 30
    assert set(columns) == set(request["query"]) | set(request["candidates"])
    assert np.all(columns["user_country"] == request["query"]["user_country"][0])
    query, candidates = request["query"], request["candidates"]
    assert columns["installed_apps"].to_lists() == query["installed_apps"].to_lists() * 30
    np.testing.assert_array_equal(columns["impression_app"], candidates["impression_app"])


def test_make_requests_is_deterministic_for_a_seed():
    a = make_requests(3, n_candidates=20, random_state=5, n_users=300, n_apps=150)
    b = make_requests(3, n_candidates=20, random_state=5, n_users=300, n_apps=150)
    for request_a, request_b in zip(a, b):
        assert_same_columns(request_a["query"], request_b["query"])
        assert_same_columns(request_a["candidates"], request_b["candidates"])


@pytest.mark.parametrize("params, message", [
    (dict(n_users=0), "n_users"),
    (dict(n_apps=10, n_categories=20), "n_categories"),
    (dict(mean_installed=0.5), "mean_installed"),
    (dict(positive_rate=1.0), "positive_rate"),
    (dict(rule_strength=-1.0), "rule_strength"),
    (dict(random_state=-3), "random_state"),
])
def test_invalid_parameters_are_rejected_by_name(params, message):
    with pytest.raises(ValueError, match=message):
        AppStore(**params)


def test_zero_examples_and_zero_rules_are_legal():
    columns, labels, truth = make_app_store(0, random_state=0, n_users=100, n_apps=50, n_rules=0,
                                            return_truth=True)
    assert n_rows(columns) == 0 and labels.shape == (0,)
    assert truth["rules"]["effect"].shape == (0,)

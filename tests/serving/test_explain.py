"""explain / strongest_rules / sparsity_report: exact decomposition, ordering, tokens."""
import numpy as np
import pytest
from serving_helpers import expand, make_request, one_row, raw_batch

from widedeep import SparseInput, WideEstimator
from widedeep.estimators.batching import take_rows
from widedeep.serving import explain, sparsity_report, strongest_rules


def one_example(features, row):
    return take_rows(features, [row])


def test_contributions_bias_and_deep_logit_sum_to_the_models_logit(trained_model,
                                                                    training_data):
    features, _ = training_data
    for row in range(0, 600, 37):
        example = one_example(features, row)
        result = explain(trained_model, example)
        total = result.bias + sum(c.contribution for c in result.wide_contributions) \
            + result.deep_logit
        assert total == pytest.approx(result.logit, abs=1e-5)
        assert result.logit == pytest.approx(float(trained_model.predict_logit(example)[0]))


def test_deep_logit_is_the_deep_towers_output(trained_model, training_data):
    example = one_example(training_data[0], 3)
    result = explain(trained_model, example)
    expected = trained_model.deep_.forward(example)[0][0]
    assert result.deep_logit == pytest.approx(float(expected))
    assert result.bias == pytest.approx(float(trained_model.wide_.params["bias"][0]))


def test_every_fired_feature_is_listed_once_with_weight_times_value(trained_model):
    request = make_request(np.random.default_rng(4), 1)
    example = expand(request)
    result = explain(trained_model, example)
    listed = {(c.field, c.feature_id) for c in result.wide_contributions}
    fired = {(f, int(i)) for f in trained_model.wide_fields for i in example[f].feature_ids}
    assert listed == fired
    for c in result.wide_contributions:
        assert c.weight == pytest.approx(float(trained_model.wide_.params[c.field][c.feature_id]))
        assert c.contribution == pytest.approx(c.weight * c.value)
        assert c.token == str(c.feature_id)
    weighted = {c.feature_id: c.value for c in result.wide_contributions
                if c.field == "installed"}
    x = example["installed"]
    for feature_id, value in zip(x.feature_ids, x.feature_values):
        assert weighted[int(feature_id)] == pytest.approx(float(value))


def test_contributions_are_sorted_by_decreasing_magnitude(trained_model, training_data):
    result = explain(trained_model, one_example(training_data[0], 10))
    magnitudes = [abs(c.contribution) for c in result.wide_contributions]
    assert magnitudes == sorted(magnitudes, reverse=True)


def test_explain_refuses_more_than_one_example(trained_model, training_data):
    with pytest.raises(ValueError, match="one example"):
        explain(trained_model, take_rows(training_data[0], [0, 1]))


def test_strongest_rules_are_the_largest_weights(trained_model):
    rules = strongest_rules(trained_model, top=10)
    everything = sorted((abs(float(w)) for f in trained_model.wide_fields
                         for w in trained_model.wide_.params[f] if w != 0), reverse=True)
    assert [abs(r.weight) for r in rules] == pytest.approx(everything[:10])
    for rule in rules:
        assert rule.weight == trained_model.wide_.params[rule.field][rule.feature_id]


def test_strongest_rules_of_one_field(trained_model):
    rules = strongest_rules(trained_model, top=3, field="impression")
    assert {r.field for r in rules} == {"impression"}
    weights = np.abs(trained_model.wide_.params["impression"])
    assert abs(rules[0].weight) == pytest.approx(weights.max())
    with pytest.raises(ValueError, match="not a wide field"):
        strongest_rules(trained_model, field="user_dense")


def test_strongest_rules_of_a_multiclass_model_rank_one_class_weights():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 9, size=600)
    y = (ids % 3).astype(float)                    # id -> class: the wide part memorizes it
    model = WideEstimator({"item": 9}, objective="multiclass", n_classes=3, epochs=5,
                          random_state=0).fit({"item": SparseInput.from_ids(ids)}, y)
    weights = model.wide_.params["item"]            # [9, 3]
    for k in range(3):
        rules = strongest_rules(model, top=4, class_index=k)
        column = weights[:, k]
        expected = sorted((abs(float(w)) for w in column if w != 0), reverse=True)[:4]
        assert [abs(r.weight) for r in rules] == pytest.approx(expected)
        assert all(r.weight == column[r.feature_id] for r in rules)
    with pytest.raises(ValueError, match="pass class_index"):
        strongest_rules(model)
    with pytest.raises(ValueError, match="class_index must be in 0 .. 2"):
        strongest_rules(model, class_index=3)


def test_class_index_is_refused_for_a_binary_model(trained_model):
    with pytest.raises(ValueError, match="class_index is for multiclass"):
        strongest_rules(trained_model, class_index=0)


def test_sparsity_report_counts_nonzero_weights_per_field():
    ids = np.array([0, 1, 2, 3] * 50)
    X = {"color": SparseInput.from_ids(ids), "noise": SparseInput.from_ids(np.arange(200) % 50)}
    y = (ids % 2 == 0).astype(float)
    from widedeep import FtrlProximal
    model = WideEstimator({"color": 6, "noise": 60}, ftrl=FtrlProximal(alpha=0.1, l1=2.0),
                          epochs=3, random_state=0).fit(X, y)
    report = sparsity_report(model)
    for field in ("color", "noise"):
        nonzero = int(np.count_nonzero(model.wide_.params[field]))
        assert report.fields[field] == (nonzero, model.wide_fields[field])
    assert report.fields["color"][0] <= 4        # ids 4, 5 never seen
    assert report.fields["noise"][0] <= 50       # ids 50.. never seen; L1 prunes more
    assert report.total == 66
    assert report.fraction == pytest.approx(report.nonzero / 66)
    assert "total" in str(report)


# ---------------------------------------------------------------- with a FeatureSpec
def test_explain_raw_row_uses_tokens_and_cross_component_values(spec_model):
    spec, model = spec_model
    raw = one_row(raw_batch(np.random.default_rng(1), 5), 2)
    result = explain(model, raw, spec=spec)
    by_field = {}
    for c in result.wide_contributions:
        by_field.setdefault(c.field, []).append(c)
    assert [c.token for c in by_field["impression_app"]] == [raw["impression_app"][0]]
    assert [c.token for c in by_field["country"]] == [raw["country"][0]]
    expected = {f"installed_apps={a} AND impression_app={raw['impression_app'][0]}"
                for a in raw["installed_apps"].to_lists()[0]}
    shown = set()
    for c in by_field["installed_apps_x_impression_app"]:
        shown.update(c.token.split(" | "))
    assert shown == expected
    total = result.bias + sum(c.contribution for c in result.wide_contributions) \
        + result.deep_logit
    assert total == pytest.approx(result.logit, abs=1e-5)
    assert "installed_apps=" in str(result)


def test_strongest_rules_show_vocabulary_tokens(spec_model):
    spec, model = spec_model
    rules = strongest_rules(model, spec=spec, top=50, field="impression_app")
    tokens = spec.vocabulary_tokens("impression_app")
    assert rules and all(r.token == tokens[r.feature_id] for r in rules)


def test_explaining_never_mutates_the_model(trained_model, training_data):
    before = trained_model.get_state(copy=True)
    explain(trained_model, one_example(training_data[0], 5))
    strongest_rules(trained_model, top=5)
    sparsity_report(trained_model)
    after = trained_model.get_state()
    assert all(before[key].tobytes() == after[key].tobytes() for key in before)

"""The app-store generator's exception rules are learnable: a wide-only model memorizes them.

A `WideEstimator` over the unhashed cross ``installed_app * n_apps + impression_app`` (one
coordinate per pair, built directly as a `SparseInput`: no collisions), the impression app
one-hot and the cross ``installed_app x impression_category`` (which absorbs the smooth
same-category affinity, so that pair weights are left for what only a pair explains) is
trained on generated impressions. Its largest-|w| pair weights must be the planted
``(installed_app, impression_app)`` rules, with the rules' signs (boost +, veto -).
"""
import numpy as np
import pytest

from widedeep import FtrlProximal, SparseInput, WideEstimator
from widedeep.datasets import AppStore

N_APPS = 200
N_RULES = 20
N_EXAMPLES = 150_000


@pytest.fixture(scope="module")
def trained():
    store = AppStore(n_users=5000, n_apps=N_APPS, n_rules=N_RULES, random_state=0)
    columns, labels = store.sample(N_EXAMPLES, day=0)
    installed, impression = columns["installed_apps"], columns["impression_app"]
    rows = installed.row_ids
    pair_ids = installed.values * N_APPS + impression[rows]
    _, category = np.unique(columns["impression_category"], return_inverse=True)
    category = category.ravel()
    n_categories = int(category.max()) + 1
    features = {
        "pair": SparseInput(rows, pair_ids, n_examples=N_EXAMPLES),
        "impression_app": SparseInput.from_ids(impression),
        "installed_x_category": SparseInput(rows, installed.values * n_categories
                                            + category[rows], n_examples=N_EXAMPLES),
    }
    model = WideEstimator({"pair": N_APPS * N_APPS, "impression_app": N_APPS,
                           "installed_x_category": N_APPS * n_categories},
                          ftrl=FtrlProximal(alpha=0.1, beta=0.01), batch_size=256, epochs=2,
                          random_state=0).fit(features, labels)
    rules = store.rules
    planted = dict(zip((rules["installed_app"] * N_APPS + rules["impression_app"]).tolist(),
                       rules["effect"].tolist()))
    return model.wide_.params["pair"], planted


def test_the_world_has_the_requested_rules_half_boosts_half_vetoes(trained):
    _, planted = trained
    effects = np.array(list(planted.values()))
    assert len(planted) == N_RULES
    assert (effects > 0).sum() == N_RULES // 2 and (effects < 0).sum() == N_RULES // 2


def test_largest_pair_weights_are_mostly_planted_rules(trained):
    weights, planted = trained
    k = len(planted)
    top = np.argsort(-np.abs(weights), kind="stable")[:k]
    share = np.mean([int(pair) in planted for pair in top])
    assert share >= 0.7, f"only {share:.0%} of the top-{k} pair weights are planted rules"


def test_the_strongest_half_of_pair_weights_are_all_planted_rules(trained):
    weights, planted = trained
    top = np.argsort(-np.abs(weights), kind="stable")[:len(planted) // 2]
    assert all(int(pair) in planted for pair in top), [
        (int(p) // N_APPS, int(p) % N_APPS, float(weights[p])) for p in top
        if int(p) not in planted]


def test_learned_rule_weights_have_the_signs_of_the_planted_effects(trained):
    weights, planted = trained
    top = np.argsort(-np.abs(weights), kind="stable")[:len(planted)]
    recovered = [int(pair) for pair in top if int(pair) in planted]
    assert recovered
    for pair in recovered:
        assert np.sign(weights[pair]) == np.sign(planted[pair]), (
            f"rule installed={pair // N_APPS} impression={pair % N_APPS}: effect "
            f"{planted[pair]:+.2f}, weight {weights[pair]:+.3f}")

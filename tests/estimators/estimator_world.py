"""A synthetic world for estimator tests: latent user-item affinity plus exception rules."""
import numpy as np
import pytest

from widedeep import SparseInput


def make_world(seed=0, n_users=300, n_items=60, n_groups=10, n_rules=60):
    """Users and items with a rank-2 latent affinity (generalizes) plus strong exception
    rules on (user group, item) pairs (only a cross feature memorizes them)."""
    rng = np.random.default_rng(seed)
    user_vec = rng.standard_normal((n_users, 2)) / np.sqrt(2)
    item_vec = rng.standard_normal((n_items, 2)) / np.sqrt(2)
    rules = np.zeros((n_groups, n_items))
    rules.flat[rng.choice(n_groups * n_items, n_rules, replace=False)] = \
        rng.choice([-4.0, 4.0], n_rules)
    return dict(n_users=n_users, n_items=n_items, n_groups=n_groups, user_vec=user_vec,
                item_vec=item_vec, rules=rules)


def sample(world, n, seed):
    rng = np.random.default_rng(seed)
    u = rng.integers(0, world["n_users"], n)
    i = rng.integers(0, world["n_items"], n)
    g = u % world["n_groups"]
    logit = 2.0 * np.sum(world["user_vec"][u] * world["item_vec"][i], 1) \
        + world["rules"][g, i] - 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    features = {
        "user": SparseInput.from_ids(u, field="user"),
        "item": SparseInput.from_ids(i, field="item"),
        "group_x_item": SparseInput.from_ids(g * world["n_items"] + i, field="group_x_item"),
        "context": rng.standard_normal((n, 2)).astype(np.float32),
    }
    return features, y


@pytest.fixture(scope="session")
def world():
    return make_world()


@pytest.fixture(scope="session")
def small_data(world):
    return sample(world, 2000, seed=1), sample(world, 1000, seed=2)


def model_params(world):
    return dict(
        wide_fields={"user": world["n_users"], "item": world["n_items"],
                     "group_x_item": world["n_groups"] * world["n_items"]},
        deep=dict(vocabularies={"user": (world["n_users"], 8), "item": (world["n_items"], 8)},
                  embedding_fields={"user": "user", "item": "item"},
                  dense_fields={"context": 2}, hidden_units=(32,)),
    )

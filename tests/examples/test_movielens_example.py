"""The movielens example end to end on the real MovieLens 100K files (quick mode).

Runs ``examples/movielens.py --quick`` in a subprocess (so the example's one-BLAS-thread
setting applies, as it would for a user) and checks the metrics it writes with ``--json``.
"""
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from shared_data import dataset_folder

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "examples" / "movielens.py"

def _example_module():
    spec = importlib.util.spec_from_file_location("movielens_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_history_holds_strictly_earlier_items_of_the_same_user_capped_at_the_latest():
    example = _example_module()
    users = np.array([1, 1, 1, 1, 1, 2, 2, 2])
    timestamps = np.array([10, 20, 20, 30, 40, 5, 5, 6])
    items = np.array([101, 102, 103, 104, 105, 201, 202, 203])
    history = example.earlier_items(users, timestamps, items, max_length=2)
    # the two ratings at time 20 do not see each other; user 2 never sees user 1
    assert history.to_lists() == [[], [101], [101], [102, 103], [103, 104], [], [],
                                  [201, 202]]


def test_last_per_user_marks_each_users_latest_rows():
    example = _example_module()
    users = np.array([1, 1, 1, 2, 2, 3])
    assert example.last_per_user(users, 2).tolist() == [False, True, True, True, True, True]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    data = dataset_folder("movielens100k", ["u.data"])
    results_file = tmp_path_factory.mktemp("movielens") / "results.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--data", str(data), "--seed", "0",
         "--json", str(results_file)],
        capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return json.loads(results_file.read_text()), completed.stdout


def test_movielens_quick_trains_all_three_models_above_auc_0_6(quick_run):
    results, _ = quick_run
    assert list(results) == ["wide", "deep", "wide & deep", "rating regressor"]
    for name, metrics in list(results.items())[:3]:
        assert all(math.isfinite(metrics[k]) for k in ("auc", "logloss", "accuracy")), name
        assert metrics["auc"] > 0.6, (name, metrics)
        assert metrics["logloss"] < 0.69, (name, metrics)   # log(2): the coin flip
        assert metrics["accuracy"] > 0.6, (name, metrics)


def test_movielens_quick_prints_per_epoch_tables_and_the_summary(quick_run):
    results, stdout = quick_run
    assert stdout.count("| epoch | train logloss | test logloss | test AUC") == 3
    summary = stdout[stdout.index("## Summary (test set)"):]
    for name, metrics in list(results.items())[:3]:
        assert f"| {name} | {metrics['auc']:.4f} | {metrics['logloss']:.4f} |" in summary


def test_movielens_quick_rating_regressor_beats_the_global_mean(quick_run):
    results, stdout = quick_run
    rating = results["rating regressor"]
    assert all(math.isfinite(rating[k]) for k in ("rmse", "mae", "global_mean_rmse",
                                                   "user_mean_rmse"))
    assert rating["rmse"] < rating["global_mean_rmse"], rating
    assert f"| wide & deep regressor | {rating['rmse']:.4f}" in stdout


def test_rating_baselines_are_the_global_and_per_user_means():
    example = _example_module()
    out = example.rating_baselines(np.array([1, 1, 2]), np.array([4.0, 2.0, 5.0]),
                                   np.array([1, 2, 3]), np.array([3.0, 4.0, 5.0]))
    # global mean 11/3; user means 3 (user 1), 5 (user 2), unknown user 3 -> 11/3
    assert out["global_mean_rmse"] == pytest.approx(np.sqrt(((3 - 11 / 3) ** 2 + (4 - 11 / 3) ** 2
                                                             + (5 - 11 / 3) ** 2) / 3))
    assert out["user_mean_rmse"] == pytest.approx(np.sqrt((0 + 1 + (5 - 11 / 3) ** 2) / 3))

"""The app-store example end to end (``examples/app_store.py --quick``).

The example runs in a subprocess, as a user runs it, so that its one-BLAS-thread setting
applies (inside pytest NumPy is already imported with as many BLAS threads as cores, which
makes the quick run several times slower on a busy machine); ``--json`` writes the dict
``main`` returns. One quick run (50,000 training impressions, 2 epochs) tells the whole
story: the three models, save/load, the day-1 warm start and the ranked requests; each
test checks one of its results. At this size, with the fixed seed, Wide & Deep beats both
single models by about 0.02 AUC (seeds 0-3 all show it, by 0.010-0.024).
"""
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "examples" / "app_store.py"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("app_store")
    results_file = out / "results.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--seed", "0", "--out", str(out),
         "--json", str(results_file)],
        capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    return json.loads(results_file.read_text()), completed.stdout, out


def test_all_three_models_learn_something(quick_run):
    results, _, _ = quick_run
    assert list(results["models"]) == ["wide", "deep", "wide_deep"]
    for kind, metrics in results["models"].items():
        assert math.isfinite(metrics["logloss"]) and metrics["logloss"] < 0.48, (kind, metrics)
        assert metrics["auc"] > 0.65, (kind, metrics)


def test_wide_and_deep_beats_wide_only_and_deep_only(quick_run):
    models = quick_run[0]["models"]
    assert models["wide_deep"]["auc"] > models["wide"]["auc"] + 0.005, models
    assert models["wide_deep"]["auc"] > models["deep"]["auc"] + 0.005, models
    assert models["wide_deep"]["logloss"] < min(models["wide"]["logloss"],
                                                models["deep"]["logloss"]), models


def test_installed_and_impression_apps_share_one_vocabulary(quick_run):
    vocabularies = quick_run[0]["spec"]
    assert "app" in vocabularies and "installed_apps" not in vocabularies \
        and "impression_app" not in vocabularies
    assert 900 < vocabularies["app"] <= 1001  # 1,000 day-0 apps + the OOV id


def test_progress_lines_and_comparison_table_are_printed(quick_run):
    results, stdout, _ = quick_run
    assert stdout.count(" ex/s ") == 3 * 2 + 2  # 3 models x 2 epochs + warm and cold day 1
    for kind, name in (("wide", "wide"), ("deep", "deep"), ("wide_deep", "wide & deep")):
        metrics = results["models"][kind]
        assert f"| {name} | {metrics['auc']:.4f} | {metrics['logloss']:.4f} |" in stdout


def test_saved_model_reloads_with_identical_predictions(quick_run):
    results, _, out = quick_run
    assert results["reload"]["identical"] is True
    assert results["reload"]["max_abs_difference"] == 0.0
    assert (Path(results["reload"]["path"]) / "manifest.json").is_file()
    assert Path(results["reload"]["path"]).parent == out


def test_warm_start_carries_old_apps_and_adds_the_launched_ones(quick_run):
    warm = quick_run[0]["warm_start"]
    assert warm["new_vocabulary"] > warm["old_vocabulary"]
    app = warm["report"]["embeddings"]["app"]
    assert app["how"] == "token"
    assert app["carried"] >= 900
    assert app["new"] >= 20  # 20 apps launched on day 1
    assert warm["report"]["wide"]["impression_app"]["carried"] == app["carried"]
    assert all(status == "copied" for status in warm["report"]["dense"].values())


def test_warm_started_day1_model_beats_a_cold_start_trained_as_long(quick_run):
    warm = quick_run[0]["warm_start"]
    assert warm["warm"]["auc"] > warm["cold"]["auc"] + 0.01, warm


def test_rankings_are_sorted_by_score_and_beat_random_candidates(quick_run):
    rankings = quick_run[0]["rankings"]
    assert len(rankings) == 2
    for ranking in rankings:
        scores = [entry["score"] for entry in ranking["top"]]
        apps = [entry["app"] for entry in ranking["top"]]
        assert len(scores) == 5 and len(set(apps)) == 5
        assert np.all(np.diff(scores) <= 0), scores
    top = np.mean([r["true_top_probability"] for r in rankings])
    random = np.mean([r["true_mean_probability"] for r in rankings])
    assert top > random, (top, random)


def test_fired_rules_are_printed_as_installed_and_impression_pairs(quick_run):
    rankings = quick_run[0]["rankings"]
    rules = [rule for ranking in rankings for entry in ranking["top"] for rule in entry["rules"]]
    assert rules
    for rule in rules:
        assert rule.startswith("installed_apps=") and " AND impression_app=" in rule, rule


def test_most_of_the_largest_cross_weights_are_planted_rules(quick_run):
    assert quick_run[0]["strongest_rules_planted"] >= 0.5

"""The census example end to end on the real UCI Adult files (quick mode).

Runs ``examples/census.py --quick`` in a subprocess (so the example's one-BLAS-thread
setting applies, as it would for a user) and checks the metrics it writes with ``--json``.
"""
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from shared_data import find_dataset, skip_unless_dataset

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "examples" / "census.py"
DATA = find_dataset("adult", ["train.csv", "test.csv"])

pytestmark = skip_unless_dataset("adult", ["train.csv", "test.csv"])


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    results_file = tmp_path_factory.mktemp("census") / "results.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--data", str(DATA), "--seed", "0",
         "--json", str(results_file)],
        capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return json.loads(results_file.read_text()), completed.stdout


def test_census_quick_trains_all_three_models_above_auc_0_8(quick_run):
    results, _ = quick_run
    assert list(results) == ["wide", "deep", "wide & deep"]
    for name, metrics in results.items():
        assert all(math.isfinite(metrics[k]) for k in ("auc", "logloss", "accuracy")), name
        assert metrics["auc"] > 0.8, (name, metrics)
        assert metrics["logloss"] < 0.45, (name, metrics)
        # the majority class (<=50K) alone gives about 0.76
        assert metrics["accuracy"] > 0.78, (name, metrics)


def test_census_quick_prints_per_epoch_tables_and_the_summary(quick_run):
    results, stdout = quick_run
    assert stdout.count("| epoch | train logloss | test logloss | test AUC") == 3
    summary = stdout[stdout.index("## Summary (test set)"):]
    for name, metrics in results.items():
        assert f"| {name} | {metrics['auc']:.4f} | {metrics['logloss']:.4f} |" in summary

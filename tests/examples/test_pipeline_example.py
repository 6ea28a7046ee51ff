"""The serving pipeline end to end (``examples/pipeline.py --quick``): day 0 served, day 1
warm-started, gated and swapped in under load with no failed request, a broken day 2
refused with its reason. Runs as a subprocess, as a user runs it; skips without the
``serve`` extra."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "pipeline.py"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    results_file = tmp_path_factory.mktemp("pipeline") / "results.json"
    completed = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--json",
                                str(results_file)], capture_output=True, text=True,
                               timeout=600)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return json.loads(results_file.read_text()), completed.stdout


def test_no_request_failed_through_the_swap(run):
    results, stdout = run
    assert results["failed"] == [] and results["n_requests"] > 20
    assert "PIPELINE OK" in stdout


def test_day1_was_gated_against_day0_and_swapped_in_under_load(run):
    results, _ = run
    assert results["version2"]["state"] == "AVAILABLE"
    details = results["version2"]["details"]
    assert details["current_metrics"]["auc"] > 0.5 and details["candidate_metrics"]["auc"] > 0.5
    assert results["by_version"]["1"] > 0 and results["by_version"]["2"] > 0
    versions = [v for v in results["version_versions"]]
    assert versions.index(2) > 0          # served version 1 first, then 2


def test_broken_day2_was_refused_for_its_nan_weights(run):
    results, _ = run
    assert results["version3"]["state"] == "REFUSED"
    assert "non-finite weights" in results["version3"]["reasons"][0]
    assert results["by_version"]["3"] == 0 and results["serving"] == 2

"""The README's Python snippets run as written (each in a fresh namespace)."""
import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from shared_data import dataset_folder

README = Path(__file__).resolve().parents[1] / "README.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_snippets():
    assert len(SNIPPETS) >= 3


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_readme_snippet_runs(index, tmp_path):
    if "widedeep.dask" in SNIPPETS[index]:
        pytest.importorskip("distributed")   # the [dask] extra
    script = tmp_path / f"snippet_{index}.py"
    script.write_text(SNIPPETS[index], encoding="utf-8")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    if "WIDEDEEP_DATA" in SNIPPETS[index]:
        env["WIDEDEEP_DATA"] = str(_data_root())
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    if "spec.batches" in SNIPPETS[index]:
        metrics = ast.literal_eval(re.search(r"\{'logloss'.*?\}", done.stdout).group(0))
        assert metrics["auc"] > 0.75
    if "model.evaluate" in SNIPPETS[index] and "explain(" in SNIPPETS[index]:
        metrics = ast.literal_eval(re.search(r"\{'logloss'.*?\}", done.stdout).group(0))
        assert metrics["auc"] > 0.6
        assert "wide features:" in done.stdout        # the explanation printed
        # the sample output printed in the README is this run's, not edited by hand
        shown = [line[2:] for line in SNIPPETS[index].splitlines()
                 if line.startswith("# logit") or line.startswith("#   ")
                 and not line.startswith("#   ...")]
        assert shown and all(line in done.stdout.splitlines() for line in shown), shown
        printed = ast.literal_eval(re.search(r"# (\{'logloss'.*?\})", SNIPPETS[index]).group(1))
        assert all(abs(printed[key] - metrics[key]) < 1e-4 for key in printed), printed
    if "cross_val_score" in SNIPPETS[index]:
        scores = [float(x) for x in re.search(r"\[([^\]]*)\]", done.stdout).group(1).split()]
        assert len(scores) == 3 and min(scores) > 0.88        # AUC per fold


def _data_root():
    """The folder holding ``adult/train.csv``: $WIDEDEEP_DATA, else ../shared/datasets."""
    return dataset_folder("adult", ["train.csv"]).parent


CLI_BLOCKS = [block for block in re.findall(r"```bash\n(.*?)```", README.read_text(
    encoding="utf-8"), re.S) if block.lstrip().startswith("widedeep train")]


def test_readme_has_a_cli_example():
    assert CLI_BLOCKS


@pytest.mark.parametrize("index", range(len(CLI_BLOCKS)))
def test_readme_cli_example_runs(index, tmp_path):
    root = _data_root()
    script = tmp_path / "cli_example.sh"
    # `widedeep` is the console script of an installed package; run this checkout's
    script.write_text("set -euo pipefail\nwidedeep() { \"$PYTHON\" -m widedeep \"$@\"; }\n"
                      + CLI_BLOCKS[index], encoding="utf-8")
    env = dict(os.environ, WIDEDEEP_DATA=str(root), PYTHON=sys.executable,
               PYTHONPATH=str(README.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads(next(line for line in done.stdout.splitlines()
                              if line.startswith('{"data"')))       # evaluate's JSON line
    assert metrics["auc"] > 0.85
    assert len((tmp_path / "scores.csv").read_text().splitlines()) == 16281 + 1
    assert "strongest 5 wide rules" in done.stdout

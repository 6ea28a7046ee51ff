"""Progress through logging: epoch lines and in-epoch progress lines with verbose, nothing
at INFO without; stdout when logging is not configured."""
import logging
import os
import subprocess
import sys


import widedeep.estimators.base as base_module
from widedeep import WideEstimator
from widedeep.estimators.progress import EpochProgress

from estimator_world import model_params


def wide(world, **kw):
    kw.setdefault("random_state", 0)
    return WideEstimator(model_params(world)["wide_fields"], **kw)


def wide_X(X):
    return {k: v for k, v in X.items() if k != "context"}


def test_progress_line_gives_rows_speed_and_eta():
    times = iter([0.0, 2.0])
    progress = EpochProgress(3, total_rows=1000, interval=1.0, enabled=True,
                             clock=lambda: next(times))
    progress.rows = 250
    # 250 rows in 2 s: 125 ex/s, 750 rows left: 6 s
    assert progress.line(2.0) == "epoch   3: 250 rows of 1,000 (25%)  125 ex/s  ETA 6 s"


def test_verbose_logs_progress_inside_epochs_and_a_line_per_epoch(world, small_data, caplog,
                                                                  monkeypatch):
    (X, y), _ = small_data
    monkeypatch.setattr(base_module, "PROGRESS_SECONDS", 0.0)   # a line after every batch
    with caplog.at_level(logging.INFO, logger="widedeep"):
        wide(world, epochs=2, batch_size=600, verbose=1).fit(wide_X(X), y)
    lines = [r.getMessage() for r in caplog.records if r.name == "widedeep"]
    progress = [line for line in lines if "rows of 1,800" in line]
    assert len(progress) == 2 * 3                           # 1800 training rows / 600
    assert progress[0].startswith("epoch   1: 600 rows of 1,800 (33%)") and "ETA" in progress[0]
    epochs = [line for line in lines if line.startswith("epoch") and "validation logloss" in line]
    assert [line.split()[1] for line in epochs] == ["1", "2"]
    assert any(line.startswith("best epoch") for line in lines)


def test_quiet_by_default(world, small_data, caplog):
    (X, y), _ = small_data
    with caplog.at_level(logging.INFO, logger="widedeep"):
        wide(world, epochs=2).fit(wide_X(X), y)
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and r.name == "widedeep"]


def test_verbose_prints_to_stdout_when_logging_is_not_configured(tmp_path):
    script = (
        "import numpy as np\n"
        "from widedeep import SparseInput, WideEstimator\n"
        "ids = np.arange(400) % 4\n"
        "X = {'c': SparseInput.from_ids(ids, vocab_size=4)}\n"
        "WideEstimator({'c': 4}, epochs=2, verbose=1, random_state=0)"
        ".fit(X, (ids % 2).astype(float))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={**os.environ}, check=True)
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines if "ex/s" in line] == [["epoch", "1"],
                                                                       ["epoch", "2"]]

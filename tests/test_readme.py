"""The README's Python snippets run as written (each in a fresh namespace)."""
import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    if "model.evaluate" in SNIPPETS[index]:
        metrics = ast.literal_eval(re.search(r"\{'logloss'.*?\}", done.stdout).group(0))
        assert metrics["auc"] > 0.6
        assert "wide features:" in done.stdout        # the explanation printed

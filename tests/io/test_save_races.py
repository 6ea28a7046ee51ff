"""Saving and loading across processes: a save killed at any moment leaves the previous
model loadable and its leftovers are cleaned by the next save; a reader racing a writer
gets the old model or the new one, never an error. Both run real subprocesses."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from widedeep.io import load_model, load_model_and_spec, read_manifest, save_model

MAKE_MODELS = textwrap.dedent("""
    import numpy as np
    from widedeep import SparseInput, WideDeepEstimator
    from widedeep.features import CategoricalColumn, FeatureSpec

    def make(seed, rows=200):
        X = {"f": SparseInput.from_ids(np.arange(rows) % 50)}
        y = (np.arange(rows) % 2).astype(float)
        model = WideDeepEstimator({"f": 50}, vocabularies={"f": (50, 8)},
                                  embedding_fields={"f": "f"}, hidden_units=(16,),
                                  random_state=seed, epochs=1).fit(X, y)
        # the spec records which model it belongs to, to catch mixed snapshots
        spec = FeatureSpec([CategoricalColumn("f", vocabulary=[f"m{seed}"])])
        return model, spec
""")

WRITER = MAKE_MODELS + textwrap.dedent("""
    import sys
    from widedeep.io import save_model
    path = sys.argv[1]
    pairs = [make(0), make(1)]
    k = 0
    while True:
        save_model(pairs[k % 2][0], path, spec=pairs[k % 2][1])
        k += 1
""")


def _models():
    namespace = {}
    exec(MAKE_MODELS, namespace)
    return namespace["make"]


def _start_writer(tmp_path, path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    return subprocess.Popen([sys.executable, str(script), str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for_saves(path, n=3, timeout=60):
    seen, deadline = set(), time.time() + timeout
    while len(seen) < n and time.time() < deadline:
        try:
            seen.add(read_manifest(path, verify=False)["snapshot"])
        except ValueError:
            pass
        time.sleep(0.01)
    assert len(seen) >= n, "the writer did not save"


def _which(model, references):
    logits = model.predict_logit(PROBE)
    return [k for k, ref in enumerate(references)
            if np.array_equal(logits, ref.predict_logit(PROBE))]


PROBE = None


@pytest.fixture(scope="module")
def references():
    global PROBE
    from widedeep import SparseInput
    PROBE = {"f": SparseInput.from_ids(np.arange(50))}
    make = _models()
    return [make(0), make(1)]


def test_loading_while_another_process_saves_never_fails(tmp_path, references):
    path = tmp_path / "model"
    save_model(references[0][0], path, spec=references[0][1])
    writer = _start_writer(tmp_path, path)
    try:
        _wait_for_saves(path)
        # at least 4 s of loads and at least 10 loads, whatever the machine's load
        loads, deadline, give_up = 0, time.time() + 4, time.time() + 120
        while (time.time() < deadline or loads < 10) and time.time() < give_up:
            model, spec = load_model_and_spec(path, mmap=loads % 2 == 1)
            which = _which(model, [r[0] for r in references])
            assert len(which) == 1                               # the old or the new model
            assert spec.vocabulary_tokens("f")[1] == f"m{which[0]}"  # and its own spec
            load_model(path)
            loads += 1
    finally:
        writer.kill()
        writer.wait()
    assert loads >= 10


@pytest.mark.parametrize("delay", [0.07, 0.31])
def test_a_killed_save_leaves_a_loadable_model_and_is_cleaned_up(tmp_path, references, delay):
    path = tmp_path / "model"
    save_model(references[0][0], path, spec=references[0][1])
    writer = _start_writer(tmp_path, path)
    try:
        _wait_for_saves(path, n=2)
        time.sleep(delay)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    model, spec = load_model_and_spec(path)     # whatever the kill interrupted
    assert len(_which(model, [r[0] for r in references])) == 1
    save_model(references[1][0], path, spec=references[1][1])
    assert sorted(os.listdir(path)) == sorted(["manifest.json",
                                               read_manifest(path)["snapshot"]])
    assert _which(load_model(path), [r[0] for r in references]) == [1]


def test_leftovers_of_killed_saves_are_removed_by_the_next_save(tmp_path, references):
    path = tmp_path / "model"
    save_model(references[0][0], path)
    stale = ["snapshot-" + "a" * 32, ".tmp-snapshot-" + "b" * 32]
    for name in stale:
        os.mkdir(path / name)
        (path / name / "arrays.npz").write_bytes(b"partial")
    (path / (".tmp-snapshot-" + "c" * 32 + "-manifest.json")).write_text("{")
    assert _which(load_model(path), [r[0] for r in references]) == [0]
    save_model(references[1][0], path)
    assert sorted(os.listdir(path)) == sorted(["manifest.json",
                                               read_manifest(path)["snapshot"]])

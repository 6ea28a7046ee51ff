"""Random byte flips and truncations of a saved model's files: loading either raises a
ValueError/TypeError/FileNotFoundError naming the damaged file (or the model directory),
or -- when the change does not matter, e.g. an unchecked version string -- returns a model
that predicts exactly what the saved one did. With ``verify=True`` no change to a snapshot
file gets through; ``verify=False`` is documented to trust the array bytes."""
import os
import shutil
import tempfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from widedeep import SparseInput, WideDeepEstimator
from widedeep.features import CategoricalColumn, FeatureSpec
from widedeep.io import load_model_and_spec, read_manifest, save_model
from property_helpers import PROPERTY_SETTINGS, assert_named_error

FILES = ["manifest.json", "arrays.npz", "config.json", "training_state.json", "spec.json"]
PROBE = {"f": SparseInput.from_ids(np.arange(20))}


@pytest.fixture(scope="module")
def saved():
    X = {"f": SparseInput.from_ids(np.arange(100) % 20)}
    y = (np.arange(100) % 3 == 0).astype(float)
    model = WideDeepEstimator({"f": 20}, vocabularies={"f": (20, 4)},
                              embedding_fields={"f": "f"}, hidden_units=(6,), epochs=2,
                              random_state=0).fit(X, y)
    spec = FeatureSpec([CategoricalColumn("f", vocabulary=[str(k) for k in range(19)])])
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "model")
    save_model(model, path, spec=spec)
    yield path, model.predict_logit(PROBE)
    shutil.rmtree(folder)


def _target(path, name):
    if name == "manifest.json":
        return os.path.join(path, name)
    return os.path.join(path, read_manifest(path, verify=False)["snapshot"], name)


@PROPERTY_SETTINGS
@given(st.sampled_from(FILES), st.sampled_from(["flip", "truncate"]),
       st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
                min_size=1, max_size=4),
       st.booleans())
def test_damaged_model_files_are_named_or_harmless(saved, name, action, edits, verify):
    original, expected = saved
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "model")
    shutil.copytree(original, path)
    try:
        target = _target(path, name)
        with open(target, "rb") as handle:
            before = handle.read()
        data = bytearray(before)
        if action == "truncate":
            data = data[:int(edits[0][0] * len(data))]
        else:
            for where, mask in edits:
                data[int(where * len(data))] ^= mask
        if bytes(data) == before:
            return                          # two flips cancelled out
        with open(target, "wb") as handle:
            handle.write(bytes(data))
        try:
            model, spec = load_model_and_spec(path, verify=verify)
        except Exception as error:          # noqa: BLE001 - classified below
            assert_named_error(error, "|".join([path.replace("\\", "\\\\"), "manifest",
                                                name.replace(".", r"\.")]))
            return
        if verify and name != "manifest.json":
            pytest.fail(f"a changed {name} passed the checksum")
        logits = model.predict_logit(PROBE)
        if name == "arrays.npz":
            return                          # verify=False: documented to trust the bytes
        assert np.all(np.isfinite(logits))
        if name in ("manifest.json", "training_state.json") or action == "truncate":
            np.testing.assert_array_equal(logits, expected)
    finally:
        shutil.rmtree(folder)

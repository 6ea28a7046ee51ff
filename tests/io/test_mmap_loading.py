"""load_model(mmap=True): read-only memory maps of arrays.npz bound without a copy; the
model predicts exactly as a copied load and refuses to train."""
import numpy as np
import pytest

from widedeep.io import load_model, save_model
from widedeep.serving import Ranker

from io_helpers import make_model, synthetic


@pytest.mark.parametrize("kind", ["wide", "deep", "wide_deep"])
@pytest.mark.parametrize("vocabularies", [{"va": (20, 4), "vb": (30, 4)},   # one block
                                          {"va": (20, 4), "vb": (30, 3)}])  # a block each
def test_mapped_model_predicts_exactly_as_a_copied_load(tmp_path, kind, vocabularies):
    X, y = synthetic()
    overrides = {} if kind == "wide" else {"vocabularies": vocabularies}
    model = make_model(kind, **overrides).fit(X, y)
    save_model(model, tmp_path / "m")
    copied, mapped = load_model(tmp_path / "m"), load_model(tmp_path / "m", mmap=True)
    np.testing.assert_array_equal(mapped.predict_logit(X), copied.predict_logit(X))
    request = {"query": {}, "candidates": X}
    np.testing.assert_array_equal(Ranker(mapped).score(request), Ranker(copied).score(request))


def test_mapped_parameters_are_read_only_maps_of_the_archive(tmp_path):
    X, y = synthetic()
    save_model(make_model().fit(X, y), tmp_path / "m")
    mapped = load_model(tmp_path / "m", mmap=True)
    arrays = [mapped.wide_.params["a"], mapped.deep_.params["embedding/va"],
              mapped.deep_.layers[0].params["W"]]
    for array in arrays:
        assert isinstance(array.base, np.memmap) and array.base.filename.endswith("arrays.npz")
        assert not array.flags.writeable and not array.flags.owndata
    assert mapped.deep_.embeddings.fields["a"].table is mapped.deep_.params["embedding/va"]


def test_training_a_mapped_model_is_refused(tmp_path):
    X, y = synthetic()
    save_model(make_model("wide").fit(X, y), tmp_path / "m")
    mapped = load_model(tmp_path / "m", mmap=True)
    before = mapped.predict_logit(X)
    with pytest.raises((RuntimeError, ValueError)):
        mapped.partial_fit(X, y)
    np.testing.assert_array_equal(mapped.predict_logit(X), before)

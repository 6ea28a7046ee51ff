"""Versions under MODEL_BASE: polled, gated, swapped; refused ones reported with reasons and
not retried; pins roll back; only committed folders inside the base path are read."""
import copy
import os

import numpy as np
import pytest
from server_world import labels_of, rank_body, raw_batch, save_version, train

from widedeep.io import save_model
from widedeep.server import GateSettings, ModelRepository
from widedeep.server.request_body import parse_rank


# these tests are about versions, not speed: a latency budget that a loaded test machine
# cannot blow (the budget itself is tested in tests/serving/test_check.py)
GATE = GateSettings(latency_budget_ms=60_000.0)


@pytest.fixture(scope="module")
def models():
    good = train(seed=0)
    better = train(seed=1, n=3000)
    spec, model = good
    broken = copy.deepcopy(model)
    broken.deep_.layers[0].params["W"][2, :] = np.nan
    rng = np.random.default_rng(5)
    batch = raw_batch(rng, 2000)
    noise = spec.build_estimator("wide_deep", hidden_units=(16, 8), epochs=4, random_state=5)
    noise.fit(spec.transform(batch), rng.permutation(labels_of(rng, batch)))
    return {"good": good, "better": better, "nan": (spec, broken), "noise": (spec, noise)}


def states(repository, name="apps"):
    return {s.version: s.state for s in repository.status(name)}


def test_newest_version_is_gated_and_swapped_in(tmp_path, models):
    save_version(tmp_path, "apps", 1, *models["good"])
    repository = ModelRepository(tmp_path, gate=GATE)
    repository.poll()
    assert repository.serving("apps").version == 1
    first = repository.serving("apps")
    save_version(tmp_path, "apps", 2, *models["better"])
    repository.poll()
    assert repository.serving("apps").version == 2
    assert states(repository) == {1: "UNLOADED", 2: "AVAILABLE"}
    details = repository.status("apps")[0].details
    assert details["current_metrics"] is not None   # compared with version 1
    assert all(r._pool is None or r._pool._shutdown for r in first.rankers.values())


def test_nan_weights_are_refused_with_the_array_named_and_not_retried(tmp_path, models):
    save_version(tmp_path, "apps", 1, *models["good"])
    save_version(tmp_path, "apps", 2, *models["nan"])
    repository = ModelRepository(tmp_path, gate=GATE)
    repository.poll()
    assert repository.serving("apps") is not None, repository.status("apps")
    assert repository.serving("apps").version == 1
    refused = repository.status("apps")[0]
    assert refused.version == 2 and refused.state == "REFUSED"
    assert any("non-finite weights" in r and "deep/layer0/W" in r for r in refused.reasons), refused.reasons
    stamp = refused.updated
    repository.poll()
    assert repository.status("apps")[0].updated == stamp   # same snapshot: not retried


def test_a_refused_version_is_retried_once_its_folder_is_replaced(tmp_path, models):
    save_version(tmp_path, "apps", 1, *models["good"])
    save_version(tmp_path, "apps", 2, *models["nan"])
    repository = ModelRepository(tmp_path, gate=GATE)
    repository.poll()
    save_model(models["better"][1], tmp_path / "apps" / "2", spec=models["better"][0])
    repository.poll()
    assert repository.serving("apps").version == 2


def test_quality_drop_against_the_serving_version_is_refused(tmp_path, models):
    save_version(tmp_path, "apps", 1, *models["good"])
    repository = ModelRepository(tmp_path, gate=GATE)
    repository.poll()
    save_version(tmp_path, "apps", 2, *models["noise"], with_holdout=False)
    repository.poll()
    assert repository.serving("apps").version == 1
    (reason,) = [r for r in repository.status("apps")[0].reasons if "AUC" in r]
    assert "below the current model's" in reason


def test_first_version_without_gate_data_serves_with_a_note(tmp_path, models):
    save_version(tmp_path, "apps", 1, *models["good"], with_holdout=False, n_warmup=0)
    repository = ModelRepository(tmp_path, gate=GATE)
    repository.poll()
    assert repository.serving("apps").version == 1
    assert "only the weights were checked" in repository.status("apps")[0].notes[0]


def test_live_requests_are_the_warm_up_of_a_version_without_its_own(tmp_path, models):
    save_version(tmp_path, "apps", 1, *models["good"], with_holdout=False, n_warmup=0)
    repository = ModelRepository(tmp_path, gate=GATE)
    repository.poll()
    kinds = repository.serving("apps").kinds
    for seed in range(3):
        repository.record("apps", parse_rank(rank_body(np.random.default_rng(seed), 5), kinds,
                                             repository.limits))
    save_version(tmp_path, "apps", 2, *models["better"], with_holdout=False, n_warmup=0)
    repository.poll()
    status = repository.status("apps")[0]
    assert status.state == "AVAILABLE" and status.details["n_timed"] == 3


def test_pin_rolls_back_and_unpin_returns_to_the_newest(tmp_path, models):
    save_version(tmp_path, "apps", 1, *models["good"])
    save_version(tmp_path, "apps", 2, *models["better"])
    repository = ModelRepository(tmp_path, gate=GATE)
    repository.poll()
    assert repository.serving("apps").version == 2
    repository.pin("apps", 1)
    assert repository.serving("apps").version == 1
    assert states(repository) == {1: "AVAILABLE", 2: "READY"}
    repository.pin("apps", None)
    assert repository.serving("apps").version == 2


def test_pin_of_a_missing_version_is_reported_and_changes_nothing(tmp_path, models):
    save_version(tmp_path, "apps", 1, *models["good"])
    repository = ModelRepository(tmp_path, gate=GATE, pins={"apps": 9})
    repository.poll()
    assert repository.serving("apps") is None
    assert "does not exist" in repository.status("apps")[0].reasons[0]


def test_uncommitted_invalid_and_outside_folders_are_ignored(tmp_path, models):
    base, outside = tmp_path / "base", tmp_path / "outside"
    save_version(base, "apps", 1, *models["good"])
    os.makedirs(base / "apps" / "5")                    # no manifest.json yet: still writing
    os.makedirs(base / "apps" / "latest")               # not a version number
    save_version(outside, "secret", 1, *models["good"])
    os.symlink(outside / "secret", base / "secret")     # a model folder leading outside
    os.symlink(outside / "secret" / "1", base / "apps" / "7")
    os.makedirs(base / "bad name")
    repository = ModelRepository(base, gate=GATE)
    repository.poll()
    assert repository.names() == ["apps"]
    assert repository.serving("apps").version == 1
    assert set(states(repository)) == {1}


def test_a_damaged_version_is_refused_with_the_load_error(tmp_path, models):
    save_version(tmp_path, "apps", 1, *models["good"])
    final = save_version(tmp_path, "apps", 2, *models["better"])
    manifest = os.path.join(final, "manifest.json")
    snapshot = [e for e in os.listdir(final) if e.startswith("snapshot-")][0]
    with open(os.path.join(final, snapshot, "arrays.npz"), "r+b") as handle:
        handle.seek(100)
        handle.write(b"garbage!")
    assert os.path.exists(manifest)
    repository = ModelRepository(tmp_path, gate=GATE)
    repository.poll()
    assert repository.serving("apps").version == 1
    assert "cannot load" in repository.status("apps")[0].reasons[0]
    assert "SHA-256" in repository.status("apps")[0].reasons[0]


@pytest.mark.parametrize("objective, metric", [("regression", "RMSE"),
                                               ("multiclass", "accuracy")])
def test_a_degraded_regression_or_multiclass_version_is_refused_on_its_metrics(
        tmp_path, objective, metric):
    """Version 2 learned from permuted labels: its RMSE (regression) or accuracy and
    log-loss (multiclass) on the stored holdout are worse than version 1's beyond the
    tolerance, so version 1 keeps serving; a retrained good version 3 is accepted."""
    save_version(tmp_path, "m", 1, *train(seed=0, objective=objective))
    repository = ModelRepository(tmp_path, gate=GATE)
    repository.poll()
    save_version(tmp_path, "m", 2, *train(seed=2, objective=objective, shuffle_labels=True))
    repository.poll()
    assert repository.serving("m").version == 1
    refused = repository.status("m")[0]
    assert refused.version == 2 and refused.state == "REFUSED"
    assert any(r.startswith(metric) and "the current model's" in r for r in refused.reasons), \
        refused.reasons
    if objective == "multiclass":
        assert any(r.startswith("logloss") for r in refused.reasons), refused.reasons
    candidate, current = refused.details["candidate_metrics"], refused.details["current_metrics"]
    if objective == "regression":
        assert candidate["rmse"] > 1.01 * current["rmse"]
    else:
        assert candidate["accuracy"] < current["accuracy"] - 0.005
    save_version(tmp_path, "m", 3, *train(seed=3, n=3000, objective=objective))
    repository.poll()
    assert repository.serving("m").version == 3
    assert repository.status("m")[0].details["current_metrics"] is not None


def test_a_version_of_another_objective_is_refused_unless_pinned(tmp_path, models):
    save_version(tmp_path, "apps", 1, *models["good"])
    repository = ModelRepository(tmp_path, gate=GATE)
    repository.poll()
    save_version(tmp_path, "apps", 2, *train(seed=4, objective="regression"))
    repository.poll()
    assert repository.serving("apps").version == 1
    assert any("quality cannot be compared" in r for r in repository.status("apps")[0].reasons)
    repository.pin("apps", 2)
    assert repository.serving("apps").version == 2

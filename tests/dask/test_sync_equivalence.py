"""The central test: W replicas in float64 train exactly as one process on the same
global batch sequence (1e-10), for W = 1, 2, 3 with uneven and empty partitions."""
import numpy as np
import pytest

pytest.importorskip("distributed")

from widedeep.dask import DaskTrainer, global_batches  # noqa: E402
from dask_world import max_state_difference, models, partitions  # noqa: E402

# partition p: its batch sizes; one partition empty, one with an empty batch, one longer
SIZES = [[17, 9, 30], [], [5, 0, 12, 8], [22], [3, 3]]


OBJECTIVES = {"binary": ({}, lambda y: y), "regression": ({}, lambda y: 3.0 * y - 0.5),
              "multiclass": ({"n_classes": 3}, lambda y: y + (y > 0) * (np.arange(len(y)) % 2))}


def with_objective(sources, objective):
    relabel = OBJECTIVES[objective][1]
    return [[(f, relabel(y), w) for f, y, w in source] for source in sources]


@pytest.mark.parametrize("kind", ["wide", "deep", "wide_deep"])
@pytest.mark.parametrize("n_workers", [1, 2, 3])
def test_sync_training_equals_one_process_on_the_global_batches(client, kind, n_workers):
    sources = partitions(SIZES)
    reference = models()[kind]().fit(global_batches(sources), epochs=2)
    trained = DaskTrainer(models()[kind](), client, n_workers=n_workers).fit(sources, epochs=2)
    assert max_state_difference(trained, reference) < 1e-10
    assert trained.steps_trained_ == reference.steps_trained_ == 8
    assert trained.epochs_trained_ == 2
    assert trained._dropout_rng.bit_generator.state == reference._dropout_rng.bit_generator.state
    assert [r["examples"] for r in trained.history_] == [109, 109]
    np.testing.assert_allclose([r["train_logloss"] for r in trained.history_],
                               [r["train_logloss"] for r in reference.history_], rtol=1e-9)


@pytest.mark.parametrize("objective", ["regression", "multiclass"])
def test_sync_training_equals_one_process_for_other_objectives(client, objective):
    params, _ = OBJECTIVES[objective]
    sources = with_objective(partitions(SIZES, seed=1), objective)
    reference = models(objective=objective, **params)["wide_deep"]().fit(
        global_batches(sources), epochs=1)
    trained = DaskTrainer(models(objective=objective, **params)["wide_deep"](), client,
                          n_workers=3).fit(sources, epochs=1)
    assert max_state_difference(trained, reference) < 1e-10


def test_more_workers_than_partitions_leaves_some_replicas_without_rows(client):
    sources = partitions([[12, 5], [7, 7, 7]], seed=2)
    reference = models()["wide_deep"]().fit(global_batches(sources), epochs=1)
    trainer = DaskTrainer(models()["wide_deep"](), client, n_workers=3)
    trained = trainer.fit(sources, epochs=1)
    assert max_state_difference(trained, reference) < 1e-10
    assert [log["rows"] for log in trainer.step_log_] == [19, 12, 7]


def test_the_result_is_an_ordinary_estimator_that_keeps_training_in_one_process(client):
    sources = partitions(SIZES, seed=3)
    reference = models()["wide_deep"]().fit(global_batches(sources), epochs=2)
    trained = DaskTrainer(models()["wide_deep"](), client, n_workers=2).fit(sources, epochs=1)
    trained.set_params(warm_start=True).fit(global_batches(sources, first_epoch=1), epochs=1)
    assert max_state_difference(trained, reference) < 1e-10
    assert trained.epochs_trained_ == 2 and trained.steps_trained_ == reference.steps_trained_


def test_a_bad_label_raises_naming_the_row_and_leaves_a_fitted_model_unchanged(client):
    sources = partitions(SIZES, seed=4)
    model = DaskTrainer(models()["wide"](), client, n_workers=2).fit(sources, epochs=1)
    before = {key: value.copy() for key, value in model.get_state().items()}
    features, y, weights = sources[3][0]
    bad = y.copy()
    bad[5] = 3.0
    sources[3] = [(features, bad, weights)]
    with pytest.raises(ValueError, match=r"partition 3, its batch 0 .*row 5 has"):
        DaskTrainer(model.set_params(warm_start=True), client, n_workers=2).fit(sources)
    for key, value in model.get_state().items():
        np.testing.assert_array_equal(value, before[key])
    assert model.steps_trained_ == 4 and model.epochs_trained_ == 1

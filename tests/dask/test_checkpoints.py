"""Periodic checkpoints of a Dask fit go through `save_model`; training resumed from the
last one (in a new DaskTrainer) equals the uninterrupted run."""
import numpy as np
import pytest

pytest.importorskip("distributed")

from widedeep.dask import DaskTrainer  # noqa: E402
from widedeep.io import load_model  # noqa: E402
from dask_world import models, partitions  # noqa: E402


def test_resuming_from_an_epoch_checkpoint_equals_the_uninterrupted_run(client, tmp_path):
    sources = partitions([[17, 9, 30], [5, 0, 12, 8], [22]], seed=4)
    uninterrupted = DaskTrainer(models()["wide_deep"](), client, n_workers=2).fit(
        sources, epochs=3)
    # the run that "dies" after its second epoch: its checkpoints are all that is left
    trainer = DaskTrainer(models()["wide_deep"](), client, n_workers=2)
    trainer.fit(sources, epochs=2, checkpoint_dir=tmp_path / "ckpt", checkpoint_every=1)
    assert trainer.checkpoints_ == [1, 2]
    resumed = load_model(tmp_path / "ckpt").set_params(warm_start=True)
    assert resumed.epochs_trained_ == 2
    DaskTrainer(resumed, client, n_workers=3).fit(sources, epochs=1)   # other worker count
    state, expected = resumed.get_state(), uninterrupted.get_state()
    assert max(float(np.max(np.abs(state[k] - expected[k]))) for k in expected) < 1e-10
    assert resumed.steps_trained_ == uninterrupted.steps_trained_
    assert [r["train_logloss"] for r in resumed.history_] == pytest.approx(
        [r["train_logloss"] for r in uninterrupted.history_], rel=1e-9)


def test_bad_checkpoint_settings_are_refused_before_training(client, tmp_path):
    model = models()["wide_deep"]()
    for every in (0, 1.5, True):
        with pytest.raises(ValueError, match="checkpoint_every must be an int >= 1"):
            DaskTrainer(model, client).fit(partitions([[5]]), checkpoint_dir=tmp_path,
                                           checkpoint_every=every)
    assert not hasattr(model, "steps_trained_")

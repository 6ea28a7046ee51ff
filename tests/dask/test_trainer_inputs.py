"""DaskTrainer reads a dask DataFrame (featurized on the workers) and files through a
reader factory, and gives the one-process result on the same global batches."""
import functools

import numpy as np
import pytest

pytest.importorskip("distributed")
pytest.importorskip("pandas")

from widedeep.dask import DaskTrainer, global_batches, partition_sources  # noqa: E402
from widedeep.readers import CsvReader  # noqa: E402
from dask_world import max_state_difference  # noqa: E402
from frames import click_frame, click_spec, uneven_dask_frame  # noqa: E402


def build(spec):
    return spec.build_estimator("wide_deep", hidden_units=(8,), dropout=0.2, batch_size=64,
                                dtype=np.float64, random_state=3, epochs=2)


def test_dask_dataframe_with_spec_equals_one_process(client):
    frame, held_out = click_frame(), click_frame(400, seed=7)
    spec = click_spec().fit([frame.to_dict("series")])
    ddf = uneven_dask_frame(frame)
    trained = DaskTrainer(build(spec), client, n_workers=2).fit(
        ddf, spec=spec, label="clicked", sample_weight="weight",
        eval_set=uneven_dask_frame(held_out, (0, 150, 400)))
    sources = partition_sources(ddf, batch_size=64, shuffle=True, seed=3, spec=spec,
                                label="clicked", sample_weight="weight")
    reference = build(spec).fit(global_batches(sources))
    assert max_state_difference(trained, reference) < 1e-10
    assert trained.history_[-1]["examples"] == 300
    # evaluated on the workers, streaming: the binned AUC within its bound of the exact one
    exact = reference.evaluate(spec.transform(held_out.to_dict("series")),
                               held_out["clicked"].to_numpy(), held_out["weight"].to_numpy())
    last = trained.history_[-1]
    assert abs(last["eval_auc"] - exact["auc"]) <= last["eval_auc_error_bound"] + 1e-9
    assert last["eval_logloss"] == pytest.approx(exact["logloss"], rel=1e-6)
    # 4 partitions contribute 16 rows each per step: the 130-row partition sets 9 steps
    assert trained.steps_trained_ == reference.steps_trained_ == 2 * 9


def test_files_with_a_reader_factory_and_spec_equal_one_process(client, tmp_path):
    frame = click_frame(seed=1)
    spec = click_spec().fit([frame.to_dict("series")])
    paths = []
    for k, (a, b) in enumerate([(0, 120), (120, 130), (130, 300)]):
        paths.append(str(tmp_path / f"part{k}.csv"))
        frame.iloc[a:b].to_csv(paths[-1], index=False)
    factory = functools.partial(CsvReader, batch_size=25,
                                dtypes={"price": "float64", "clicked": "int64",
                                        "weight": "float64"})
    trained = DaskTrainer(build(spec), client, n_workers=3).fit(
        paths, reader_factory=factory, spec=spec, label="clicked")
    sources = partition_sources(paths, reader_factory=factory, spec=spec, label="clicked")
    reference = build(spec).fit(global_batches(sources))
    assert max_state_difference(trained, reference) < 1e-10
    assert trained.steps_trained_ == 2 * 7

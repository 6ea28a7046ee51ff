"""Metrics of several worker processes are summed on every scrape: each worker's snapshot
file in the shared directory, its own counts live; counters and histograms add up, the
served-version gauge is per live worker."""
import json
import os
import time

import numpy as np
import pytest
from server_process import ServerProcess
from server_world import rank_body, save_version, train

from widedeep.server.main import clear_metrics_dir
from widedeep.server.metrics import LATENCY_BUCKETS, ServerMetrics

NO_SUCH_PID = 2 ** 30   # above Linux's pid_max: never a live process


def samples(page):
    """``{metric line without the value: value}`` of a Prometheus text page."""
    out = {}
    for line in page.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def rank_key(code, model="apps", version="1"):
    return (f'widedeep_requests_total{{model="{model}",version="{version}",'
            f'endpoint="rank",code="{code}"}}')


def test_a_scrape_sums_every_workers_counts_and_histograms(tmp_path):
    first, second = ServerMetrics(tmp_path, worker="a"), ServerMetrics(tmp_path, worker="b")
    first_seconds, second_seconds = [0.004, 0.02, 0.3], [0.0009, 0.02]
    for seconds in first_seconds:
        first.observe_request("apps", 1, "rank", 200, seconds)
    first.observe_request("apps", 1, "rank", 400, 0.001)
    for seconds in second_seconds:
        second.observe_request("apps", 1, "rank", 200, seconds)
    first.set_served("apps", 1)
    second.set_served("apps", 2)
    second.count_swap("apps")
    second.write_snapshot()
    page = samples(first.render())
    assert page[rank_key(200)] == 5 and page[rank_key(400)] == 1
    every = first_seconds + second_seconds
    labels = 'model="apps",version="1",endpoint="rank"'
    assert page[f"widedeep_request_seconds_count{{{labels}}}"] == 5
    assert page[f"widedeep_request_seconds_sum{{{labels}}}"] == pytest.approx(sum(every))
    for bound in LATENCY_BUCKETS:
        assert page[f'widedeep_request_seconds_bucket{{{labels},le="{bound!r}"}}'] == \
            sum(s <= bound for s in every)
    assert page['widedeep_model_version_served{model="apps",worker="a"}'] == 1
    assert page['widedeep_model_version_served{model="apps",worker="b"}'] == 2
    assert page['widedeep_version_swaps_total{model="apps"}'] == 1
    assert page["widedeep_workers"] == 2


def test_an_exited_workers_counts_stay_but_not_its_gauge_and_broken_files_are_skipped(
        tmp_path):
    gone = ServerMetrics(tmp_path, worker="gone")
    gone.observe_request("apps", 1, "rank", 200, 0.01)
    gone.set_served("apps", 1)
    snapshot = gone.snapshot()
    snapshot["pid"] = NO_SUCH_PID
    (tmp_path / "worker-gone.json").write_text(json.dumps(snapshot))
    (tmp_path / "worker-torn.json").write_text('{"requests": [')
    live = ServerMetrics(tmp_path, worker="live")
    live.observe_request("apps", 1, "rank", 200, 0.01)
    live.set_served("apps", 1)
    page = samples(live.render())
    assert page[rank_key(200)] == 2
    assert [k for k in page if k.startswith("widedeep_model_version_served")] == \
        ['widedeep_model_version_served{model="apps",worker="live"}']


def test_one_process_without_a_directory_reports_its_own_counts():
    metrics = ServerMetrics()
    metrics.observe_request("apps", 1, "predict", 200, 0.002)
    page = samples(metrics.render())
    assert page['widedeep_requests_total{model="apps",version="1",endpoint="predict",'
                'code="200"}'] == 1
    assert page["widedeep_workers"] == 1


def test_a_given_metrics_dir_is_cleared_of_an_earlier_runs_snapshots(tmp_path):
    (tmp_path / "worker-123.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("kept")
    clear_metrics_dir(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_two_server_processes_answer_every_scrape_with_their_summed_counts(tmp_path):
    pytest.importorskip("uvicorn")
    httpx = pytest.importorskip("httpx")
    base = tmp_path / "base"
    save_version(base, "apps", 1, *train(seed=0))
    n = 12
    with ServerProcess(base, "--workers", "2", "--poll-seconds", "0",
                       "--metrics-dir", str(tmp_path / "metrics")) as server:
        rng = np.random.default_rng(0)
        for _ in range(n):   # a new connection each: the kernel spreads them over both
            answer = httpx.post(f"{server.url}/v1/models/apps:rank", json=rank_body(rng, 5))
            assert answer.status_code == 200
        deadline, page = time.monotonic() + 60, {}
        while time.monotonic() < deadline:   # other workers' counts are <= 1 s old
            page = samples(httpx.get(f"{server.url}/metrics").text)
            if page.get(rank_key(200)) == n and page.get("widedeep_workers") == 2:
                break
            time.sleep(0.3)
    assert page[rank_key(200)] == n
    assert page["widedeep_workers"] == 2
    assert len([k for k in page if k.startswith("widedeep_model_version_served")]) == 2

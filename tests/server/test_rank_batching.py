"""Request batching (`server/batching.py`, `ScoringPool.run_job`; named test_rank_batching
because tests/readers has a test_batching module): queued jobs of one key are run together
within the row limit and in queue order; a batch never joins two versions; each request of
a batch gets the answer it gets alone; a bad request fails only itself.

The pool's single scoring thread is held busy while the jobs queue, so what is batched
does not depend on timing."""
import asyncio
import json
import threading

import numpy as np
import pytest
from server_world import rank_body, save_version, train

from widedeep.limits import limits as widedeep_limits
from widedeep.server import GateSettings, ModelRepository, ServerLimits
from widedeep.server.batching import BatchSettings, RankJob
from widedeep.server.errors import RequestError
from widedeep.server.pool import ScoringPool
from widedeep.server.request_body import parse_rank
from widedeep.serving import Ranker


class FakeJob:
    """A batchable job that logs the batches it is run in."""

    def __init__(self, log, name, key="a", rows=1, bad=False):
        self.log, self.name, self.key, self.rows, self.bad = log, name, key, rows, bad

    def prepare(self):
        if self.bad:
            raise RequestError(400, f"{self.name}: bad body")

    def run_batch(self, jobs):
        self.log.append([job.name for job in jobs])
        return [(True, f"answer of {job.name}") for job in jobs]


def run_queued(pool, jobs):
    """Queue every job while the pool's one thread is busy, then let it go: each job's
    outcome (its answer, or the exception it raised)."""
    release = threading.Event()

    async def scenario():
        blocker = asyncio.ensure_future(pool.run(release.wait))
        calls = [asyncio.ensure_future(pool.run_job(job)) for job in jobs]
        while pool._admitted < len(jobs) + 1:   # every job is in the queue
            await asyncio.sleep(0)
        release.set()
        await blocker
        return await asyncio.gather(*calls, return_exceptions=True)

    try:
        return asyncio.run(scenario())
    finally:
        pool.close()


def test_queued_jobs_of_one_key_run_as_one_batch_within_the_row_limit():
    log = []
    jobs = [FakeJob(log, name, rows=4) for name in "abcde"]
    outcomes = run_queued(ScoringPool(1, 16, batch_max_rows=10), jobs)
    assert outcomes == [f"answer of {name}" for name in "abcde"]
    assert log == [["a", "b"], ["c", "d"], ["e"]]


def test_a_job_of_another_key_ends_the_batch_and_the_queue_order_is_kept():
    log = []
    jobs = [FakeJob(log, "a1"), FakeJob(log, "a2"), FakeJob(log, "b1", key="b"),
            FakeJob(log, "a3"), FakeJob(log, "a4")]
    outcomes = run_queued(ScoringPool(1, 16, batch_max_rows=100), jobs)
    assert outcomes == [f"answer of {job.name}" for job in jobs]
    assert log == [["a1", "a2"], ["b1"], ["a3", "a4"]]


def test_a_job_that_fails_to_prepare_gets_its_error_and_the_others_are_batched():
    log = []
    jobs = [FakeJob(log, "a"), FakeJob(log, "broken", bad=True), FakeJob(log, "c")]
    outcomes = run_queued(ScoringPool(1, 16, batch_max_rows=100), jobs)
    assert outcomes[0] == "answer of a" and outcomes[2] == "answer of c"
    assert isinstance(outcomes[1], RequestError) and "broken" in str(outcomes[1])
    assert log == [["a", "c"]]


def test_batching_off_runs_every_job_alone():
    log = []
    jobs = [FakeJob(log, name) for name in "abc"]
    run_queued(ScoringPool(1, 16, batch_max_rows=0), jobs)
    assert log == [["a"], ["b"], ["c"]]


def test_a_job_over_the_row_limit_runs_alone():
    log = []
    jobs = [FakeJob(log, "small", rows=2), FakeJob(log, "big", rows=50),
            FakeJob(log, "small2", rows=2)]
    run_queued(ScoringPool(1, 16, batch_max_rows=10), jobs)
    assert log == [["small"], ["big"], ["small2"]]


def test_batch_settings_refuse_negative_values():
    with pytest.raises(ValueError, match="batch_max_rows"):
        BatchSettings(batch_max_rows=-1)
    with pytest.raises(ValueError, match="batch_wait_ms"):
        BatchSettings(batch_wait_ms=-0.5)


# ------------------------------------------------------------------ real :rank requests
GATE = GateSettings(latency_budget_ms=60_000.0)


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """Two repositories serving ``apps``: version 1 (seed 0) and version 2 (seed 1)."""
    out = {}
    for version, seed in ((1, 0), (2, 1)):
        base = tmp_path_factory.mktemp(f"base{version}")
        spec, model = train(seed=seed)
        save_version(base, "apps", version, spec, model)
        repository = ModelRepository(base, gate=GATE)
        repository.poll()
        out[version] = (repository, repository.serving("apps"), spec, model)
    yield out
    for repository, *_ in out.values():
        repository.stop()


def alone(spec, model, job):
    """The independent reference: the in-process Ranker on the job's request by itself."""
    request = job.request
    return Ranker(model, spec=spec).rank({"query": request.query,
                                          "candidates": request.candidates},
                                         top_k=request.top_k)


def rank_job(version_entry, body):
    repository, loaded, _, _ = version_entry
    return RankJob(loaded, json.dumps(body).encode(), ServerLimits(), repository)


def test_each_request_of_a_batch_is_answered_as_the_ranker_ranks_it_alone(versions):
    rng = np.random.default_rng(0)
    jobs = [rank_job(versions[1], rank_body(rng, n, top_k=min(n, 5))) for n in (3, 20, 7, 1)]
    for job in jobs:
        job.prepare()
    assert len({job.key for job in jobs}) == 1
    outcomes = RankJob.run_batch(jobs)
    _, _, spec, model = versions[1]
    for job, (ok, answer) in zip(jobs, outcomes):
        assert ok
        answer = json.loads(answer)
        expected = alone(spec, model, job)
        assert answer["model_version"] == 1
        assert [c["index"] for c in answer["ranked"]] == expected.top_k.tolist()
        np.testing.assert_allclose([c["score"] for c in answer["ranked"]],
                                   expected.top_scores, rtol=1e-5, atol=1e-6)


def test_a_batch_is_counted_in_the_metrics(versions, monkeypatch):
    from widedeep.server.metrics import ServerMetrics
    repository = versions[1][0]
    monkeypatch.setattr(repository, "metrics", ServerMetrics())
    rng = np.random.default_rng(4)
    jobs = [rank_job(versions[1], rank_body(rng, 5)) for _ in range(3)]
    for job in jobs:
        job.prepare()
    assert all(ok for ok, _ in RankJob.run_batch(jobs))
    RankJob.run_batch(jobs[:1])   # alone: not a batch
    page = repository.metrics.render()
    assert 'widedeep_batches_total{model="apps"} 1\n' in page
    assert 'widedeep_batched_requests_total{model="apps"} 3\n' in page


def test_requests_on_two_versions_are_never_batched_together(versions):
    rng = np.random.default_rng(1)
    entries = [versions[v] for v in (1, 2, 1, 1, 2, 2)]
    jobs = [rank_job(entry, rank_body(rng, 6)) for entry in entries]
    answers = run_queued(ScoringPool(1, 16, batch_max_rows=1000), jobs)
    for job, entry, answer in zip(jobs, entries, answers):
        _, loaded, spec, model = entry
        answer = json.loads(answer)
        assert answer["model_version"] == loaded.version
        expected = alone(spec, model, job)
        np.testing.assert_allclose([c["score"] for c in answer["ranked"]],
                                   expected.top_scores, rtol=1e-5, atol=1e-6)
    job_one, job_two = jobs[0], jobs[1]
    assert job_one.key != job_two.key


def test_a_request_that_fails_in_a_batch_fails_alone(versions):
    """The second request's candidates cannot be featurized (its query's bag, repeated for
    every candidate, exceeds max_request_values); the batch falls back to ranking each
    request alone: only that request gets a 400."""
    rng = np.random.default_rng(2)
    bodies = [rank_body(rng, 4), rank_body(rng, 4), rank_body(rng, 4)]
    bodies[1]["query"]["installed_apps"] = [f"app{i % 12}" for i in range(60)]
    bodies[1]["candidates"]["impression_app"] = ["app1"] * 30
    jobs = [rank_job(versions[1], body) for body in bodies]
    with widedeep_limits(max_request_values=1000):
        answers = run_queued(ScoringPool(1, 16, batch_max_rows=1000), jobs)
    assert isinstance(answers[1], RequestError) and answers[1].status == 400
    assert "max_request_values" in str(answers[1])
    _, _, spec, model = versions[1]
    for job, answer in ((jobs[0], answers[0]), (jobs[2], answers[2])):
        expected = alone(spec, model, job)
        ranked = json.loads(answer)["ranked"]
        assert [c["index"] for c in ranked] == expected.order.tolist()


def test_concurrent_requests_to_a_one_thread_server_are_each_answered_as_alone(tmp_path):
    """A real server with one scoring thread (so concurrent requests queue and are
    batched): every answer equals the in-process Ranker on that request alone, whatever
    was batched with it."""
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("uvicorn")
    from server_process import ServerProcess

    spec, model = train(seed=0, epochs=2)
    save_version(tmp_path, "apps", 1, spec, model)
    rng = np.random.default_rng(3)
    bodies = [rank_body(rng, int(n)) for n in rng.integers(1, 40, 24)]
    answers = [None] * len(bodies)

    with ServerProcess(tmp_path, "--poll-seconds", "0", "--max-concurrent", "1") as server:
        def client(indices):
            with httpx.Client(timeout=120) as session:
                for index in indices:
                    answers[index] = session.post(f"{server.url}/v1/models/apps:rank",
                                                  json=bodies[index])

        threads = [threading.Thread(target=client, args=(range(k, len(bodies), 6),))
                   for k in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    limits, kinds = ServerLimits(), spec.raw_columns()
    for body, answer in zip(bodies, answers):
        assert answer.status_code == 200
        request = parse_rank(body, kinds, limits)
        expected = Ranker(model, spec=spec).rank({"query": request.query,
                                                  "candidates": request.candidates})
        ranked = answer.json()["ranked"]
        scores = np.zeros(request.n_candidates)
        scores[[c["index"] for c in ranked]] = [c["score"] for c in ranked]
        np.testing.assert_allclose(scores, expected.scores, rtol=1e-5, atol=1e-6)

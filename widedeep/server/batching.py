"""Request batching: ``:rank`` requests that wait for a scoring thread are ranked together.

When every scoring thread is busy, requests queue (`ScoringPool`). A thread that takes a
``:rank`` request also takes the ``:rank`` requests queued behind it, while they fit
(`BatchSettings`), and ranks them in one call (`Ranker.rank_many`: one featurization and
one pass through the model for all of them, each request's query kept apart), then answers
each. What a batch saves is per-call work (Python, NumPy call overhead, small matrix
products), which dominates a request of ~100 candidates; it changes no answer:

- a request's scores equal those it gets alone up to float rounding (the wide part bit for
  bit; a deep layer's product of other height rounds differently, as with the Ranker's
  sub-batches), so the ranking agrees except between candidates whose scores tie to about
  1e-7;
- a batch is ranked by one `Ranker`, of one loaded version (and target class): requests on
  different versions (during a swap, or pinned by ``/versions/{v}``) are never batched
  together, so no request mixes versions;
- only requests with the same columns on the same sides are batched
  (`widedeep.serving.request_batch.signature`);
- if ranking the batch fails (one request's values cannot be featurized, say), each
  request of it is ranked alone, so each gets its own answer or its own error.

``max_wait_ms = 0`` (the default) batches only what has already queued: a lone request
never waits, so batching adds no latency at low load. A wait above 0 holds a thread up to
that long for more requests (TensorFlow Serving's ``batch_timeout_micros``), which adds that
much to a request's latency when few arrive.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..serving.request_batch import signature
from . import answers

__all__ = ["BatchSettings", "RankJob"]


@dataclass(frozen=True)
class BatchSettings:
    """``batch_max_rows``: candidates of all the requests of one batch at most (a request
    with more is ranked alone; 0 turns batching off); ``batch_wait_ms``: how long a scoring
    thread waits for more requests once it has one (0: only those already queued)."""
    batch_max_rows: int = 1000
    batch_wait_ms: float = 0.0

    def __post_init__(self):
        if not isinstance(self.batch_max_rows, int) or isinstance(self.batch_max_rows, bool) \
                or self.batch_max_rows < 0:
            raise ValueError(f"batch_max_rows must be an integer >= 0, got "
                             f"{self.batch_max_rows!r}")
        if not isinstance(self.batch_wait_ms, (int, float)) or isinstance(
                self.batch_wait_ms, bool) or not 0 <= self.batch_wait_ms <= 1000:
            raise ValueError(f"batch_wait_ms must be a number of milliseconds in [0, 1000], "
                             f"got {self.batch_wait_ms!r}")


class RankJob:
    """One ``:rank`` request on the `ScoringPool`: parsed on a scoring thread (`prepare`),
    then ranked with the jobs of the same ``key`` batched with it (`run_batch`).

    ``key`` (after `prepare`): the `Ranker` (one loaded version and target class) and the
    request's column signature; ``rows``: its number of candidates."""

    def __init__(self, loaded, body, limits, repository):
        self.loaded, self.body, self.limits, self.repository = loaded, body, limits, repository
        self.request = self.ranker = self.key = None
        self.rows = 0

    def prepare(self):
        """Parse the body (`RequestError` for a bad one); done once."""
        if self.request is not None:
            return
        request = answers.parse_rank_body(self.loaded, self.body, self.limits)
        self.ranker = answers.ranker_of(self.loaded, request)
        self.key = (self.ranker, signature(request.query, request.candidates))
        self.rows, self.request = request.n_candidates, request

    @staticmethod
    def run_batch(jobs):
        """``[(True, answer bytes) or (False, exception), ...]``: each job's outcome; the
        jobs share one ``key``."""
        if len(jobs) == 1:
            return [jobs[0].alone()]
        requests = [{"query": job.request.query, "candidates": job.request.candidates}
                    for job in jobs]
        try:
            results = jobs[0].ranker.rank_many(requests,
                                               top_k=[job.request.top_k for job in jobs])
        except Exception:   # which request failed? each alone says (and only it fails)
            return [job.alone() for job in jobs]
        metrics = jobs[0].repository.metrics
        if metrics is not None:
            metrics.count_batch(jobs[0].loaded.name, len(jobs))
        outcomes = []
        for job, result in zip(jobs, results):
            try:
                answer = answers.rank_answer(job.loaded, job.request, result, job.limits)
                job.repository.record(job.loaded.name, job.request)
                outcomes.append((True, answer))
            except Exception as error:
                outcomes.append((False, error))
        return outcomes

    def alone(self):
        """This job ranked by itself: ``(True, answer)`` or ``(False, exception)``."""
        try:
            return True, answers.rank_parsed(self.loaded, self.request, self.limits,
                                             self.repository)
        except Exception as error:
            return False, error

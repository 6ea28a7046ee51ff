"""`fit_spec`: fit a `FeatureSpec` on a dask DataFrame, each partition read where it lives,
with the result of a one-process ``spec.fit`` over the same rows in partition order.

Pass 1 (only when the spec has quantile summaries): each partition counts the values each
summary takes, so partition ``p`` knows the stream position where its values start.
Pass 2: each partition runs ``spec.start_fit(summary_starts)``, observes its rows and
returns ``spec.fit_state()``: vocabulary counts, moments, and the summary slots it wrote.
The driver merges the states in partition order and finishes the fit. Vocabularies and
quantile boundaries are identical to the one-process fit; means and standard deviations
equal it to float rounding (Chan's merge in another order). Memory on the driver: the
distinct tokens of the partitions' vocabularies, and about ``capacity * (1 + ln(N /
capacity))`` summary values per quantile column for N values.
"""
from __future__ import annotations

from ..readers.in_memory import columns_from_dataframe

__all__ = ["fit_spec"]


def fit_spec(spec, data, client=None):
    """Fit ``spec`` on the dask DataFrame ``data`` (partitions in order); returns ``spec``."""
    import dask
    if client is None:
        from distributed import get_client
        client = get_client()
    parts = data.to_delayed()
    if not parts:
        raise ValueError("fit_spec: the DataFrame has no partitions")
    starts = [{} for _ in parts]
    if spec.has_summaries:
        counts = client.gather(client.compute([dask.delayed(_summary_counts)(spec, part)
                                               for part in parts]))
        position = {}
        for p, part_counts in enumerate(counts):
            starts[p] = dict(position)
            for name, count in part_counts.items():
                position[name] = position.get(name, 0) + count
    states = client.gather(client.compute([dask.delayed(_fit_state)(spec, part, start)
                                           for part, start in zip(parts, starts)]))
    spec.start_fit()
    for state in states:
        spec.merge_fit_state(state)
    return spec.finish_fit()


def _summary_counts(spec, frame):
    return spec.summary_counts(columns_from_dataframe(frame)) if len(frame) else {}


def _fit_state(spec, frame, summary_starts):
    spec.start_fit(summary_starts)
    if len(frame):
        spec.observe(columns_from_dataframe(frame), "fit_spec partition")
    return spec.fit_state()



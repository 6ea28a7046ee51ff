"""The cluster's worker addresses, asked of the scheduler itself.

`Client.scheduler_info()` refreshes the client's cached scheduler identity and then returns
that cache; the client's own periodic refresh may replace the cache in between with one that
carries only cluster totals (``"workers": {}``), so a live cluster can look empty (seen once
in a CI run). A direct call to the scheduler's ``identity`` has no shared cache.
"""
from __future__ import annotations

__all__ = ["worker_addresses"]


def worker_addresses(client):
    """Sorted addresses of the workers the scheduler knows now (a synchronous client)."""
    identity = client.sync(client.scheduler.identity, n_workers=-1)
    return sorted(identity["workers"])

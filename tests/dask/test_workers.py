"""`worker_addresses`: the workers the scheduler knows, asked of the scheduler directly."""
import os

import pytest

pytest.importorskip("distributed")

from widedeep.dask.workers import worker_addresses  # noqa: E402


def test_worker_addresses_are_the_workers_that_run_tasks(client):
    ran_on = sorted(client.run(os.getpid))        # client.run answers per worker address
    assert worker_addresses(client) == ran_on
    assert len(ran_on) == len(client.cluster.workers)

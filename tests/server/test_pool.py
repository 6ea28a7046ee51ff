"""`ScoringPool` hands each call's result, or its exception, back to the awaiting request,
runs calls off the event loop thread, and stops its threads on `close`."""
import asyncio
import threading

import pytest

from widedeep.server.pool import ScoringPool


def test_results_come_back_from_scoring_threads_not_the_loop_thread():
    pool = ScoringPool(max_concurrent=2, max_queued=4)

    async def scenario():
        calls = [pool.run(lambda k=k: (k * k, threading.get_ident())) for k in range(6)]
        return await asyncio.gather(*calls), threading.get_ident()

    answers, loop_thread = asyncio.run(scenario())
    pool.close()
    assert [value for value, _ in answers] == [0, 1, 4, 9, 16, 25]
    assert loop_thread not in {thread for _, thread in answers}


def test_an_exception_in_a_call_reaches_its_request_and_the_pool_keeps_serving():
    pool = ScoringPool(max_concurrent=1, max_queued=1)

    def broken():
        raise ValueError("bad row 3")

    async def scenario():
        with pytest.raises(ValueError, match="bad row 3"):
            await pool.run(broken)
        return await pool.run(lambda: "still serving")

    assert asyncio.run(scenario()) == "still serving"
    pool.close()


def test_close_stops_every_scoring_thread():
    before = set(threading.enumerate())
    pool = ScoringPool(max_concurrent=3, max_queued=0)
    asyncio.run(pool.run(int))
    started = set(threading.enumerate()) - before
    pool.close()
    assert len(started) == 3 and not any(thread.is_alive() for thread in started)

"""`Prefetched`: order, read-ahead bound, the source's errors unchanged, no thread left."""
import threading
import time

import pytest

from widedeep.training.prefetch import Prefetched


def prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "widedeep-prefetch"]


def test_items_arrive_in_source_order_each_once():
    items = [object() for _ in range(50)]
    with Prefetched(items) as prefetched:
        got = list(prefetched)
    assert len(got) == 50 and all(a is b for a, b in zip(got, items))
    assert prefetch_threads() == []


def test_the_thread_reads_at_most_depth_items_ahead():
    produced = []

    def source():
        for k in range(10):
            produced.append(k)
            yield k

    def produced_after_waiting(expected):
        deadline = time.monotonic() + 5
        while len(produced) < expected and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(0.05)   # room to overshoot, if it could
        return len(produced)

    with Prefetched(source(), depth=2) as prefetched:
        got = []
        for item in prefetched:
            # while item k is held, items k+1 and k+2 may be read, no more
            assert produced_after_waiting(min(item + 3, 10)) == min(item + 3, 10)
            got.append(item)
    assert got == list(range(10))


def failing_source(k):
    for i in range(k):
        yield i
    raise ValueError(f"bad record at line {k + 1} of data.csv")


def test_a_source_error_is_raised_after_the_items_before_it_unchanged():
    got = []
    with pytest.raises(ValueError, match=r"^bad record at line 4 of data\.csv$") as caught:
        with Prefetched(failing_source(3)) as prefetched:
            for item in prefetched:
                got.append(item)
    assert got == [0, 1, 2]
    assert type(caught.value) is ValueError
    # the traceback still shows the source's own frame (its file and line)
    frames = []
    tb = caught.value.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert "failing_source" in frames
    assert prefetch_threads() == []


def test_the_same_error_object_as_iterating_the_source_directly():
    raised = []
    with pytest.raises(KeyError):
        with Prefetched(failing_dict_source()) as prefetched:
            try:
                list(prefetched)
            except KeyError as error:
                raised.append(error)
                raise
    with pytest.raises(KeyError) as direct:
        list(failing_dict_source())
    assert str(raised[0]) == str(direct.value) == "'field age: missing'"


def failing_dict_source():
    yield 1
    raise KeyError("field age: missing")


def test_stopping_early_closes_the_source_and_joins_the_thread():
    closed = threading.Event()

    def endless():
        try:
            k = 0
            while True:
                yield k
                k += 1
        finally:
            closed.set()

    with Prefetched(endless()) as prefetched:
        firsts = [next(prefetched) for _ in range(3)]
    assert firsts == [0, 1, 2]
    assert closed.is_set()
    assert prefetch_threads() == []


def test_an_error_in_the_consumer_joins_the_thread():
    with pytest.raises(RuntimeError, match="step failed"):
        with Prefetched(range(100)) as prefetched:
            for item in prefetched:
                if item == 5:
                    raise RuntimeError("step failed")
    assert prefetch_threads() == []


def test_next_after_the_end_or_close_stops():
    prefetched = Prefetched(range(2))
    assert list(prefetched) == [0, 1]
    assert list(prefetched) == []
    prefetched.close()   # closing twice is harmless
    assert prefetch_threads() == []


@pytest.mark.parametrize("depth", [0, -1, 1.5, True])
def test_depth_must_be_a_positive_int(depth):
    with pytest.raises(ValueError, match="prefetch depth must be an int >= 1"):
        Prefetched([1], depth=depth)


def test_an_instance_dropped_without_close_stops_its_thread():
    import gc
    prefetched = Prefetched(iter(range(1000)))
    assert next(prefetched) == 0
    del prefetched
    gc.collect()
    assert prefetch_threads() == []

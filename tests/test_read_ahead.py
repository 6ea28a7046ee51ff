"""`ReadAhead` (used by the arrow CSV engine and by ``fit(..., prefetch=True)``): the
source's items in order, a bounded distance ahead, the source's errors unchanged, and no
thread left behind however the iteration ends."""
import gc
import threading
import time

import pytest

from widedeep.read_ahead import ReadAhead

NAME = "test-read-ahead"


def read_ahead_threads():
    return [t for t in threading.enumerate() if t.name == NAME]


def test_items_arrive_in_source_order_each_once():
    items = [object() for _ in range(1000)]
    with ReadAhead(items, depth=3, name=NAME) as read_ahead:
        got = list(read_ahead)
    assert len(got) == 1000 and all(a is b for a, b in zip(got, items))
    assert read_ahead_threads() == []


def test_the_thread_makes_at_most_depth_items_ahead():
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

    with ReadAhead(source(), depth=2, name=NAME) as read_ahead:
        got = []
        for item in read_ahead:
            # while item k is held, items k+1 and k+2 may be made, no more
            assert produced_after_waiting(min(item + 3, 10)) == min(item + 3, 10)
            got.append(item)
    assert got == list(range(10))


def test_the_source_is_iterated_on_the_thread_only():
    callers = []

    def source():
        for k in range(5):
            callers.append(threading.current_thread().name)
            yield k

    with ReadAhead(source(), name=NAME) as read_ahead:
        assert list(read_ahead) == list(range(5))
    assert callers == [NAME] * 5


def failing_source(k):
    for i in range(k):
        yield i
    raise ValueError(f"bad record at line {k + 1} of data.csv")


def test_a_source_error_is_raised_after_the_items_before_it_unchanged():
    got = []
    with pytest.raises(ValueError, match=r"^bad record at line 4 of data\.csv$") as caught:
        with ReadAhead(failing_source(3), name=NAME) as read_ahead:
            for item in read_ahead:
                got.append(item)
    assert got == [0, 1, 2]
    assert type(caught.value) is ValueError
    # the traceback still shows the source's own frame (its file and line)
    frames = []
    tb = caught.value.__traceback__
    while tb is not None:
        frames.append((tb.tb_frame.f_code.co_name, tb.tb_frame.f_code.co_filename))
        tb = tb.tb_next
    assert ("failing_source", __file__) in frames
    assert read_ahead_threads() == []


def failing_dict_source():
    yield 1
    raise KeyError("field age: missing")


def test_the_same_error_as_iterating_the_source_directly():
    raised = []
    with pytest.raises(KeyError):
        with ReadAhead(failing_dict_source(), name=NAME) as read_ahead:
            try:
                list(read_ahead)
            except KeyError as error:
                raised.append(error)
                raise
    with pytest.raises(KeyError) as direct:
        list(failing_dict_source())
    assert str(raised[0]) == str(direct.value) == "'field age: missing'"


def endless(closed):
    try:
        k = 0
        while True:
            yield k
            k += 1
    finally:
        closed.set()


def test_stopping_early_closes_the_source_and_joins_the_thread():
    closed = threading.Event()
    with ReadAhead(endless(closed), depth=2, name=NAME) as read_ahead:
        firsts = [next(read_ahead) for _ in range(5)]
    assert firsts == [0, 1, 2, 3, 4]
    assert closed.is_set()
    assert read_ahead_threads() == []


def test_an_error_in_the_caller_joins_the_thread():
    closed = threading.Event()
    with pytest.raises(RuntimeError, match="step failed"):
        with ReadAhead(endless(closed), name=NAME) as read_ahead:
            for item in read_ahead:
                if item == 5:
                    raise RuntimeError("step failed")
    assert closed.is_set()
    assert read_ahead_threads() == []


def test_a_generator_stopped_early_joins_the_read_ahead_it_iterates():
    # the arrow engine's pattern: a generator holding a ReadAhead in a with block
    closed = threading.Event()

    def stage():
        with ReadAhead(endless(closed), depth=2, name=NAME) as items:
            yield from items

    outer = stage()
    assert [next(outer) for _ in range(3)] == [0, 1, 2]
    outer.close()
    assert closed.is_set()
    assert read_ahead_threads() == []


def test_next_after_the_end_or_close_stops():
    read_ahead = ReadAhead(range(2), name=NAME)
    assert list(read_ahead) == [0, 1]
    assert list(read_ahead) == []
    read_ahead.close()   # closing twice is harmless
    assert read_ahead_threads() == []


@pytest.mark.parametrize("depth", [0, -1, 1.5, True])
def test_depth_must_be_a_positive_int(depth):
    with pytest.raises(ValueError, match="read-ahead depth must be an int >= 1"):
        ReadAhead([1], depth=depth, name=NAME)
    assert read_ahead_threads() == []


def test_an_instance_dropped_without_close_stops_its_thread():
    read_ahead = ReadAhead(iter(range(1000)), name=NAME)
    assert next(read_ahead) == 0
    del read_ahead
    gc.collect()
    assert read_ahead_threads() == []

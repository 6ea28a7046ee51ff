"""`read_ahead` gives what the plain iterator gives, in order, with its exceptions, a bounded
distance ahead, and leaves no thread behind."""

import threading
import time

import pytest

from widedeep.readers._read_ahead import read_ahead


def test_items_arrive_in_order():
    assert list(read_ahead(iter(range(1000)), depth=3)) == list(range(1000))


def test_an_exception_is_raised_after_the_items_made_before_it():
    def items():
        yield 1
        yield 2
        raise KeyError("third")

    got = []
    with pytest.raises(KeyError, match="third"):
        for item in read_ahead(items()):
            got.append(item)
    assert got == [1, 2]


def test_the_thread_works_at_most_depth_items_ahead():
    made = []

    def items():
        for k in range(100):
            made.append(k)
            yield k

    stream = read_ahead(items(), depth=2)
    assert next(stream) == 0
    time.sleep(0.3)        # let the thread run as far as it may
    # one taken, two queued, one made and waiting for a slot
    assert len(made) <= 4
    stream.close()


def test_stopping_early_closes_the_source_and_ends_the_thread():
    closed = threading.Event()

    def items():
        try:
            k = 0
            while True:
                yield k
                k += 1
        finally:
            closed.set()

    before = {t.ident for t in threading.enumerate()}
    stream = read_ahead(items(), depth=2, name="test-read-ahead")
    assert [next(stream) for _ in range(5)] == [0, 1, 2, 3, 4]
    stream.close()
    assert closed.is_set()
    assert not [t for t in threading.enumerate()
                if t.ident not in before and t.name == "test-read-ahead"]


def test_depth_must_be_positive():
    with pytest.raises(ValueError, match="depth"):
        list(read_ahead(iter([1]), depth=0))

import numpy as np
import pytest

from widedeep.readers import CsvReader, epoch_rng, shuffle_buffer
from widedeep.readers.shuffle import shuffle_rows


def _order(items, buffer_size, seed):
    return list(shuffle_buffer(items, buffer_size, np.random.default_rng(seed)))


def test_every_item_exactly_once():
    out = _order(range(1000), 37, seed=0)
    assert sorted(out) == list(range(1000))
    assert out != list(range(1000))


def test_same_seed_same_order_different_seed_different_order():
    assert _order(range(500), 50, seed=3) == _order(range(500), 50, seed=3)
    assert _order(range(500), 50, seed=3) != _order(range(500), 50, seed=4)


def test_buffer_of_one_keeps_file_order():
    assert _order(range(20), 1, seed=0) == list(range(20))


def test_buffer_larger_than_stream_is_a_permutation():
    out = _order(range(10), 100, seed=1)
    assert sorted(out) == list(range(10))
    assert out == np.random.default_rng(1).permutation(10).tolist()


def test_memory_is_bounded_by_buffer_size():
    consumed = []

    def source():
        for i in range(1000):
            consumed.append(i)
            yield i

    stream = shuffle_buffer(source(), 16, np.random.default_rng(0))
    held = [len(consumed) - emitted for emitted, _ in enumerate(stream, start=1)]
    # while items remain upstream exactly 16 are held back, then the buffer drains
    assert held[:1000 - 16] == [16] * (1000 - 16)
    assert held[-1] == 0


def test_item_moves_earlier_by_less_than_buffer_size():
    out = _order(range(2000), 8, seed=5)
    position = {item: k for k, item in enumerate(out)}
    assert min(position[i] - i for i in range(2000)) >= -7


def test_epoch_rng_depends_on_seed_and_epoch_only():
    a = epoch_rng(7, 2).integers(0, 1 << 30, 5)
    b = epoch_rng(7, 2).integers(0, 1 << 30, 5)
    c = epoch_rng(7, 3).integers(0, 1 << 30, 5)
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist()
    with pytest.raises(TypeError):
        epoch_rng("seed", 0)


def _rows_file(tmp_path, n=300):
    path = tmp_path / "rows.csv"
    path.write_text("i\n" + "".join(f"{i}\n" for i in range(n)))
    return path


def _epoch_rows(reader):
    return np.concatenate([b["i"] for b in reader]).tolist()


def test_csv_shuffle_repeats_for_a_seed_and_differs_per_epoch(tmp_path):
    path = _rows_file(tmp_path)
    options = dict(batch_size=32, dtypes={"i": "int64"}, shuffle_buffer=64)
    reader = CsvReader(path, random_state=11, **options)
    epoch0, epoch1 = _epoch_rows(reader), _epoch_rows(reader)
    assert sorted(epoch0) == list(range(300)) and sorted(epoch1) == list(range(300))
    assert epoch0 != epoch1 and epoch0 != list(range(300))
    again = CsvReader(path, random_state=11, **options)
    assert _epoch_rows(again) == epoch0 and _epoch_rows(again) == epoch1
    assert np.concatenate([b["i"] for b in again.iter_epoch(0)]).tolist() == epoch0
    other = CsvReader(path, random_state=12, **options)
    assert _epoch_rows(other) != epoch0


def test_csv_shuffle_keeps_true_line_numbers_in_errors(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("i\n" + "".join(f"{i}\n" for i in range(100)) + "bad\n")
    reader = CsvReader(path, dtypes={"i": "int64"}, shuffle_buffer=10, random_state=0,
                       batch_size=8)
    with pytest.raises(ValueError, match="line 102, column 'i'"):
        list(reader)


@pytest.mark.parametrize("buffer_size", [0, 1, 2, 37, 5000, 20_000])
def test_shuffle_rows_emits_exactly_the_shuffle_buffer_order(buffer_size):
    rng = np.random.default_rng(0)
    n = 12_000  # several draw chunks of 4096
    cuts = np.sort(rng.integers(0, n + 1, size=40)).tolist()
    bounds = [0, *cuts, n]
    words = np.asarray(["w" * (i % 9) for i in range(n)])  # string widths vary by batch
    batches = [{"i": np.arange(a, b), "word": words[a:b]} for a, b in zip(bounds, bounds[1:])]
    out = list(shuffle_rows(iter(batches), buffer_size, np.random.default_rng(3)))
    rows = np.concatenate([b["i"] for b in out]).tolist()
    expected = list(shuffle_buffer(range(n), buffer_size, np.random.default_rng(3)))
    assert rows == expected
    assert np.concatenate([b["word"] for b in out]).tolist() == words[expected].tolist()


def test_shuffle_rows_holds_at_most_buffer_size_rows_back():
    batches = [{"i": np.arange(k * 10, k * 10 + 10)} for k in range(100)]
    emitted = 0
    for consumed, batch in enumerate(shuffle_rows(iter(batches), 64, np.random.default_rng(0)),
                                     start=1):
        emitted += len(batch["i"])
        if emitted < 1000:
            assert consumed * 10 - emitted <= 64
    assert emitted == 1000

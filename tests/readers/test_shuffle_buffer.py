import numpy as np
import pytest

from widedeep.readers import CsvReader, epoch_rng, shuffle_buffer


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

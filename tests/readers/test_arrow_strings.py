"""The arrow engine's string columns equal the built-in engine's conversion of the same
cells (`parse_strings` on a NumPy array of them), on every path of `arrow_strings`."""

import numpy as np
import pytest

from widedeep.readers import _arrow_strings
from widedeep.readers._arrow_strings import arrow_strings
from widedeep.readers._csv_cells import parse_strings

pa = pytest.importorskip("pyarrow")

_ASCII = ["", "?", "a", "ab", " a ", "a\x00", "\x00", "??", "x?", "NA", "United-States",
          "\t", "68fd1e64", "a b c d e f g"]
_UNICODE = ["é", "naïve", "日本", " ü ", "😀"]


def _expected(cells, na_values, string_na, strip):
    return parse_strings(np.asarray(cells, dtype=str), na_values, string_na, strip)


def _assert_same(got, expected):
    assert got.dtype.kind == expected.dtype.kind
    assert got.tolist() == expected.tolist()


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("pool", [_ASCII, _ASCII + _UNICODE], ids=["ascii", "unicode"])
@pytest.mark.parametrize("string_na", ["", "NA", "<missing>", None])
@pytest.mark.parametrize("strip", [False, True])
def test_random_cells_convert_as_the_built_in_engine_converts_them(seed, pool, string_na,
                                                                  strip):
    rng = np.random.default_rng(seed)
    cells = list(rng.choice(pool, size=50))
    na_values = ("", "?")
    got = arrow_strings(pa.array(cells, pa.string()), na_values, string_na, strip)
    _assert_same(got, _expected(cells, na_values, string_na, strip))


def test_a_sliced_array_converts_only_its_own_cells():
    cells = ["first", "?", "b", "", "last one"]
    chunk = pa.array(cells, pa.string()).slice(1, 3)
    got = arrow_strings(chunk, ("", "?"), "", False)
    assert got.dtype.kind == "U" and got.tolist() == ["", "b", ""]


def test_a_column_of_empty_cells_has_no_data_buffer_and_still_converts():
    got = arrow_strings(pa.array(["", "", ""], pa.string()), ("", "?"), "", False)
    assert got.dtype.kind == "U" and got.tolist() == ["", "", ""]


def test_missing_tokens_of_several_characters_and_none_at_all():
    cells = ["NULL", "NULLX", "x", "", "N"]
    got = arrow_strings(pa.array(cells, pa.string()), ("NULL",), "", False)
    assert got.tolist() == ["", "NULLX", "x", "", "N"]
    got = arrow_strings(pa.array(cells, pa.string()), (), "-", False)
    assert got.tolist() == cells


@pytest.mark.parametrize("cells", [["short", "x" * 40, "?"], ["é" * 30, "?", "a"]])
def test_a_column_too_wide_for_a_fixed_width_array_becomes_python_strings(monkeypatch,
                                                                           cells):
    # the limit is 64 MB; lowered here so that a 40-character cell exceeds it
    monkeypatch.setattr(_arrow_strings, "MAX_FIXED_WIDTH_BYTES", 3 * 4 * 20)
    got = arrow_strings(pa.array(cells, pa.string()), ("", "?"), "", False)
    assert got.dtype == object
    assert got.tolist() == [cell if cell != "?" else "" for cell in cells]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("na_values", [("NA", "N/A", "?"), ("é", "x?"), ("a\x00",), ("",)],
                         ids=["multi", "non-ascii", "nul-token", "empty"])
@pytest.mark.parametrize("string_na", ["", "<NA>"])
def test_missing_tokens_found_from_lengths_match_numpy_comparison(seed, na_values,
                                                                  string_na):
    # ASCII cells without NULs: the tokens are found from the cells' lengths and bytes
    rng = np.random.default_rng(seed)
    pool = ["NA", "N/A", "?", "x?", "a", "", "NAN", "N", "?x", "United-States"]
    cells = list(rng.choice(pool, size=60))
    got = arrow_strings(pa.array(cells, pa.string()), na_values, string_na, False)
    _assert_same(got, _expected(cells, na_values, string_na, False))


def test_invalid_utf8_raises_invalid_text_ascii_and_valid_text_do_not():
    from widedeep.readers._arrow_strings import InvalidText, check_text
    check_text(pa.array(["a", "b"], pa.string()))
    check_text(pa.array(["café", "日本"], pa.string()))
    bad = pa.Array.from_buffers(pa.string(), 2, [None, pa.py_buffer(np.array(
        [0, 1, 5], dtype=np.int32).tobytes()), pa.py_buffer(b"xcaf\xe9")])
    with pytest.raises(InvalidText):
        check_text(bad)
    with pytest.raises(InvalidText):
        arrow_strings(bad, ("",), "", False)

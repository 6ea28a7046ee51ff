"""CsvReader(engine="arrow") gives the batches of the built-in parser."""

import numpy as np
import pytest
from shared_data import dataset_folder

from widedeep.readers import BadLineError, CsvReader

pytest.importorskip("pyarrow")


def _same(reader_args, **kwargs):
    python = list(CsvReader(*reader_args, **kwargs))
    arrow = list(CsvReader(*reader_args, engine="arrow", **kwargs))
    assert [len(next(iter(b.values()))) for b in python] == \
        [len(next(iter(b.values()))) for b in arrow]
    for a, b in zip(python, arrow):
        assert list(a) == list(b)
        for name in a:
            assert a[name].dtype.kind == b[name].dtype.kind, name
            assert np.array_equal(a[name], b[name], equal_nan=a[name].dtype.kind == "f"), name
    return python


def test_quotes_missing_values_strip_and_types(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('a,b,c,d\n1, x ,"q,1",2.5\n?,y,"multi\nline",\n3,,"say ""hi""", 7\n\n4,?,z,1e3\n')
    batches = _same([path], batch_size=2, dtypes={"a": "float64", "d": "float64"}, strip=True)
    assert sum(len(b["a"]) for b in batches) == 4


@pytest.mark.parametrize("name, kwargs", [
    ("adult/train.csv", {"dtypes": {"age": "float64", "fnlwgt": "int64"}}),
    ("criteo_sample/train.txt", {"header": False, "delimiter": "\t",
                                 "names": [f"c{k}" for k in range(40)],
                                 "dtypes": {f"c{k}": "float64" for k in range(1, 14)}}),
])
def test_real_files_give_identical_batches(name, kwargs):
    dataset, file = name.split("/")
    _same([dataset_folder(dataset, [file]) / file], batch_size=1000, **kwargs)


def test_bad_cell_and_bad_line_are_reported(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,x\nzz,y\n3,z\n")
    with pytest.raises(BadLineError, match="line 3, column 'a'"):
        CsvReader(path, dtypes={"a": "float64"}, engine="arrow").read()
    reader = CsvReader(path, dtypes={"a": "float64"}, engine="arrow", skip_bad_lines=True)
    assert reader.read()["a"].tolist() == [1.0, 3.0] and reader.n_bad_lines == 1
    path.write_text("a,b\n1,x\n2,y,extra\n")
    with pytest.raises(BadLineError, match="expected 2 fields, found 3"):
        CsvReader(path, engine="arrow").read()


@pytest.mark.parametrize("cells, dtype", [
    (["1e39", "2"], "float32"),           # overflows float32: a bad cell, never inf
    (["-1e39", "2"], "float32"),
    (["3000000000", "2"], "int32"),       # out of int32's range: never wrapped
    (["-1", "2"], "uint8"),
    (["256", "2"], "uint8"),
    (["inf", "2"], "float32"),            # written infinity is a value, not an overflow
    (["1.5", "2"], "int64"),
])
def test_narrow_dtypes_report_the_same_bad_cells_as_the_built_in_parser(tmp_path, cells,
                                                                          dtype):
    path = tmp_path / "n.csv"
    path.write_text("a,b\n" + "".join(f"{cell},x\n" for cell in cells))
    outcomes = []
    for engine in ("python", "arrow"):
        try:
            outcomes.append(("ok", CsvReader(path, dtypes={"a": dtype}, engine=engine).read()))
        except BadLineError as error:
            outcomes.append(("error", str(error)))
        reader = CsvReader(path, dtypes={"a": dtype}, engine=engine, skip_bad_lines=True)
        outcomes.append(("skipped", reader.read()["a"].tolist(), reader.n_bad_lines))
    python, python_skip, arrow, arrow_skip = outcomes
    assert python_skip == arrow_skip
    if python[0] == "error":
        assert arrow == python
    else:
        assert arrow[0] == "ok" and arrow[1]["a"].dtype == python[1]["a"].dtype
        np.testing.assert_array_equal(arrow[1]["a"], python[1]["a"])


_TRICKY_NUMBERS = ["1", "-2", "+3", "007", "1.5", ".5", "5.", "1e3", "1E-3", "1e400", "-1e400",
                   "nan", "NaN", "inf", "-inf", "Infinity", " 4", "4 ", " ", "?", "", "x",
                   "1_000", "0x10", "1,5", "3000000000", "-0", "9" * 20, "1e39", "2.5e-50"]


_PLAIN_NUMBERS = ["1", "-2", "1.5", ".5", "1e3", "nan", "inf", "?", "", " 4", "2.5e-50"]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32"])
@pytest.mark.parametrize("strip", [False, True])
@pytest.mark.parametrize("pool", [_TRICKY_NUMBERS, _PLAIN_NUMBERS], ids=["tricky", "plain"])
def test_random_cells_give_what_the_built_in_parser_gives(tmp_path, seed, dtype, strip, pool):
    rng = np.random.default_rng(seed)
    n = 40
    cells = rng.choice(pool, size=n)
    # mostly clean rows, a few tricky ones, so that both typed and exact passes are used
    clean = rng.random(n) < 0.7
    cells[clean] = rng.integers(0, 100, size=int(clean.sum())).astype(str)
    path = tmp_path / "r.csv"
    path.write_text("a,b\n" + "".join(f'"{c}",s{i % 3}\n' for i, c in enumerate(cells)))
    outcomes = []
    for engine in ("python", "arrow"):
        for skip in (False, True):
            reader = CsvReader(path, dtypes={"a": dtype}, strip=strip, engine=engine,
                               skip_bad_lines=skip, batch_size=7)
            try:
                batches = list(reader)
                outcomes.append(("ok", batches, reader.n_bad_lines,
                                 [b.line for b in reader.bad_lines]))
            except BadLineError as error:
                outcomes.append(("error", str(error)))
    for python, arrow in zip(outcomes[:2], outcomes[2:]):
        assert python[0] == arrow[0], (python, arrow)
        if python[0] == "error":
            assert python == arrow
            continue
        assert python[2:] == arrow[2:]
        assert len(python[1]) == len(arrow[1])
        for a, b in zip(python[1], arrow[1]):
            assert a["a"].dtype == b["a"].dtype
            np.testing.assert_array_equal(a["a"], b["a"])
            assert a["b"].tolist() == b["b"].tolist()


def _small_blocks(monkeypatch, block_bytes=200):
    """Make the arrow engine read in blocks of ``block_bytes`` (the default is 1 MB), so
    that a small file spans many blocks and read-ahead steps."""
    import functools

    import widedeep.readers.csv_reader as csv_reader
    monkeypatch.setattr(csv_reader, "arrow_batches", functools.partial(
        csv_reader.arrow_batches, block_bytes=block_bytes))


@pytest.mark.parametrize("string_na, strip", [("", False), ("NA", False), (None, False),
                                              ("", True)])
def test_many_blocks_of_mixed_text_give_identical_batches(tmp_path, monkeypatch, string_na,
                                                          strip):
    _small_blocks(monkeypatch)
    rng = np.random.default_rng(3)
    words = ["a", "?", "", " b ", "naïve", "x y", "68fd1e64", '"q,1"', "日本"]
    rows = [f"{rng.integers(0, 99)},{rng.choice(words)},{rng.choice(words[:4])}\n"
            for _ in range(300)]
    path = tmp_path / "m.csv"
    path.write_text("n,s,t\n" + "".join(rows), encoding="utf-8")
    batches = _same([path], batch_size=64, dtypes={"n": "int64"}, string_na=string_na,
                    strip=strip)
    assert sum(len(b["n"]) for b in batches) == 300


@pytest.mark.parametrize("first_bad_cell", [2, 150])   # 150: after batches were yielded
@pytest.mark.parametrize("skip", [True, False])
def test_skipped_records_and_bad_cells_over_many_blocks_are_reported_like_the_built_in(
        tmp_path, monkeypatch, first_bad_cell, skip):
    _small_blocks(monkeypatch)
    rng = np.random.default_rng(5)
    lines, expected_bad = [], []
    for line in range(2, 400):
        kind = rng.choice(["good", "good", "good", "fields", "cell"][
            :4 if line < first_bad_cell else 5])
        lines.append({"good": f"{line},s{line}\n", "fields": f"{line},s,extra\n",
                      "cell": f"x{line},s\n"}[kind])
        if kind != "good":
            expected_bad.append(line)
    path = tmp_path / "b.csv"
    path.write_text("a,b\n" + "".join(lines))
    reports = []
    for engine in ("python", "arrow"):
        reader = CsvReader(path, dtypes={"a": "float64"}, engine=engine, batch_size=50,
                           skip_bad_lines=skip)
        if not skip:
            with pytest.raises(BadLineError) as error:
                reader.read()
            reports.append(error.value.bad_line.line)
            continue
        values = reader.read()["a"]
        reports.append((values.tolist(), [b.line for b in reader.bad_lines],
                        [b.column for b in reader.bad_lines if b.column == "a"]))
    assert reports[0] == reports[1]
    assert (reports[1][1] if skip else [reports[1]]) == (expected_bad if skip else
                                                          expected_bad[:1])


@pytest.mark.parametrize("bad_row", [
    b"2,caf\xe9\n",            # a string cell: not UTF-8
    b"2\xe9,cafe\n",           # a numeric cell: not UTF-8
    b"2,\xc3\xa9\xc3\n",       # valid characters, then a truncated one
])
@pytest.mark.parametrize("skip", [False, True])
def test_text_that_is_not_utf8_raises_the_built_in_error_naming_the_line(tmp_path, bad_row,
                                                                        skip):
    # far past the first block and past what the header check decodes
    path = tmp_path / "late.csv"
    path.write_bytes(b"a,b\n" + b"1,x\n" * 50_000 + bad_row + b"3,z\n")
    errors = []
    for engine in ("python", "arrow"):
        with pytest.raises(BadLineError) as caught:
            CsvReader(path, dtypes={"a": "float64"}, engine=engine, skip_bad_lines=skip,
                      batch_size=4096).read()
        errors.append(str(caught.value))
    assert errors[0] == errors[1]
    assert "line 50002: cannot decode the bytes as utf-8" in errors[1]


def test_valid_utf8_over_many_blocks_is_accepted(tmp_path, monkeypatch):
    _small_blocks(monkeypatch)
    rows = "".join(f"{k},{'café' if k % 3 else 'x'},{'日本' if k % 5 == 0 else '?'}\n"
                   for k in range(300))
    path = tmp_path / "u.csv"
    path.write_text("n,s,t\n" + rows, encoding="utf-8")
    batches = _same([path], batch_size=64, dtypes={"n": "int64"})
    assert batches[0]["s"][:3].tolist() == ["x", "café", "café"]


def test_cells_holding_nul_bytes_compare_as_the_built_in_engine_compares_them(tmp_path):
    # NumPy ignores trailing NULs: "?\0" is the missing token "?" in both engines
    path = tmp_path / "nul.csv"
    path.write_bytes(b"a,s\n1,?\x00\n2,x\x00y\n3,\x00\n4,?\n5,ok\n")
    batches = _same([path], batch_size=2, dtypes={"a": "int64"})
    assert np.concatenate([b["s"] for b in batches]).tolist() == ["", "x\x00y", "", "", "ok"]


def test_the_conversion_thread_cuts_the_reader_batches(tmp_path, monkeypatch):
    # blocks of ~200 bytes (~20 rows) become batches of exactly batch_size rows before
    # they reach the caller's thread
    _small_blocks(monkeypatch)
    from widedeep.readers import _csv_arrow
    path = tmp_path / "c.csv"
    path.write_text("a,b\n" + "".join(f"{k},s{k % 7}\n" for k in range(500)))
    reader = CsvReader(path, dtypes={"a": "int64"}, engine="arrow", batch_size=64)
    sizes = [len(batch["a"]) for batch in _csv_arrow.arrow_batches(reader, reader.report,
                                                                   block_bytes=200)]
    assert sizes == [64] * 7 + [52]
    assert np.concatenate([b["a"] for b in reader]).tolist() == list(range(500))

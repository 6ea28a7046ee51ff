"""CsvReader(engine="arrow") gives the batches of the built-in parser."""
from pathlib import Path

import numpy as np
import pytest

from widedeep.readers import BadLineError, CsvReader

pytest.importorskip("pyarrow")
SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"


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
    if not (SHARED / name).is_file():
        pytest.skip(f"{SHARED / name} not found (the shared datasets)")
    _same([SHARED / name], batch_size=1000, **kwargs)


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

"""Random malformed CSV, libsvm and libffm text: every file either reads, raises an error
naming the file and a line inside it, or (skip_bad_lines) skips and counts so that rows
read + lines skipped = the file's records."""
import csv
import io
import os
import re
import tempfile

from hypothesis import given
from hypothesis import strategies as st

from widedeep.readers import CsvReader, LibffmReader, LibsvmReader
from property_helpers import PROPERTY_SETTINGS, assert_named_error, line_number

CELL_CHARS = st.sampled_from(list('ab7.-é, "\t?') + ["1", "x"])
CELL = st.text(CELL_CHARS, max_size=6)
LINE = st.lists(CELL, min_size=0, max_size=4).map(",".join)


def _write(text, suffix):
    handle, path = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
        out.write(text)
    return path


def _read_all(reader):
    batches = list(reader)
    return sum(len(next(iter(b.values()))) if isinstance(b, dict) else len(b[1])
               for b in batches)


@PROPERTY_SETTINGS
@given(st.lists(LINE, min_size=1, max_size=25), st.booleans())
def test_malformed_csv_is_read_named_or_counted(lines, crlf):
    text = ("\r\n" if crlf else "\n").join(["a,b,c"] + lines) + "\n"
    path = _write(text, ".csv")
    try:
        n_lines = len(lines) + 1
        try:
            strict_rows = _read_all(CsvReader(path, batch_size=7))
        except Exception as error:          # noqa: BLE001 - classified below
            assert_named_error(error, re.escape(path) + r", line \d+")
            assert 2 <= line_number(error) <= n_lines
            strict_rows = None
        reader = CsvReader(path, batch_size=7, skip_bad_lines=True)
        rows = _read_all(reader)
        bad = reader.n_bad_lines
        assert all(2 <= b.line <= n_lines for b in reader.bad_lines)
        assert len({b.line for b in reader.bad_lines}) == bad
        records = sum(1 for line in lines if line.strip("\r") != "")
        if not any('"' in line for line in lines):
            assert rows + bad == records           # every non-blank line is one record
        else:
            assert rows + bad <= records           # quoted fields may span lines
        if strict_rows is not None:
            assert (rows, bad) == (strict_rows, 0)
    finally:
        os.remove(path)


WELL_FORMED_CELL = st.text(st.sampled_from(list('ab ,"\n?é') + ["1"]), max_size=8)


@PROPERTY_SETTINGS
@given(st.lists(st.lists(WELL_FORMED_CELL, min_size=3, max_size=3), min_size=1, max_size=20))
def test_csv_written_by_the_csv_module_reads_back_exactly(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["a", "b", "c"])
    writer.writerows(rows)
    path = _write(buffer.getvalue(), ".csv")
    try:
        batch = CsvReader(path, na_values=()).read()
        got = list(zip(*(batch[name].tolist() for name in "abc")))
        assert got == [tuple(r) for r in rows]
    finally:
        os.remove(path)


TOKEN = st.one_of(
    st.builds(lambda i, v: f"{i}:{v}", st.integers(0, 30), st.sampled_from(["1", "0.5", "-2"])),
    st.text(st.sampled_from(list("0123:.-ex#")), min_size=1, max_size=6))
SVM_LINE = st.builds(lambda label, tokens: " ".join([label] + tokens),
                     st.sampled_from(["1", "0", "-1", "x", "1e400", ""]),
                     st.lists(TOKEN, max_size=5))


def _records(lines):
    return sum(1 for line in lines if line.split("#", 1)[0].strip())


@PROPERTY_SETTINGS
@given(st.lists(SVM_LINE, min_size=1, max_size=25))
def test_malformed_libsvm_is_read_named_or_counted(lines):
    path = _write("\n".join(lines) + "\n", ".svm")
    try:
        try:
            strict_rows = _read_all(LibsvmReader(path, batch_size=4, n_features=25))
        except Exception as error:          # noqa: BLE001 - classified below
            assert_named_error(error, re.escape(path) + r", line \d+")
            assert 1 <= line_number(error) <= len(lines)
            strict_rows = None
        reader = LibsvmReader(path, batch_size=4, n_features=25, skip_bad_lines=True)
        rows = _read_all(reader)
        assert rows + reader.n_bad_lines == _records(lines)
        if strict_rows is not None:
            assert (rows, reader.n_bad_lines) == (strict_rows, 0)
    finally:
        os.remove(path)


FFM_TOKEN = st.one_of(
    st.builds(lambda f, i: f"{f}:{i}:1", st.sampled_from(["0", "1", "2", "7", "1000000000"]),
              st.integers(0, 9)),
    st.text(st.sampled_from(list("0129:.-x")), min_size=1, max_size=7))
FFM_LINE = st.builds(lambda label, tokens: " ".join([label] + tokens),
                     st.sampled_from(["1", "0", "nan", "y"]), st.lists(FFM_TOKEN, max_size=4))


@PROPERTY_SETTINGS
@given(st.lists(FFM_LINE, min_size=1, max_size=20))
def test_malformed_libffm_is_read_named_or_counted(lines):
    path = _write("\n".join(lines) + "\n", ".ffm")
    try:
        try:
            reader = LibffmReader(path, batch_size=4, skip_bad_lines=True, max_fields=100)
        except Exception as error:          # noqa: BLE001 - field discovery met field 1e9
            assert_named_error(error, re.escape(path) + r", line \d+.*max_fields=100")
            reader = LibffmReader(path, batch_size=4, skip_bad_lines=True,
                                  field_names=["f0", "f1", "f2"])
        rows = _read_all(reader)
        assert rows + reader.n_bad_lines == _records(lines)
        features, labels = reader.read()
        for name, x in features.items():
            x.validate()
            assert x.n_examples == labels.shape[0]
    finally:
        os.remove(path)


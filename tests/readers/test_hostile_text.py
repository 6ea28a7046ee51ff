"""Hostile text for the readers: unclosed quotes, byte-order marks, undecodable bytes,
truncated gzip, absurd libffm field numbers, one very long cell."""
import gzip

import pytest

from widedeep.readers import BadLineError, CsvReader, LibffmReader, LibsvmReader


def _write(tmp_path, name, text):
    path = tmp_path / name
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.write_bytes(data)
    return path


def _numbered_csv(n_lines, quote_lines=()):
    lines = ["a,b"]
    for i in range(n_lines):
        value = f"v{i}"
        if i in quote_lines:
            value = '"' + value
        lines.append(f"{i},{value}")
    return "\n".join(lines) + "\n"


def test_unclosed_quote_raises_naming_the_line_where_it_opened(tmp_path):
    path = _write(tmp_path, "q.csv", 'a,b\n1,"x\n2,y\n3,z\n')
    with pytest.raises(BadLineError, match=r"q\.csv, line 2: a quoted field opened on this "
                                           r"line is not closed before the end of the file"):
        CsvReader(path).read()


def test_unclosed_quote_in_skip_mode_loses_only_its_own_line(tmp_path):
    path = _write(tmp_path, "q.csv", _numbered_csv(52, quote_lines={2}))
    reader = CsvReader(path, skip_bad_lines=True, dtypes={"a": "int64"})
    batch = reader.read()
    assert reader.n_bad_lines == 1 and reader.bad_lines[0].line == 4
    assert batch["a"].tolist() == [i for i in range(52) if i != 2]


def test_stray_quotes_in_a_long_file_are_all_counted(tmp_path):
    quote_lines = set(range(7, 2000, 37))
    path = _write(tmp_path, "q.csv", _numbered_csv(2000, quote_lines))
    reader = CsvReader(path, skip_bad_lines=True, dtypes={"a": "int64"})
    batch = reader.read()
    assert len(batch["a"]) + reader.n_bad_lines == 2000
    assert sorted(b.line for b in reader.bad_lines) == sorted(i + 2 for i in quote_lines)
    assert set(batch["a"].tolist()) == set(range(2000)) - quote_lines


def test_text_after_a_closing_quote_is_a_bad_line(tmp_path):
    path = _write(tmp_path, "q.csv", 'a,b\n1,"x"y\n2,z\n')
    with pytest.raises(BadLineError, match=r"line 2"):
        CsvReader(path).read()


def test_quoted_field_longer_than_max_record_lines_is_broken(tmp_path):
    path = _write(tmp_path, "q.csv", 'a,b\n1,"l1\nl2\nl3\nl4"\n2,z\n')
    assert CsvReader(path).read()["b"].tolist() == ["l1\nl2\nl3\nl4", "z"]
    with pytest.raises(BadLineError, match=r"line 2: .*still open after 3 lines "
                                           r"\(max_record_lines=3"):
        CsvReader(path, max_record_lines=3).read()


def test_unclosed_quote_in_the_header_is_an_error(tmp_path):
    path = _write(tmp_path, "q.csv", 'a,"b\n1,2\n')
    with pytest.raises(BadLineError, match=r"line 1: a quoted field"):
        CsvReader(path)


def test_byte_order_mark_is_dropped_without_a_header(tmp_path):
    path = _write(tmp_path, "bom.csv", b"\xef\xbb\xbf1,x\n2,y\n")
    batch = CsvReader(path, header=False, names=["a", "b"]).read()
    assert batch["a"].tolist() == ["1", "2"]


def test_byte_order_mark_is_dropped_in_libsvm(tmp_path):
    path = _write(tmp_path, "bom.svm", b"\xef\xbb\xbf1 3:1\n0 4:2\n")
    _, labels = LibsvmReader(path).read()
    assert labels.tolist() == [1.0, 0.0]


@pytest.mark.parametrize("skip", [False, True])
def test_undecodable_bytes_name_the_file_and_line(tmp_path, skip):
    csv_path = _write(tmp_path, "latin.csv", b"a,b\n1,x\n2,caf\xe9\n")
    with pytest.raises(BadLineError, match=r"latin\.csv, line 3: cannot decode the bytes "
                                           r"as utf-8.*encoding="):
        CsvReader(csv_path, skip_bad_lines=skip).read()
    svm_path = _write(tmp_path, "latin.svm", b"1 1:1\n1 2:1 # caf\xe9\n")
    with pytest.raises(BadLineError, match=r"latin\.svm, line 2: cannot decode"):
        LibsvmReader(svm_path, skip_bad_lines=skip).read()
    ffm_path = _write(tmp_path, "latin.ffm", b"1 0:1:1\n1 0:2:1 # caf\xe9\n")
    with pytest.raises(BadLineError, match=r"latin\.ffm, line 2: cannot decode"):
        LibffmReader(ffm_path, n_fields=1, skip_bad_lines=skip).read()


def test_latin1_file_reads_with_its_encoding(tmp_path):
    path = _write(tmp_path, "latin.csv", b"a,b\n2,caf\xe9\n")
    assert CsvReader(path, encoding="latin-1").read()["b"].tolist() == ["café"]


def _truncated_gzip(tmp_path, name, text):
    data = gzip.compress(text.encode())
    return _write(tmp_path, name, data[:len(data) // 2])


def test_truncated_gzip_names_the_file_and_line(tmp_path):
    path = _truncated_gzip(tmp_path, "t.csv.gz",
                           "a,b\n" + "".join(f"{i},x{i * 7919 % 10007}\n" for i in range(5000)))
    with pytest.raises(BadLineError, match=r"t\.csv\.gz, line \d+: the compressed stream is "
                                           r"truncated"):
        CsvReader(path).read()
    path = _truncated_gzip(tmp_path, "t.svm.gz",
                           "".join(f"1 {i * 7919 % 10007}:1\n" for i in range(5000)))
    with pytest.raises(BadLineError, match=r"t\.svm\.gz, line \d+: the compressed stream"):
        LibsvmReader(path).read()


def test_libffm_field_number_beyond_max_fields_is_refused(tmp_path):
    path = _write(tmp_path, "big.ffm", "1 0:1:1\n0 1000000000:2:1\n1 1:1:1\n")
    with pytest.raises(BadLineError, match=r"big\.ffm, line 2, field 2: field number "
                                           r"1000000000 is not below max_fields=10000"):
        LibffmReader(path)
    with pytest.raises(ValueError, match="n_fields=20000 is more than max_fields=10000"):
        LibffmReader(path, n_fields=20000)
    reader = LibffmReader(path, field_names=["user", "item"], skip_bad_lines=True)
    features, labels = reader.read()
    assert labels.tolist() == [1.0, 1.0] and reader.n_bad_lines == 1


@pytest.mark.parametrize("quoted", [False, True])
def test_one_very_long_cell_does_not_widen_every_row(tmp_path, quoted):
    long_cell = "x" * 100_000
    rows = [f"{i},short{i}" for i in range(20_000)]
    rows[5] = f'5,"{long_cell}"' if quoted else f"5,{long_cell}"
    path = _write(tmp_path, "wide.csv", "a,b\n" + "\n".join(rows) + "\n")
    batch = CsvReader(path, batch_size=100_000, dtypes={"a": "int64"}).read()
    assert batch["b"].dtype == object    # a <U100000 array of 20k rows would be 8 GB
    assert batch["b"][5] == long_cell and batch["b"][6] == "short6"
    assert batch["a"].tolist() == list(range(20_000))

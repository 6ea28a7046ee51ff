import csv
import gzip

import numpy as np
import pytest
from shared_data import dataset_folder

from widedeep.readers import BadLineError, CsvReader, concat_batches



def write(tmp_path, text, name="data.csv", newline=""):
    path = tmp_path / name
    with open(path, "w", encoding="utf-8", newline=newline) as handle:
        handle.write(text)
    return path


def test_quoted_fields_keep_delimiter_newline_and_doubled_quotes(tmp_path):
    path = write(tmp_path, 'id,text\n1,"a,b"\n2,"line one\nline two"\n3,"say ""hi"""\n')
    batch = CsvReader(path, dtypes={"id": "int64"}).read()
    assert batch["id"].tolist() == [1, 2, 3]
    assert batch["text"].tolist() == ["a,b", "line one\nline two", 'say "hi"']


def test_question_mark_and_empty_are_missing(tmp_path):
    path = write(tmp_path, "x,s\n1.5,a\n?,?\n,\n2,b\n")
    batch = CsvReader(path, dtypes={"x": "float64"}).read()
    np.testing.assert_array_equal(batch["x"], [1.5, np.nan, np.nan, 2.0])
    assert batch["s"].tolist() == ["a", "", "", "b"]


def test_string_na_none_gives_object_column_with_none(tmp_path):
    path = write(tmp_path, "s\na\n?\n")
    batch = CsvReader(path, string_na=None, na_values=("?",)).read()
    assert batch["s"].dtype == object
    assert batch["s"].tolist() == ["a", None]


def test_custom_na_token_that_looks_numeric(tmp_path):
    path = write(tmp_path, "x\n3\n-1\n4\n")
    batch = CsvReader(path, dtypes={"x": "float64"}, na_values=("-1",)).read()
    np.testing.assert_array_equal(batch["x"], [3.0, np.nan, 4.0])


def test_crlf_line_endings(tmp_path):
    path = write(tmp_path, "a,b\r\n1,x\r\n2,y\r\n")
    batch = CsvReader(path, dtypes={"a": "float64"}).read()
    assert batch["a"].tolist() == [1.0, 2.0]
    assert batch["b"].tolist() == ["x", "y"]


def test_missing_final_newline_keeps_last_row(tmp_path):
    path = write(tmp_path, "a,b\n1,x\n2,y")
    assert CsvReader(path).read()["b"].tolist() == ["x", "y"]


def test_blank_lines_are_skipped(tmp_path):
    path = write(tmp_path, "a\n1\n\n2\n\n")
    assert CsvReader(path, dtypes={"a": "int64"}).read()["a"].tolist() == [1, 2]


def test_too_few_fields_error_names_file_line_and_column(tmp_path):
    path = write(tmp_path, "a,b,c\n1,2,3\n4,5\n")
    with pytest.raises(ValueError) as error:
        CsvReader(path).read()
    message = str(error.value)
    assert "data.csv" in message and "line 3" in message and "'c'" in message
    assert "expected 3 fields, found 2" in message
    assert error.value.bad_line.line == 3 and error.value.bad_line.column == "c"


def test_too_many_fields_error_names_the_extra_field(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3,4,5\n")
    with pytest.raises(BadLineError, match=r"data\.csv, line 3, field 3: expected 2 fields"):
        CsvReader(path).read()


def test_line_numbers_count_physical_lines_of_multiline_records(tmp_path):
    path = write(tmp_path, 'a,b\n1,"x\ny\nz"\n2\n')
    with pytest.raises(BadLineError, match="line 5"):
        CsvReader(path).read()


def test_numeric_parse_error_names_file_line_and_column(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3,oops\n")
    with pytest.raises(ValueError) as error:
        CsvReader(path, dtypes={"a": "float64", "b": "float64"}).read()
    assert str(error.value) == (f"{path}, line 3, column 'b' (field 2): cannot parse "
                                f"'oops' as a number")


def test_numeric_error_in_later_batch_reports_its_own_line(tmp_path):
    rows = "".join(f"{i}\n" for i in range(10)) + "x\n"
    path = write(tmp_path, "a\n" + rows)
    with pytest.raises(BadLineError, match="line 12, column 'a'"):
        list(CsvReader(path, batch_size=3, dtypes={"a": "float64"}))


def test_integer_column_rejects_missing_and_fractions(tmp_path):
    path = write(tmp_path, "a\n1\n\n2.5\n?\n")
    reader = CsvReader(path, dtypes={"a": "int64"}, skip_bad_lines=True)
    assert reader.read()["a"].tolist() == [1]
    assert [b.line for b in reader.bad_lines] == [4, 5]
    assert "missing value" in reader.bad_lines[1].reason
    assert "2.5" in reader.bad_lines[0].reason


def test_skip_bad_lines_counts_and_keeps_batches_full(tmp_path):
    lines = ["a,b"] + [f"{i},{i}" for i in range(10)]
    lines[3] = "2"            # too few fields (line 4)
    lines[6] = "5,five"       # unparsable number (line 7)
    lines[8] = "7,7,7"        # too many fields (line 9)
    path = write(tmp_path, "\n".join(lines) + "\n")
    reader = CsvReader(path, batch_size=3, dtypes={"a": "int64", "b": "float64"},
                       skip_bad_lines=True)
    batches = list(reader)
    assert [len(b["a"]) for b in batches] == [3, 3, 1]
    assert np.concatenate([b["a"] for b in batches]).tolist() == [0, 1, 3, 4, 6, 8, 9]
    assert reader.n_bad_lines == 3
    assert sorted(b.line for b in reader.bad_lines) == [4, 7, 9]
    assert reader.report.rows == 7
    list(reader)  # a new pass resets the report
    assert reader.n_bad_lines == 3 and reader.report.rows == 7


def test_unterminated_quote_is_reported_not_hung(tmp_path):
    path = write(tmp_path, 'a,b\n1,"open\n')
    reader = CsvReader(path, skip_bad_lines=True)
    batch = reader.read()
    assert len(batch["a"]) + reader.n_bad_lines == 1


def _random_csv(tmp_path, n_rows, seed=0):
    rng = np.random.default_rng(seed)
    words = ["alpha", "beta, gamma", 'quote "q"', "new\nline", "", "?"]
    path = tmp_path / "random.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["num", "word", "count"])
        for _ in range(n_rows):
            num = "" if rng.random() < 0.1 else f"{rng.normal():.6f}"
            writer.writerow([num, words[rng.integers(len(words))], int(rng.integers(100))])
    return path


def _reference(path):
    """Independent reference: the csv module row by row, with float() per cell."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    num = [float("nan") if r["num"] in ("", "?") else float(r["num"]) for r in rows]
    word = ["" if r["word"] in ("", "?") else r["word"] for r in rows]
    count = [int(r["count"]) for r in rows]
    return num, word, count


@pytest.mark.parametrize("batch_size", [1, 7, 64, 10_000])
def test_streaming_in_small_batches_equals_reading_at_once(tmp_path, batch_size):
    path = _random_csv(tmp_path, 500)
    dtypes = {"num": "float64", "count": "int64"}
    batches = list(CsvReader(path, batch_size=batch_size, dtypes=dtypes))
    assert all(len(b["num"]) == batch_size for b in batches[:-1])
    streamed = concat_batches(batches)
    num, word, count = _reference(path)
    np.testing.assert_array_equal(streamed["num"], num)
    assert streamed["word"].tolist() == word
    assert streamed["count"].tolist() == count


def test_reader_is_reiterable(tmp_path):
    path = _random_csv(tmp_path, 50)
    reader = CsvReader(path, batch_size=16)
    first = [b["word"].tolist() for b in reader]
    second = [b["word"].tolist() for b in reader]
    assert first == second and len(first) == 4


def test_columns_selects_and_orders(tmp_path):
    path = write(tmp_path, "a,b,c\n1,2,3\n")
    batch = CsvReader(path, columns=["c", "a"]).read()
    assert list(batch) == ["c", "a"]
    assert batch["c"].tolist() == ["3"]


def test_unknown_column_is_an_error_at_construction(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"dtypes= asks for column\(s\) \['z'\] that the "
                       r"file does not have; its columns are \['a', 'b'\]"):
        CsvReader(path, dtypes={"z": "float64"})
    with pytest.raises(ValueError, match=r"columns= asks for column\(s\) \['c'\]"):
        CsvReader(path, columns=["a", "c"])


def test_headerless_file_needs_names(tmp_path):
    path = write(tmp_path, "1\t2\n")
    with pytest.raises(ValueError, match="names"):
        CsvReader(path, header=False, delimiter="\t")
    batch = CsvReader(path, header=False, names=["x", "y"], delimiter="\t",
                      default_dtype="int64").read()
    assert batch["x"].tolist() == [1] and batch["y"].tolist() == [2]


def test_names_replace_header_and_strip_whitespace(tmp_path):
    path = write(tmp_path, "A,B\n 1 , x \n")
    batch = CsvReader(path, names=["a", "b"], header=True, strip=True,
                      dtypes={"a": "float64"}).read()
    assert batch["a"].tolist() == [1.0] and batch["b"].tolist() == ["x"]


def test_gzip_and_utf8_bom(tmp_path):
    path = tmp_path / "data.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\ufeffname,v\né,1\n")
    reader = CsvReader(path, dtypes={"v": "float64"})
    assert reader.names == ["name", "v"]
    assert reader.read()["name"].tolist() == ["é"]


def test_criteo_headerless_tsv_with_empty_missing():
    folder = dataset_folder("criteo_sample", ["train.txt"])
    names = ["label"] + [f"I{i}" for i in range(1, 14)] + [f"C{i}" for i in range(1, 27)]
    reader = CsvReader(folder / "train.txt", header=False, names=names, delimiter="\t",
                       dtypes={n: "float64" for n in names[:14]}, batch_size=2048)
    batch = reader.read()
    assert len(batch["label"]) == 7200
    assert int(batch["label"].sum()) == 1549
    assert int(np.isnan(batch["I12"]).sum()) == 5576
    assert int((batch["C22"] == "").sum()) == 5894
    with open(folder / "train.txt", encoding="utf-8") as handle:
        first = handle.readline().rstrip("\n").split("\t")
    assert batch["C1"][0] == first[14] and batch["C26"][0] == first[39]
    expected_i1 = float(first[1]) if first[1] else np.nan
    np.testing.assert_array_equal(batch["I1"][:1], [expected_i1])


def test_header_only_file_yields_no_batches_and_typed_empty_read(tmp_path):
    path = write(tmp_path, "a,b\n")
    reader = CsvReader(path, dtypes={"a": "float64"})
    assert list(reader) == []
    batch = reader.read()
    assert batch["a"].dtype == np.float64 and batch["a"].shape == (0,)
    assert batch["b"].dtype.kind == "U"


# ---------------------------------------------------------------- block-wise splitting
# The reader splits blocks without quotes with array operations and other blocks with the
# csv module; small blocks put block ends everywhere, including inside quoted records.

@pytest.fixture
def tiny_blocks(monkeypatch):
    monkeypatch.setattr("widedeep.readers._csv_split.BLOCK_CHARS", 16)


def _csv_module_rows(path, encoding="utf-8", **options):
    """Independent reference: every non-blank record of the file by the csv module."""
    with open(path, newline="", encoding=encoding) as handle:
        return [row for row in csv.reader(handle, **options) if row][1:]


def _mixed_csv(tmp_path, n_rows, seed, quoted):
    """Random rows of ASCII and non-ASCII words, missing cells, numbers; with
    ``quoted`` some cells hold the delimiter, quotes and newlines."""
    rng = np.random.default_rng(seed)
    words = ["alpha", "", "?", "é café", "日本", "a b"]
    if quoted:
        words += ["x,y", 'say "hi"', "two\nlines"]
    path = tmp_path / f"mixed{seed}.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\r\n" if seed % 2 else "\n")
        writer.writerow(["num", "word", "count", "real"])
        for _ in range(n_rows):
            num = "" if rng.random() < 0.1 else f"{rng.normal():.6f}"
            writer.writerow([num, words[rng.integers(len(words))], int(rng.integers(10**6)),
                             f"{rng.normal():.3e}"])
            if rng.random() < 0.05:
                handle.write("\n")  # a blank line
    return path


@pytest.mark.parametrize("quoted", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_block_wise_reading_equals_the_csv_module(tmp_path, tiny_blocks, seed, quoted):
    path = _mixed_csv(tmp_path, 300, seed, quoted)
    batch = CsvReader(path, batch_size=37, dtypes={"num": "float64", "count": "int64",
                                                  "real": "float64"}).read()
    rows = _csv_module_rows(path)
    expected_num = [np.nan if r[0] in ("", "?") else float(r[0]) for r in rows]
    np.testing.assert_array_equal(batch["num"], expected_num)
    assert batch["word"].tolist() == ["" if r[1] in ("", "?") else r[1] for r in rows]
    assert batch["count"].tolist() == [int(r[2]) for r in rows]
    assert batch["real"].tolist() == [float(r[3]) for r in rows]


def test_default_blocks_and_tiny_blocks_agree(tmp_path, monkeypatch):
    path = _mixed_csv(tmp_path, 2000, seed=3, quoted=True)
    whole = CsvReader(path, dtypes={"count": "int64"}).read()
    monkeypatch.setattr("widedeep.readers._csv_split.BLOCK_CHARS", 50)
    tiny = CsvReader(path, dtypes={"count": "int64"}).read()
    for name in whole:
        assert tiny[name].tolist() == whole[name].tolist()


def test_quoted_newline_across_a_block_end(tmp_path, tiny_blocks):
    path = write(tmp_path, 'a,b\n1,"' + "x" * 30 + '\n' + "y" * 30 + '"\n2,z\n3\n')
    with pytest.raises(BadLineError, match="line 5"):
        CsvReader(path, dtypes={"a": "int64"}).read()
    reader = CsvReader(path, dtypes={"a": "int64"}, skip_bad_lines=True)
    batch = reader.read()
    assert batch["a"].tolist() == [1, 2]
    assert batch["b"].tolist() == ["x" * 30 + "\n" + "y" * 30, "z"]


def test_non_ascii_delimiter_and_text(tmp_path):
    path = write(tmp_path, "a§b\n1§é\n2§x\n")
    batch = CsvReader(path, delimiter="§", dtypes={"a": "float64"}).read()
    assert batch["a"].tolist() == [1.0, 2.0] and batch["b"].tolist() == ["é", "x"]


def test_field_count_errors_count_blank_and_crlf_lines(tmp_path, tiny_blocks):
    path = write(tmp_path, "a,b\r\n1,2\r\n\r\n3\r\n4,5\r\n6,7,8\r\n9,10\r\n")
    reader = CsvReader(path, dtypes={"a": "int64"}, skip_bad_lines=True)
    assert reader.read()["a"].tolist() == [1, 4, 9]
    assert [(b.line, b.column, b.field) for b in reader.bad_lines] == [(4, "b", 2),
                                                                       (6, None, 3)]


def test_first_bad_line_in_file_order_is_raised(tmp_path):
    # a parse error on line 3 comes before a field-count error on line 4 of one block
    path = write(tmp_path, "a,b\n1,2\nx,3\n4\n")
    with pytest.raises(BadLineError, match="line 3, column 'a'"):
        CsvReader(path, dtypes={"a": "int64"}).read()


@pytest.mark.parametrize("cells, dtype, expected", [
    (["007", "42", "999999999999999"], "float64", [7.0, 42.0, 999999999999999.0]),
    (["1", "23", "456"], "int64", [1, 23, 456]),
    (["12345678901234567", "1"], "int64", [12345678901234567, 1]),  # past 15 digits
    (["-3", "+4", " 5 "], "int64", [-3, 4, 5]),
    (["1.5", "2", "1e3"], "float32", [1.5, 2.0, 1000.0]),
])
def test_number_columns_parse_like_python(tmp_path, cells, dtype, expected):
    path = write(tmp_path, "x\n" + "\n".join(cells) + "\n")
    values = CsvReader(path, dtypes={"x": dtype}).read()["x"]
    assert values.dtype == np.dtype(dtype) and values.tolist() == expected


def test_digits_only_na_token_still_means_missing(tmp_path):
    path = write(tmp_path, "x\n3\n999\n4\n")
    values = CsvReader(path, dtypes={"x": "float64"}, na_values=("999",)).read()["x"]
    np.testing.assert_array_equal(values, [3.0, np.nan, 4.0])


def test_strip_in_a_plain_block_gives_the_same_cells(tmp_path):
    path = write(tmp_path, "a, b, c\n 1 , x ,?\n2,  y z ,\t?\n")
    batch = CsvReader(path, strip=True, names=["a", "b", "c"], header=True,
                      dtypes={"a": "int64"}).read()
    assert batch["a"].tolist() == [1, 2]
    assert batch["b"].tolist() == ["x", "y z"] and batch["c"].tolist() == ["", ""]


def test_shuffled_pass_is_the_shuffle_buffer_order_of_the_file_rows(tmp_path, tiny_blocks):
    from widedeep.readers import epoch_rng, shuffle_buffer
    path = _mixed_csv(tmp_path, 400, seed=4, quoted=True)
    in_order = CsvReader(path).read()["count"].tolist()
    reader = CsvReader(path, batch_size=64, shuffle_buffer=50, random_state=9)
    for epoch in range(2):
        shuffled = concat_batches(list(reader))["count"].tolist()
        assert shuffled == list(shuffle_buffer(in_order, 50, epoch_rng(9, epoch)))


def test_names_without_header_read_every_line_as_data(tmp_path):
    # the trap of issue 9: names= used to drop the first data row as a header
    path = write(tmp_path, "1,x\n2,y\n")
    batch = CsvReader(path, names=["a", "b"], dtypes={"a": "int64"}).read()
    assert batch["a"].tolist() == [1, 2]


def test_header_true_with_names_skips_the_header_line_and_says_so(tmp_path, caplog):
    path = write(tmp_path, "A,B\n1,x\n")
    with caplog.at_level("WARNING", logger="widedeep"):
        batch = CsvReader(path, names=["a", "b"], header=True, dtypes={"a": "int64"}).read()
    assert batch["a"].tolist() == [1]
    assert "skipping the first line ['A', 'B']" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="widedeep"):
        CsvReader(path, names=["A", "B"], header=True).read()      # same names: nothing to say
    assert caplog.text == ""


@pytest.mark.parametrize("header, names, expected_rows", [
    (None, None, 2), (True, None, 2), (None, ["p", "q"], 3), (False, ["p", "q"], 3),
    (True, ["p", "q"], 2)])
def test_no_row_is_lost_whatever_the_header_combination(tmp_path, header, names,
                                                          expected_rows):
    path = write(tmp_path, "p,q\n1,x\n2,y\n")
    reader = CsvReader(path, names=names, header=header)
    rows = len(reader.read()["p"])
    # the lines not yielded are exactly the header line when there is one
    assert rows == expected_rows and rows + reader.header == 3


def test_label_column_is_yielded_separately(tmp_path):
    path = write(tmp_path, "a,clicked,b\n1,0,x\n2,1,y\n3,1,z\n")
    reader = CsvReader(path, label="clicked", batch_size=2, dtypes={"a": "int64"})
    batches = list(reader)
    assert [list(columns) for columns, _ in batches] == [["a", "b"], ["a", "b"]]
    assert np.concatenate([labels for _, labels in batches]).tolist() == [0.0, 1.0, 1.0]
    columns, labels = reader.read()
    assert columns["b"].tolist() == ["x", "y", "z"] and labels.dtype == np.float64


def test_label_that_is_not_a_number_is_a_bad_cell_unless_declared_text(tmp_path):
    path = write(tmp_path, "a,y\n1,yes\n")
    with pytest.raises(BadLineError, match="line 2, column 'y'"):
        CsvReader(path, label="y").read()
    _, labels = CsvReader(path, label="y", dtypes={"y": "str"}).read()
    assert labels.tolist() == ["yes"]

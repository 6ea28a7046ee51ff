
import numpy as np
import pytest
from shared_data import dataset_folder, find_dataset

from widedeep.datasets import ADULT_CATEGORICAL, ADULT_COLUMNS, ADULT_NUMERIC, load_adult

ADULT = find_dataset("adult", ["train.csv", "test.csv"])


def _need_shared():
    dataset_folder("adult", ["train.csv", "test.csv"])


def test_real_files_row_and_positive_counts():
    _need_shared()
    (train_X, train_y), (test_X, test_y) = load_adult(ADULT)
    assert len(train_y) == 32_561 and int(train_y.sum()) == 7_841
    assert len(test_y) == 16_281 and int(test_y.sum()) == 3_846
    assert train_y.dtype == np.int64 and set(np.unique(test_y).tolist()) == {0, 1}
    assert list(train_X) == list(ADULT_COLUMNS[:-1])
    assert all(len(col) == 32_561 for col in train_X.values())


def test_real_files_types_missing_and_first_row():
    _need_shared()
    (train_X, _), (test_X, _) = load_adult(ADULT)
    for name in ADULT_NUMERIC:
        assert train_X[name].dtype == np.float64
        assert not np.isnan(train_X[name]).any()
    for name in ADULT_CATEGORICAL:
        assert train_X[name].dtype.kind == "U"
    assert train_X["age"][0] == 39.0 and train_X["fnlwgt"][0] == 77516.0
    assert train_X["workclass"][0] == "State-gov"
    assert train_X["native_country"][0] == "United-States"
    # "?" is missing: rows with at least one missing categorical, as documented
    for X, expected in ((train_X, 2_399), (test_X, 1_221)):
        missing = np.zeros(len(X["age"]), dtype=bool)
        for name in ("workclass", "occupation", "native_country"):
            missing |= X[name] == ""
        assert int(missing.sum()) == expected
        assert not any((X[name] == "?").any() for name in ADULT_CATEGORICAL)


def _write_raw_copy(folder, n_rows=50):
    """The original UCI layout from the first rows of the CSVs: ", " separators, a note
    line at the top of the test file and a trailing "." on test labels."""
    folder.mkdir()
    for source, target, is_test in (("train.csv", "adult.data", False),
                                    ("test.csv", "adult.test", True)):
        lines = (ADULT / source).read_text().splitlines()[1:n_rows + 1]
        with open(folder / target, "w") as handle:
            if is_test:
                handle.write("|1x3 Cross validator\n")
            for line in lines:
                handle.write(", ".join(line.split(",")) + ("." if is_test else "") + "\n")
            handle.write("\n")


def test_raw_uci_layout_gives_the_same_columns(tmp_path):
    _need_shared()
    _write_raw_copy(tmp_path / "raw")
    (raw_train_X, raw_train_y), (raw_test_X, raw_test_y) = load_adult(tmp_path / "raw")
    (train_X, train_y), (test_X, test_y) = load_adult(ADULT)
    for name in ADULT_COLUMNS[:-1]:
        assert raw_train_X[name].tolist() == train_X[name][:50].tolist()
        assert raw_test_X[name].tolist() == test_X[name][:50].tolist()
    assert raw_train_y.tolist() == train_y[:50].tolist()
    assert raw_test_y.tolist() == test_y[:50].tolist()


def test_cache_folder_from_environment(tmp_path, monkeypatch):
    _need_shared()
    _write_raw_copy(tmp_path / "adult", n_rows=5)
    monkeypatch.setenv("WIDEDEEP_DATA", str(tmp_path))
    (train_X, train_y), _ = load_adult()
    assert len(train_y) == 5


def test_missing_files_error_says_what_and_where(tmp_path, monkeypatch):
    monkeypatch.setenv("WIDEDEEP_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        load_adult()
    message = str(error.value)
    assert str(tmp_path / "adult") in message
    assert "adult.data" in message and "adult.test" in message and "train.csv" in message
    assert "archive.ics.uci.edu" in message


def test_unknown_label_is_an_error(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    header = ",".join(ADULT_COLUMNS)
    row = "39,State-gov,77516,Bachelors,13,Never-married,Adm-clerical,Not-in-family," \
          "White,Male,2174,0,40,United-States,"
    (folder / "train.csv").write_text(f"{header}\n{row}<=50K\n{row}maybe\n")
    (folder / "test.csv").write_text(f"{header}\n{row}>50K\n")
    with pytest.raises(ValueError, match=r"train\.csv: data row 2: income_bracket is 'maybe'"):
        load_adult(folder)

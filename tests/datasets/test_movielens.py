
import numpy as np
import pytest
from shared_data import dataset_folder

from widedeep.datasets import MOVIELENS_GENRES, load_movielens100k
from widedeep.records import Ragged



@pytest.fixture(scope="module")
def movielens():
    return load_movielens100k(dataset_folder("movielens100k"))


def test_real_files_counts(movielens):
    ratings, items, users = movielens
    assert len(ratings["rating"]) == 100_000
    assert np.unique(ratings["user_id"]).size == 943 and len(users["user_id"]) == 943
    assert np.unique(ratings["movie_id"]).size == 1_682 and len(items["movie_id"]) == 1_682
    assert set(np.unique(ratings["rating"]).tolist()) == {1, 2, 3, 4, 5}
    assert round(float((ratings["rating"] >= 4).mean()), 3) == 0.554


def test_real_files_first_rows(movielens):
    ratings, items, users = movielens
    assert [ratings[c][0] for c in ("user_id", "movie_id", "rating", "timestamp")] == \
        [196, 242, 3, 881250949]
    assert items["title"][0] == "Toy Story (1995)"
    assert items["release_date"][0] == "01-Jan-1995"
    assert items["genres"].to_lists()[:2] == [["Animation", "Children's", "Comedy"],
                                               ["Action", "Adventure", "Thriller"]]
    assert [users[c][0] for c in ("user_id", "age", "gender", "occupation", "zip_code")] \
        == [1, 24, "M", "technician", "85711"]


def test_genres_match_the_flag_columns(movielens):
    _, items, _ = movielens
    genres = items["genres"]
    assert isinstance(genres, Ragged) and len(genres) == 1_682
    flags = []
    with open(dataset_folder("movielens100k") / "u.item", encoding="latin-1") as handle:
        for line in handle:
            flags.append([int(f) for f in line.rstrip("\n").split("|")[5:]])
    expected = [[g for g, f in zip(MOVIELENS_GENRES, row) if f] for row in flags]
    assert genres.to_lists() == expected


def test_ml100k_subfolder_in_cache(tmp_path, monkeypatch):
    folder = tmp_path / "movielens100k" / "ml-100k"
    folder.mkdir(parents=True)
    (folder / "u.data").write_text("1\t2\t5\t100\n")
    flags = "|".join(["0"] * 5 + ["1"] + ["0"] * 13)
    (folder / "u.item").write_text(f"2|Film (1990)|01-Jan-1990||url|{flags}\n")
    (folder / "u.user").write_text("1|30|F|writer|T8H1N\n")
    monkeypatch.setenv("WIDEDEEP_DATA", str(tmp_path))
    ratings, items, users = load_movielens100k()
    assert ratings["rating"].tolist() == [5]
    assert items["genres"].to_lists() == [["Comedy"]]
    assert users["zip_code"].tolist() == ["T8H1N"]


def test_missing_files_error_says_what_and_where(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        load_movielens100k(tmp_path)
    message = str(error.value)
    assert str(tmp_path) in message
    assert all(name in message for name in ("u.data", "u.item", "u.user"))
    assert "grouplens.org" in message

"""MovieLens 100K (GroupLens): `load_movielens100k` reads ``u.data``, ``u.item`` and
``u.user`` in the original ml-100k layout (a folder, or its ``ml-100k`` subfolder as
unzipped from ``ml-100k.zip``). GroupLens does not allow redistribution: load the files
from a path, never commit them."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..readers import CsvReader
from ..records import Ragged
from ._paths import find_dataset_folder

__all__ = ["load_movielens100k", "MovieLens100k", "MOVIELENS_GENRES"]

MOVIELENS_GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy",
                    "Crime", "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror",
                    "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western")

_ITEM_COLUMNS = (("movie_id", "title", "release_date", "video_release_date", "imdb_url")
                 + tuple(f"genre_{i}" for i in range(len(MOVIELENS_GENRES))))

_HOW_TO_GET = ("Get ml-100k.zip from GroupLens, https://grouplens.org/datasets/movielens/100k/ "
               "(https://files.grouplens.org/datasets/movielens/ml-100k.zip), and unzip it.")


class MovieLens100k(NamedTuple):
    """The three tables of MovieLens 100K, each a column batch ``dict[str, column]``.

    - ``ratings``: ``user_id``, ``movie_id``, ``rating`` (1-5), ``timestamp`` (Unix
      seconds), all int64 [100000];
    - ``items``: ``movie_id`` int64, ``title`` str, ``release_date`` str (``"01-Jan-1995"``,
      ``""`` when missing), ``genres`` `Ragged` of genre names (`MOVIELENS_GENRES`
      order within a row) [1682];
    - ``users``: ``user_id`` int64, ``age`` int64, ``gender`` (``"M"``/``"F"``),
      ``occupation``, ``zip_code`` str [943].
    """

    ratings: dict
    items: dict
    users: dict


def load_movielens100k(path=None):
    """Load MovieLens 100K as a `MovieLens100k` ``(ratings, items, users)`` tuple.

    ``path`` is the folder with ``u.data``, ``u.item`` and ``u.user`` (or its ``ml-100k``
    subfolder); with ``None`` the cache folder ``$WIDEDEEP_DATA/movielens100k`` or
    ``~/.widedeep/data/movielens100k``. Raises ``FileNotFoundError`` saying which files
    are needed and where to get them.

    Examples
    --------
    >>> ratings, items, users = load_movielens100k("data/ml-100k")    # doctest: +SKIP
    >>> items["genres"].to_lists()[0]                                 # doctest: +SKIP
    ['Animation', "Children's", 'Comedy']
    """
    folder, _ = find_dataset_folder("movielens100k", path, [("u.data", "u.item", "u.user")],
                                    _HOW_TO_GET, subfolders=("ml-100k",))
    common = dict(header=False, quotechar=None, na_values=("",), batch_size=1 << 17)
    ratings = CsvReader(folder / "u.data", names=["user_id", "movie_id", "rating", "timestamp"],
                        delimiter="\t", default_dtype="int64", **common).read()
    raw_items = CsvReader(folder / "u.item", names=list(_ITEM_COLUMNS), delimiter="|",
                          encoding="latin-1",
                          dtypes={c: "int64" for c in _ITEM_COLUMNS
                                  if c == "movie_id" or c.startswith("genre_")},
                          **common).read()
    flags = np.stack([raw_items[f"genre_{i}"] for i in range(len(MOVIELENS_GENRES))], axis=1)
    rows, genre_index = np.nonzero(flags)  # row-major, so genres are grouped by movie
    items = {"movie_id": raw_items["movie_id"], "title": raw_items["title"],
             "release_date": raw_items["release_date"],
             "genres": Ragged(np.asarray(MOVIELENS_GENRES)[genre_index],
                              np.bincount(rows, minlength=flags.shape[0]))}
    users = CsvReader(folder / "u.user",
                      names=["user_id", "age", "gender", "occupation", "zip_code"],
                      delimiter="|", dtypes={"user_id": "int64", "age": "int64"},
                      **common).read()
    return MovieLens100k(ratings, items, users)

"""Public datasets read from local files (never downloaded) and the app-store generator.

- `load_adult` (UCI Adult, official train/test split);
- `load_movielens100k` (GroupLens MovieLens 100K);
- `make_app_store` / `make_requests` (a seeded Google-Play-like simulation).

With ``path=None`` the loaders look in ``$WIDEDEEP_DATA/<name>`` or
``~/.widedeep/data/<name>`` (see `data_home`).
"""
from ._paths import data_home
from .app_store import AppStore, expand_request, make_app_store, make_requests
from .adult import (ADULT_CATEGORICAL, ADULT_COLUMNS, ADULT_LABEL, ADULT_NUMERIC,
                    load_adult)
from .movielens import MOVIELENS_GENRES, MovieLens100k, load_movielens100k

__all__ = ["load_adult", "load_movielens100k", "MovieLens100k", "data_home",
           "ADULT_COLUMNS", "ADULT_NUMERIC", "ADULT_CATEGORICAL", "ADULT_LABEL",
           "MOVIELENS_GENRES", "AppStore", "make_app_store", "make_requests", "expand_request"]

"""MovieLens 100K: will the user like this movie? Wide vs deep vs Wide & Deep, with history.

Each rating is one example, labelled 1 when the rating is 4 or 5. Features:

- the candidate: ``movie_id`` and its ``genres`` (a bag);
- the user: ``user_id``, ``gender``, ``occupation``, age in buckets;
- ``history_movies``: the movies the same user rated *strictly earlier* (by timestamp;
  ratings sharing the current timestamp are not in it), at most the last
  ``--history-length`` of them. It shares one `Vocabulary` (so one embedding table) with
  ``movie_id``: a movie is the same vector whether it is the candidate or in a history.

Wide part: one-hots of user, movie, genres, gender, occupation, age bucket, plus the hashed
cross ``history_movies x movie_id`` (one coordinate per (earlier movie, candidate) pair:
"people who rated X went on to like Y"). Deep part: embeddings of all of them (the
history pooled by its mean) through ReLU layers.

A fourth model, ``objective="regression"``, predicts the rating itself (1-5) with the same
features and reports its RMSE and MAE next to two baselines computed on the training rows:
the global mean rating and each user's mean rating (``--no-regressor`` skips it).

Split by time: every user's last ``--test-per-user`` ratings (default 10; every
MovieLens 100K user has at least 20) are the test set, the rest train. With
``--validation`` the same rule is applied once more inside the training rows (each user's
last ratings before their test ratings) to choose settings without looking at test.

Run::

    python examples/movielens.py                 # ../shared/datasets/movielens100k or cache
    python examples/movielens.py --quick         # a small, fast run (the test suite's)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# Small batches: BLAS threads cost more than they save (see examples/census.py).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import Stopwatch, print_epoch_table, print_summary, print_title  # noqa: E402

from widedeep import Adagrad, FtrlProximal  # noqa: E402
from widedeep.datasets import load_movielens100k  # noqa: E402
from widedeep.features import (BucketizedColumn, CategoricalColumn, CrossedColumn,  # noqa: E402
                               FeatureSpec, Vocabulary)
from widedeep.readers import take_batch  # noqa: E402
from widedeep.records import Ragged  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "datasets" / "movielens100k"

AGE_BOUNDARIES = (18, 25, 35, 45, 50, 56)
MODELS = {"wide": "wide", "deep": "deep", "wide_deep": "wide & deep"}

QUICK_USERS = 300
QUICK_EPOCHS = 2


# ---------------------------------------------------------------------- examples
def earlier_items(users, timestamps, items, max_length):
    """Each row's history: the items of the same user with a strictly smaller timestamp,
    the most recent ``max_length`` of them, oldest first.

    ``users``, ``timestamps``, ``items``: [n] arrays sorted by (user, timestamp). Returns a
    `Ragged` of ``n`` rows. Vectorized: a row's history is the slice
    ``[max(user_start, end - max_length), end)`` of ``items``, where ``end`` is the first
    row of the row's (user, timestamp) group, found with a running maximum of the group
    starts — no loop over rows.
    """
    n = users.shape[0]
    positions = np.arange(n, dtype=np.int64)
    new_user = np.ones(n, dtype=bool)
    new_user[1:] = users[1:] != users[:-1]
    new_moment = new_user.copy()
    new_moment[1:] |= timestamps[1:] != timestamps[:-1]
    user_start = np.maximum.accumulate(np.where(new_user, positions, 0))
    end = np.maximum.accumulate(np.where(new_moment, positions, 0))
    start = np.maximum(user_start, end - max_length)
    lengths = end - start
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    row_of_value = np.repeat(positions, lengths)
    source = start[row_of_value] + (np.arange(int(lengths.sum())) - offsets[row_of_value])
    return Ragged(items[source], lengths)


def last_per_user(users, count):
    """Mask of the last ``count`` rows of each user (rows sorted by user, then time)."""
    n = users.shape[0]
    new_user = np.ones(n, dtype=bool)
    new_user[1:] = users[1:] != users[:-1]
    starts = np.flatnonzero(new_user)
    sizes = np.diff(np.append(starts, n))
    user_end = np.repeat(starts + sizes, sizes)   # one past the last row of the row's user
    return np.arange(n) >= user_end - count


def build_examples(data, history_length):
    """All ratings as one column batch sorted by (user, timestamp), with labels."""
    ratings, items, users = data
    order = np.lexsort((ratings["movie_id"], ratings["timestamp"], ratings["user_id"]))
    user_id = ratings["user_id"][order]
    movie_id = ratings["movie_id"][order]
    timestamp = ratings["timestamp"][order]
    history = earlier_items(user_id, timestamp, movie_id, history_length)
    # movie and user attributes joined by id (ids are looked up, not assumed contiguous)
    movie_row = _row_of(items["movie_id"], movie_id)
    user_row = _row_of(users["user_id"], user_id)
    columns = {"user_id": user_id, "movie_id": movie_id, "history_movies": history,
               "genres": items["genres"].take(movie_row),
               "gender": users["gender"][user_row], "occupation": users["occupation"][user_row],
               "age": users["age"][user_row].astype(np.float64)}
    labels = (ratings["rating"][order] >= 4).astype(np.int64)
    return columns, labels, ratings["rating"][order].astype(np.float64)


def _row_of(keys, wanted):
    order = np.argsort(keys)
    position = np.searchsorted(keys[order], wanted)
    if np.any(position >= keys.shape[0]) or np.any(keys[order][np.minimum(
            position, keys.shape[0] - 1)] != wanted):
        raise ValueError("a rating refers to a movie or user missing from u.item / u.user")
    return order[position]


def build_spec(id_dim=16, attribute_dim=8, cross_buckets=1 << 20):
    """The MovieLens `FeatureSpec`; ``movie_id`` and ``history_movies`` share the
    vocabulary (and embedding table) ``movies``."""
    movies = Vocabulary("movies")
    columns = [
        CategoricalColumn("user_id", embedding_dim=id_dim),
        CategoricalColumn("movie_id", vocabulary=movies, embedding_dim=id_dim),
        CategoricalColumn("history_movies", vocabulary=movies, wide=False,
                          embedding_dim=id_dim, combiner="mean"),
        CategoricalColumn("genres", embedding_dim=attribute_dim, combiner="mean"),
        CategoricalColumn("gender", embedding_dim=attribute_dim),
        CategoricalColumn("occupation", embedding_dim=attribute_dim),
        BucketizedColumn("age_buckets", source="age", boundaries=AGE_BOUNDARIES,
                         embedding_dim=attribute_dim),
        CrossedColumn(["history_movies", "movie_id"], hash_buckets=cross_buckets),
    ]
    return FeatureSpec(columns)


# ---------------------------------------------------------------------- running
def model_params(kind, args):
    # fixed epochs: the eval set here is the test set, which must not pick the epoch
    params = dict(batch_size=args.batch_size, epochs=args.epochs, random_state=args.seed,
                  early_stopping=False)
    if kind in ("wide", "wide_deep"):
        params["ftrl"] = FtrlProximal(alpha=args.ftrl_alpha, beta=args.ftrl_beta,
                                      l1=args.ftrl_l1, l2=args.ftrl_l2)
    if kind in ("deep", "wide_deep"):
        params.update(hidden_units=tuple(args.hidden_units), dropout=args.dropout,
                      adagrad=Adagrad(lr=args.adagrad_lr,
                                      initial_accumulator_value=args.adagrad_init))
    return params


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Wide, deep and Wide & Deep models on MovieLens 100K (rating >= 4).")
    parser.add_argument("--data", default=None,
                        help="folder with u.data, u.item, u.user (default: "
                             "../shared/datasets/movielens100k next to the repository if "
                             "present, else the loader's cache folder)")
    parser.add_argument("--epochs", type=int, default=None, help="default 6 (quick: 2)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_EPOCHS} epochs on the first {QUICK_USERS} users")
    parser.add_argument("--test-per-user", type=int, default=10)
    parser.add_argument("--history-length", type=int, default=50)
    parser.add_argument("--validation", action="store_true",
                        help="evaluate on each user's last --test-per-user training ratings "
                             "instead of the test set (for choosing settings)")
    parser.add_argument("--json", default=None, metavar="PATH",
                        help="also write the summary metrics to this JSON file")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--no-regressor", action="store_true",
                        help="skip the rating regressor (objective='regression')")
    parser.add_argument("--id-embedding-dim", type=int, default=16)
    parser.add_argument("--attribute-embedding-dim", type=int, default=8)
    parser.add_argument("--hidden-units", type=int, nargs="+", default=[100, 50])
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--cross-buckets", type=int, default=1 << 20)
    parser.add_argument("--ftrl-alpha", type=float, default=0.01)
    parser.add_argument("--ftrl-beta", type=float, default=0.01)
    parser.add_argument("--ftrl-l1", type=float, default=1e-4)
    parser.add_argument("--ftrl-l2", type=float, default=1e-3)
    parser.add_argument("--adagrad-lr", type=float, default=0.2)
    parser.add_argument("--adagrad-init", type=float, default=1e-3)
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = QUICK_EPOCHS if args.quick else 6
    return args


def load_split(args):
    """``(train_X, train_y, train_ratings), (eval_X, eval_y, eval_ratings), eval_name`` by
    the time split."""
    data = args.data
    if data is None and SHARED_DATA.is_dir():
        data = SHARED_DATA
    columns, labels, ratings = build_examples(load_movielens100k(data), args.history_length)
    users = columns["user_id"]
    if args.quick:
        keep = np.flatnonzero(np.isin(users, np.unique(users)[:QUICK_USERS]))
        columns, labels, ratings = take_batch(columns, keep), labels[keep], ratings[keep]
        users = columns["user_id"]
    is_eval = last_per_user(users, args.test_per_user)
    eval_name = "test"
    if args.validation:
        train_rows = np.flatnonzero(~is_eval)
        columns = take_batch(columns, train_rows)
        labels, ratings = labels[train_rows], ratings[train_rows]
        is_eval = last_per_user(columns["user_id"], args.test_per_user)
        eval_name = "validation"
    train_rows, eval_rows = np.flatnonzero(~is_eval), np.flatnonzero(is_eval)
    return ((take_batch(columns, train_rows), labels[train_rows], ratings[train_rows]),
            (take_batch(columns, eval_rows), labels[eval_rows], ratings[eval_rows]), eval_name)


def rating_baselines(train_users, train_ratings, eval_users, eval_ratings):
    """RMSE of the global mean rating and of each user's mean rating (training rows; a
    user without training rows gets the global mean)."""
    global_mean = float(train_ratings.mean())
    users, position = np.unique(train_users, return_inverse=True)
    user_mean = np.bincount(position, weights=train_ratings) / np.bincount(position)
    where = np.searchsorted(users, eval_users)
    known = (where < users.shape[0]) & (users[np.minimum(where, users.shape[0] - 1)]
                                        == eval_users)
    per_user = np.where(known, user_mean[np.minimum(where, users.shape[0] - 1)], global_mean)

    def rmse(prediction):
        return float(np.sqrt(np.mean((eval_ratings - prediction) ** 2)))

    return {"global_mean_rmse": rmse(global_mean), "user_mean_rmse": rmse(per_user)}


def run_regressor(spec, args, train, evaluation, eval_name):
    """The Wide & Deep rating regressor: ``{"rmse", "mae", baselines..., "seconds"}``."""
    (train_features, train_X, train_ratings), (eval_features, eval_X, eval_ratings) = \
        train, evaluation
    model = spec.build_estimator("wide_deep", objective="regression",
                                 **model_params("wide_deep", args))
    print_title("rating regressor (wide & deep, objective='regression')")
    with Stopwatch() as watch:
        model.fit(train_features, train_ratings, eval_set=(eval_features, eval_ratings))
    result = dict(model.evaluate(eval_features, eval_ratings), seconds=watch.seconds)
    result.update(rating_baselines(train_X["user_id"], train_ratings, eval_X["user_id"],
                                   eval_ratings))
    print(f"| predictor | {eval_name} RMSE |\n|---|---:|\n"
          f"| global mean rating | {result['global_mean_rmse']:.4f} |\n"
          f"| each user's mean rating | {result['user_mean_rmse']:.4f} |\n"
          f"| wide & deep regressor | {result['rmse']:.4f} (MAE {result['mae']:.4f}) |")
    return result


def main(argv=None):
    """Run the example; returns ``{model: {"auc", "logloss", "accuracy", "seconds"}}`` and,
    unless ``--no-regressor``, ``"rating regressor": {"rmse", "mae", "global_mean_rmse",
    "user_mean_rmse", "seconds"}``."""
    args = parse_args(argv)
    (train_X, train_y, train_ratings), (eval_X, eval_y, eval_ratings), eval_name = \
        load_split(args)
    spec = build_spec(args.id_embedding_dim, args.attribute_embedding_dim,
                      args.cross_buckets).fit(train_X)
    train_features, eval_features = spec.transform(train_X), spec.transform(eval_X)
    movies = spec.report()["vocabularies"]["movies"]
    print(f"MovieLens 100K: {train_y.shape[0]} training ratings ({train_y.mean():.1%} "
          f"liked), {eval_y.shape[0]} {eval_name} ratings (each user's last "
          f"{args.test_per_user}); {movies['size']} movie ids shared by movie_id and "
          f"history_movies; history <= {args.history_length}; {args.epochs} epochs, batch "
          f"{args.batch_size}, seed {args.seed}")
    results = {}
    for kind in args.models:
        model = spec.build_estimator(kind, **model_params(kind, args))
        print_title(MODELS[kind])
        with Stopwatch() as watch:
            model.fit(train_features, train_y, eval_set=(eval_features, eval_y))
        print_epoch_table(model.history_, eval_name)
        results[MODELS[kind]] = dict(model.evaluate(eval_features, eval_y),
                                     seconds=watch.seconds)
    print_title(f"Summary ({eval_name} set)")
    print_summary(results, eval_name)
    if not args.no_regressor:
        results["rating regressor"] = run_regressor(
            spec, args, (train_features, train_X, train_ratings),
            (eval_features, eval_X, eval_ratings), eval_name)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()

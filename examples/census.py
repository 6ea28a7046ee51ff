"""Census income (UCI Adult): the classic Wide & Deep recipe, wide vs deep vs both.

Predicts whether a person earns more than $50K a year from the 1994 census extract, on
Adult's official split (32,561 training rows, 16,281 test rows). Columns, as in
TensorFlow's census tutorial:

- wide part: the eight categorical columns one-hot, age in buckets (boundaries 18, 25,
  30, ..., 65) and three hashed crosses, education x occupation,
  age_buckets x education x occupation and native_country x occupation;
- deep part: an embedding (dimension 8) of each categorical column plus the five numeric
  columns (age, education_num, capital_gain, capital_loss, hours_per_week), each mapped to
  [0, 1] by the paper's quantile normalization (100 quantiles learned on the training
  rows), through ReLU layers [100, 50].

The same features train a wide-only model (FTRL-Proximal), a deep-only model (AdaGrad)
and the joint Wide & Deep model; each prints one row per epoch, then a summary table
compares their test AUC, logloss and accuracy.

Run::

    python examples/census.py                          # ../shared/datasets/adult or the cache
    python examples/census.py --data path/to/adult --epochs 5
    python examples/census.py --quick                  # a small, fast run (the test suite's)
    python examples/census.py --validation 0.2         # choose settings on held-out train rows

The default settings were chosen with ``--validation 0.2`` (the last 20% of a seeded
shuffle of the training rows held out, the test set untouched), then run once on test.

Why the optimizer settings differ from the textbook ones: widedeep's loss is the *mean*
over the batch, so a coordinate seen in one example of a 256-row batch gets a gradient of
about 1/256. FTRL-Proximal's per-coordinate step is ``alpha / (beta + sqrt(n))``; with
``beta = 1`` the first steps of such a coordinate are ~``alpha / 256`` and rare one-hots
and crosses barely move. A small ``beta`` makes the step nearly scale-free (about
``alpha`` on the first visit), which is what the sparse wide part needs; the same holds
for AdaGrad's initial accumulator on the embedding rows.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# The matrices of a 128-row batch are far too small for BLAS threads to pay off, and on a
# busy machine OpenBLAS's spinning threads slow training several-fold: use one thread unless
# the caller chose otherwise. (No effect if NumPy was imported before this module.)
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import Stopwatch, print_epoch_table, print_summary, print_title  # noqa: E402

from widedeep import Adagrad, FtrlProximal  # noqa: E402
from widedeep.datasets import ADULT_CATEGORICAL, load_adult  # noqa: E402
from widedeep.features import (BucketizedColumn, CategoricalColumn, CrossedColumn,  # noqa: E402
                               FeatureSpec, NumericColumn)
from widedeep.readers import take_batch  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "datasets" / "adult"

NUMERIC_COLUMNS = ("age", "education_num", "capital_gain", "capital_loss", "hours_per_week")
AGE_BOUNDARIES = (18, 25, 30, 35, 40, 45, 50, 55, 60, 65)
CROSSES = (("education", "occupation"),
           ("age_buckets", "education", "occupation"),
           ("native_country", "occupation"))
MODELS = {"wide": "wide", "deep": "deep", "wide_deep": "wide & deep"}

QUICK_TRAIN_ROWS = 8000
QUICK_EPOCHS = 2


def build_spec(embedding_dim=8, cross_buckets=10_000, normalization="quantile"):
    """The census `FeatureSpec`: every categorical column feeds both parts (one-hot in the
    wide part, an embedding in the deep part); age buckets and the crosses feed the wide
    part; the numeric columns are one dense field of the deep part."""
    columns = [CategoricalColumn(name, wide=True, embedding_dim=embedding_dim)
               for name in ADULT_CATEGORICAL]
    columns.append(BucketizedColumn("age_buckets", source="age", boundaries=AGE_BOUNDARIES))
    columns += [NumericColumn(name, normalization=normalization)
                for name in NUMERIC_COLUMNS]
    columns += [CrossedColumn(list(components), hash_buckets=cross_buckets)
                for components in CROSSES]
    return FeatureSpec(columns)


def model_params(kind, args):
    """Constructor parameters of the estimator ``kind`` besides what the spec derives."""
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
        description="Wide, deep and Wide & Deep models on UCI Adult (census income).")
    parser.add_argument("--data", default=None,
                        help="folder with train.csv/test.csv or adult.data/adult.test "
                             "(default: ../shared/datasets/adult next to the repository if "
                             "present, else the loader's cache folder)")
    parser.add_argument("--epochs", type=int, default=None, help="default 6 (quick: 2)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_EPOCHS} epochs on the first {QUICK_TRAIN_ROWS} "
                             f"training rows")
    parser.add_argument("--validation", type=float, default=None, metavar="FRACTION",
                        help="hold out this fraction of the training rows and evaluate on "
                             "it instead of the test set (for choosing settings)")
    parser.add_argument("--json", default=None, metavar="PATH",
                        help="also write the summary metrics to this JSON file")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--embedding-dim", type=int, default=8)
    parser.add_argument("--hidden-units", type=int, nargs="+", default=[100, 50])
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--cross-buckets", type=int, default=10_000)
    parser.add_argument("--normalization", default="quantile",
                        choices=["raw", "standardize", "log1p", "quantile"])
    parser.add_argument("--ftrl-alpha", type=float, default=0.03)
    parser.add_argument("--ftrl-beta", type=float, default=0.01)
    parser.add_argument("--ftrl-l1", type=float, default=1e-4)
    parser.add_argument("--ftrl-l2", type=float, default=1e-3)
    parser.add_argument("--adagrad-lr", type=float, default=0.1)
    parser.add_argument("--adagrad-init", type=float, default=1e-3)
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = QUICK_EPOCHS if args.quick else 6
    return args


def load_split(args):
    """``(train_X, train_y), (eval_X, eval_y), eval_name`` after --validation / --quick."""
    data = args.data
    if data is None and SHARED_DATA.is_dir():
        data = SHARED_DATA
    (train_X, train_y), (test_X, test_y) = load_adult(data)
    eval_name = "test"
    if args.validation:
        order = np.random.default_rng(args.seed).permutation(train_y.shape[0])
        n_fit = int(round(train_y.shape[0] * (1.0 - args.validation)))
        fit_rows, held_rows = order[:n_fit], order[n_fit:]
        test_X, test_y = take_batch(train_X, held_rows), train_y[held_rows]
        train_X, train_y = take_batch(train_X, fit_rows), train_y[fit_rows]
        eval_name = "validation"
    if args.quick:
        rows = np.arange(min(QUICK_TRAIN_ROWS, train_y.shape[0]))
        train_X, train_y = take_batch(train_X, rows), train_y[rows]
    return (train_X, train_y), (test_X, test_y), eval_name


def main(argv=None):
    """Run the example; returns ``{model: {"auc", "logloss", "accuracy", "seconds"}}``."""
    args = parse_args(argv)
    (train_X, train_y), (eval_X, eval_y), eval_name = load_split(args)
    spec = build_spec(args.embedding_dim, args.cross_buckets, args.normalization).fit(train_X)
    train_features, eval_features = spec.transform(train_X), spec.transform(eval_X)
    print(f"UCI Adult: {train_y.shape[0]} training rows ({train_y.mean():.1%} >50K), "
          f"{eval_y.shape[0]} {eval_name} rows; {args.epochs} epochs, batch "
          f"{args.batch_size}, seed {args.seed}")
    results = {}
    for kind in args.models:
        model = spec.build_estimator(kind, **model_params(kind, args))
        print_title(f"{MODELS[kind]}")
        with Stopwatch() as watch:
            model.fit(train_features, train_y, eval_set=(eval_features, eval_y))
        print_epoch_table(model.history_, eval_name)
        results[MODELS[kind]] = dict(model.evaluate(eval_features, eval_y),
                                     seconds=watch.seconds)
    print_title(f"Summary ({eval_name} set)")
    print_summary(results, eval_name)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()

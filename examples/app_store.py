"""App store: Wide & Deep end to end on simulated app impressions (the paper's setting).

The README's first command; no download. Each example is one impression of an app shown to
a user (`widedeep.datasets.make_app_store`), labelled 1 if the user installed it. The
labels mix a smooth user-app affinity that embeddings can generalize with sparse exception
rules ("users with app i installed never / always install app j") that only the
``installed_apps x impression_app`` cross memorizes, so wide-only and deep-only each miss
one half and Wide & Deep gets both (Cheng et al. 2016, Table 1: offline AUC 0.726 wide,
0.722 deep, 0.728 Wide & Deep).

What it does, in order:

1. draws day-0 impressions (training and held-out test rows) and fits a `FeatureSpec`:
   user demographics, device and hour one-hot in the wide part and embedded in the deep
   part; ``installed_apps`` (a bag, mean-pooled) and ``impression_app`` share **one**
   "app" vocabulary, so one embedding table; age quantile-normalized for the deep part
   (the paper's normalization) and bucketized for the wide part; the wide crosses
   ``installed_apps x impression_app`` (hashed), ``device x impression_category`` and
   ``daypart x impression_category``;
2. trains wide-only (FTRL-Proximal), deep-only (AdaGrad) and Wide & Deep on the same rows,
   a progress line per epoch, and prints a Table-1-style comparison;
3. saves the Wide & Deep model with its spec, loads both back and checks that the
   predictions are identical;
4. warm-starts a day-1 model (new apps launched: the refitted spec's app vocabulary grows)
   from the day-0 model by token (`widedeep.io.warm_start`), trains it briefly and compares
   it with a cold start trained the same amount;
5. ranks the candidates of a few requests with `widedeep.serving.Ranker` and prints each
   request's top apps with the wide rules that fired (`widedeep.serving.explain`), marking
   the ones the generator planted.

Run::

    python examples/app_store.py                  # the full run (under 2 minutes, 2 cores)
    python examples/app_store.py --quick          # tiny sizes (the test suite's)
    python examples/app_store.py --validation 0.2 # choose settings on held-out training rows

The defaults were chosen with ``--validation 0.2`` (the last 20% of the training rows
held out; the test rows untouched), then run once on the test rows. On validation, the
deep model kept improving with more epochs and rows (3 -> 4 -> 5 epochs: AUC 0.767 ->
0.773 -> 0.779), the wide model barely (0.754 -> 0.756); AdaGrad lr 0.2 and FTRL alpha
0.05 were worse, 32-d app embeddings and [100, 50] layers about the same. 400,000 rows x 4
epochs is what fits the time budget. The default run (seed 0; 26 s on 2 quiet cores, 2026-11-22)::

    | model | test AUC | test logloss | train seconds | paper AUC |
    | wide | 0.7627 | 0.4241 | 4.3 | 0.726 |
    | deep | 0.7844 | 0.4126 | 6.4 | 0.722 |
    | wide & deep | 0.7988 | 0.4001 | 8.5 | 0.728 |

(measured before the last speed-ups, seeds 1 and 2: Wide & Deep 0.8011 / 0.8039, ahead of the
better single model by 0.016 /
0.014). The Bayes-optimal score reaches about 0.84 (see `widedeep.datasets.app_store`). As in
``examples/census.py``, the learning rates are larger than the textbook ones because the
loss is the *mean* over the batch: FTRL with ``beta = 1`` or AdaGrad with an initial
accumulator of 0.1 takes steps of about ``1 / batch_size`` of the intended size on rare
coordinates; a small ``beta`` / initial accumulator makes the first step about ``alpha``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

# Small matrices: BLAS threads cost more than they save (see examples/census.py).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import Stopwatch, print_title  # noqa: E402

from widedeep import Adagrad, FtrlProximal  # noqa: E402
from widedeep.datasets import AppStore, expand_request  # noqa: E402
from widedeep.features import (BucketizedColumn, CategoricalColumn, CrossedColumn,  # noqa: E402
                               FeatureSpec, NumericColumn, Vocabulary)
from widedeep.io import load_model, load_spec, save_model, warm_start  # noqa: E402
from widedeep.readers import take_batch  # noqa: E402
from widedeep.serving import Ranker, explain, strongest_rules  # noqa: E402

MODELS = {"wide": "wide", "deep": "deep", "wide_deep": "wide & deep"}
PAPER_AUC = {"wide": 0.726, "deep": 0.722, "wide_deep": 0.728}
USER_COLUMNS = ("user_country", "user_language", "user_gender")
AGE_BOUNDARIES = (25, 35, 45, 55)      # the generator's demographic age buckets
DAYPART_BOUNDARIES = (6, 12, 18)       # night / morning / afternoon / evening
CROSS = "installed_apps_x_impression_app"

# name: (full run, --quick)
SIZES = {"n_examples": (400_000, 50_000), "n_test": (100_000, 10_000),
         "epochs": (4, 2), "n_day1": (60_000, 8_000), "n_day1_test": (50_000, 8_000),
         "n_requests": (3, 2)}


# ---------------------------------------------------------------------- features
def build_spec(app_dim=16, small_dim=4, cross_buckets=1 << 18):
    """The app-store `FeatureSpec`.

    ``installed_apps`` and ``impression_app`` use one `Vocabulary` named "app": one
    embedding table, and a launched app is one new row of it. The installed bag feeds only
    the deep part and the cross (a user's installed apps one-hot would add little the cross
    does not have).
    """
    apps = Vocabulary("app")
    columns = [CategoricalColumn(name, embedding_dim=small_dim) for name in USER_COLUMNS]
    columns += [
        BucketizedColumn("age_buckets", source="user_age", boundaries=AGE_BOUNDARIES),
        NumericColumn("age", source="user_age", normalization="quantile"),
        CategoricalColumn("device", embedding_dim=small_dim),
        CategoricalColumn("hour", embedding_dim=small_dim),
        BucketizedColumn("daypart", source="hour", boundaries=DAYPART_BOUNDARIES),
        CategoricalColumn("installed_apps", vocabulary=apps, wide=False,
                          embedding_dim=app_dim, combiner="mean"),
        CategoricalColumn("impression_app", vocabulary=apps, embedding_dim=app_dim),
        CategoricalColumn("impression_category", embedding_dim=small_dim),
        CrossedColumn(["installed_apps", "impression_app"], hash_buckets=cross_buckets),
        CrossedColumn(["device", "impression_category"], hash_buckets=1 << 10),
        CrossedColumn(["daypart", "impression_category"], hash_buckets=1 << 10),
    ]
    return FeatureSpec(columns)


def print_spec_report(spec):
    report = spec.report()
    params = spec.estimator_params()
    vocabularies = ", ".join(f"{name} {entry['size']:,}" + (
        f" (shared by {' + '.join(entry['columns'])})" if len(entry["columns"]) > 1 else "")
        for name, entry in report["vocabularies"].items())
    print(f"spec fitted on {report['n_rows']:,} rows; vocabularies: {vocabularies}")
    print("wide fields: " + ", ".join(f"{field} {size:,}"
                                      for field, size in params["wide_fields"].items()))
    print("deep inputs: " + ", ".join(
        [f"{field} -> {table} {params['vocabularies'][table][1]}-d"
         for field, table in params["embedding_fields"].items()]
        + [f"{field} dense {width}" for field, width in params["dense_fields"].items()]))


# ---------------------------------------------------------------------- models
def model_params(kind, args, epochs=None):
    """Constructor parameters of the estimator ``kind`` besides what the spec derives."""
    # fixed epochs: the eval set here is the test set, which must not pick the epoch
    params = dict(batch_size=args.batch_size, epochs=args.epochs if epochs is None else epochs,
                  random_state=args.seed, verbose=args.verbose, early_stopping=False)
    if kind in ("wide", "wide_deep"):
        params["ftrl"] = FtrlProximal(alpha=args.ftrl_alpha, beta=args.ftrl_beta,
                                      l1=args.ftrl_l1, l2=args.ftrl_l2)
    if kind in ("deep", "wide_deep"):
        params.update(hidden_units=tuple(args.hidden_units),
                      adagrad=Adagrad(lr=args.adagrad_lr,
                                      initial_accumulator_value=args.adagrad_init))
    return params


def train_and_compare(spec, train, evaluation, args, eval_name):
    """Train every model of ``args.models`` on ``train``; returns ``(results, models)``
    with ``results[kind] = {"auc", "logloss", "accuracy", "seconds"}`` on ``evaluation``."""
    (train_features, train_y), (eval_features, eval_y) = train, evaluation
    results, models = {}, {}
    for kind in args.models:
        print_title(f"{MODELS[kind]}: {args.epochs} epochs")
        model = spec.build_estimator(kind, **model_params(kind, args))
        with Stopwatch() as watch:
            model.fit(train_features, train_y)
        results[kind] = dict(model.evaluate(eval_features, eval_y), seconds=watch.seconds)
        models[kind] = model
    print_title(f"Offline comparison ({eval_name} set, cf. the paper's Table 1)")
    print(f"| model | {eval_name} AUC | {eval_name} logloss | train seconds | paper AUC |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for kind, metrics in results.items():
        print(f"| {MODELS[kind]} | {metrics['auc']:.4f} | {metrics['logloss']:.4f} | "
              f"{metrics['seconds']:.1f} | {PAPER_AUC[kind]:.3f} |")
    return results, models


# ---------------------------------------------------------------------- lifecycle
def save_and_reload(model, spec, directory, features_of_raw):
    """Save ``model`` with ``spec`` into ``directory``, load both back and compare the
    predictions on ``features_of_raw`` (raw columns) through the original and the loaded
    spec. Returns ``{"path", "identical", "max_abs_difference"}``."""
    save_model(model, directory, spec=spec)
    loaded_model, loaded_spec = load_model(directory), load_spec(directory)
    before = model.predict_proba(spec.transform(features_of_raw))
    after = loaded_model.predict_proba(loaded_spec.transform(features_of_raw))
    identical = bool(np.array_equal(before, after))
    difference = float(np.max(np.abs(before - after))) if before.size else 0.0
    print(f"saved to {directory}; loaded back: predictions on {before.size:,} rows "
          f"{'identical' if identical else f'differ (max |diff| {difference:.3g})'}")
    return {"path": str(directory), "identical": identical, "max_abs_difference": difference}


def warm_start_next_day(store, model_dir, args):
    """Day 1: refit the spec (new apps grow the app vocabulary), warm-start a Wide & Deep
    model from the saved day-0 model by token, train it ``args.day1_epochs`` epochs, and
    compare with a cold start trained the same amount on the same rows."""
    columns, labels = store.sample(args.n_day1 + args.n_day1_test, day=1)
    rows = np.arange(labels.shape[0])
    train_raw = take_batch(columns, rows[:args.n_day1])
    test_raw = take_batch(columns, rows[args.n_day1:])
    train_y, test_y = labels[:args.n_day1], labels[args.n_day1:]
    old_spec = load_spec(model_dir)
    spec = build_spec(args.app_dim, args.small_dim, args.cross_buckets).fit(train_raw)
    old_apps = old_spec.report()["vocabularies"]["app"]["size"]
    new_apps = spec.report()["vocabularies"]["app"]["size"]
    print(f"day 1: {store.new_apps_per_day} apps launched; app vocabulary {old_apps:,} -> "
          f"{new_apps:,} ids (refitted on {args.n_day1:,} day-1 rows)")
    train_features, test_features = spec.transform(train_raw), spec.transform(test_raw)
    params = model_params("wide_deep", args, epochs=args.day1_epochs)

    warm = spec.build_estimator("wide_deep", **params)
    report = warm_start(warm, model_dir, new_spec=spec)
    print_warm_start_report(report)
    print_title(f"day 1, warm start: {args.day1_epochs} epoch(s)")
    warm.fit(train_features, train_y)
    print_title(f"day 1, cold start: {args.day1_epochs} epoch(s)")
    cold = spec.build_estimator("wide_deep", **params).fit(train_features, train_y)
    result = {"report": report.to_dict(), "old_vocabulary": old_apps,
              "new_vocabulary": new_apps,
              "warm": warm.evaluate(test_features, test_y),
              "cold": cold.evaluate(test_features, test_y)}
    print(f"\nday-1 held-out ({args.n_day1_test:,} rows): warm start AUC "
          f"{result['warm']['auc']:.4f} logloss {result['warm']['logloss']:.4f}; cold start "
          f"AUC {result['cold']['auc']:.4f} logloss {result['cold']['logloss']:.4f}")
    return result


def print_warm_start_report(report):
    """The `WarmStartReport` in a few lines: the embedding tables and wide fields where
    something is new or dropped, the names of the others (every row carried), the dense
    layers."""
    print(f"warm start from the day-0 model (optimizer state "
          f"{'copied' if report.optimizer_state else 'fresh'}):")
    for kind, records in (("embedding", report.embeddings), ("wide", report.wide)):
        unchanged = []
        for name, record in records.items():
            if record["new"] or record["dropped"] or record["how"] == "none":
                print(f"  {kind} {name}: {_counts(record)}")
            else:
                unchanged.append(name)
        if unchanged:
            print(f"  {kind}, every row carried: {', '.join(unchanged)}")
    print("  dense layers: " + ", ".join(f"{name} {status}"
                                        for name, status in report.dense.items()))


def _counts(record):
    text = (f"{record['carried']:,} carried (by {record['how']}), {record['new']:,} new, "
            f"{record['dropped']:,} dropped")
    return text + (f" ({record['reason']})" if record["reason"] else "")


# ---------------------------------------------------------------------- serving
def planted_rules(store):
    """``{(installed app, impression app): effect}`` of the generator's rules."""
    rules = store.rules
    return {(int(i), int(j)): float(e) for i, j, e in zip(
        rules["installed_app"], rules["impression_app"], rules["effect"])}


def print_strongest_rules(model, spec, store, top=20, shown=8):
    """The largest learned weights of the ``installed_apps x impression_app`` cross
    (`widedeep.serving.strongest_rules`), matched to the planted rules through the ids
    their pairs hash to. Returns the share of the ``top`` that are planted rules."""
    by_id = {}
    for (installed, impression), effect in planted_rules(store).items():
        cross_id = spec.describe_cross(CROSS, {"installed_apps": [installed],
                                               "impression_app": impression})[0]
        by_id[cross_id] = (installed, impression, effect)
    rules = strongest_rules(model, spec, top=top, field=CROSS)
    n_planted = sum(rule.feature_id in by_id for rule in rules)
    print(f"{n_planted} of the {len(rules)} largest {CROSS} weights are planted rules "
          f"({len(by_id)} planted); the first {min(shown, len(rules))}:")
    for rule in rules[:shown]:
        if rule.feature_id in by_id:
            installed, impression, effect = by_id[rule.feature_id]
            print(f"  installed_apps={installed} AND impression_app={impression}: "
                  f"{rule.weight:+.4f}   (planted {effect:+.2f})")
        else:
            print(f"  cross id {rule.feature_id}: {rule.weight:+.4f}   (not a planted rule)")
    return n_planted / len(rules) if rules else 0.0


def rank_requests(model, spec, store, args, top_k=5, rules_per_app=3, min_rule=0.1):
    """Rank the candidates of ``args.n_requests`` day-0 requests; print each request's top
    apps with the cross rules that fired (at most ``rules_per_app`` per app, those with
    ``|contribution| >= min_rule``). Returns one dict per request."""
    requests, truth = store.requests(args.n_requests, args.n_candidates, day=0,
                                     return_truth=True)
    planted = planted_rules(store)
    category_of = store.app_categories(day=0)
    out = []
    with Ranker(model, spec=spec) as ranker:
        for number, request in enumerate(requests):
            result = ranker.rank(request, top_k=top_k)
            candidates = expand_request(request)
            query = request["query"]
            installed = query["installed_apps"].to_lists()[0]
            true_probability = truth["probability"][number]
            print(f"\nrequest {request['request_id']}: {query['user_country'][0]}, "
                  f"{query['user_gender'][0]}, age {query['user_age'][0]}, "
                  f"{query['device'][0]} at {query['hour'][0]}h, {len(installed)} apps "
                  f"installed; {len(result)} candidates")
            top = []
            for rank, index in enumerate(result.top_k.tolist(), start=1):
                app = int(request["candidates"]["impression_app"][index])
                row = take_batch(candidates, np.array([index]))
                explanation = explain(model, row, spec)
                rules = [c for c in explanation.wide_contributions
                         if c.field == CROSS and abs(c.contribution) >= min_rule]
                rules = rules[:rules_per_app]
                print(f"  {rank}. app {app} ({category_of[app]}): p = "
                      f"{float(result.probabilities[index]):.3f} (true "
                      f"{true_probability[index]:.3f})")
                for rule in rules:
                    pair = _rule_pair(rule, installed, app)
                    mark = (f"   <- planted rule {planted[pair]:+.2f}"
                            if pair in planted else "")
                    print(f"       {rule}{mark}")
                top.append({"app": app, "score": float(result.scores[index]),
                            "rules": [str(rule) for rule in rules]})
            chosen = true_probability[result.top_k].mean()
            print(f"  true P(install) of the top {len(top)}: {chosen:.3f}, of a random "
                  f"candidate: {true_probability.mean():.3f}")
            out.append({"request_id": int(request["request_id"]), "top": top,
                        "true_top_probability": float(chosen),
                        "true_mean_probability": float(true_probability.mean())})
    return out


def _rule_pair(contribution, installed, app):
    """``(installed app, impression app)`` of a cross contribution whose token reads
    ``installed_apps=i AND impression_app=j`` (None if it is a hash collision)."""
    try:
        left, right = contribution.token.split(" AND ")
        pair = (int(left.split("=")[1]), int(right.split("=")[1]))
    except ValueError:
        return None
    return pair if pair[1] == app and pair[0] in installed else None


# ---------------------------------------------------------------------- driver
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Wide, deep and Wide & Deep on a simulated app store; save, load, warm "
                    "start and serve.")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (the test suite's)")
    parser.add_argument("--seed", type=int, default=0, help="world and model seed")
    parser.add_argument("--out", default=None,
                        help="directory for the saved model (default: a temporary one)")
    parser.add_argument("--n-examples", type=int, default=None,
                        help=f"day-0 training rows (default {SIZES['n_examples'][0]:,}; "
                             f"quick {SIZES['n_examples'][1]:,})")
    parser.add_argument("--n-test", type=int, default=None, help="day-0 test rows")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--n-day1", type=int, default=None, help="day-1 training rows")
    parser.add_argument("--n-day1-test", type=int, default=None, help="day-1 test rows")
    parser.add_argument("--day1-epochs", type=int, default=1)
    parser.add_argument("--n-requests", type=int, default=None)
    parser.add_argument("--n-candidates", type=int, default=100)
    parser.add_argument("--validation", type=float, default=None, metavar="FRACTION",
                        help="hold out this fraction of the training rows and compare the "
                             "models on it instead of the test rows (for choosing settings); "
                             "skips the later steps")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--app-dim", type=int, default=16)
    parser.add_argument("--small-dim", type=int, default=4)
    parser.add_argument("--cross-buckets", type=int, default=1 << 18)
    parser.add_argument("--hidden-units", type=int, nargs="+", default=[64, 32])
    parser.add_argument("--ftrl-alpha", type=float, default=0.1)
    parser.add_argument("--ftrl-beta", type=float, default=0.01)
    parser.add_argument("--ftrl-l1", type=float, default=0.0)
    parser.add_argument("--ftrl-l2", type=float, default=0.0)
    parser.add_argument("--adagrad-lr", type=float, default=0.3)
    parser.add_argument("--adagrad-init", type=float, default=1e-3)
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--json", default=None, metavar="PATH",
                        help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    for name, (full, quick) in SIZES.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    return args


def make_data(store, args):
    """Day-0 ``(train_raw, train_y), (eval_raw, eval_y), eval_name``: one draw of
    ``n_examples + n_test`` impressions, the last ``n_test`` the test rows (or, with
    ``--validation``, the last fraction of the training rows)."""
    columns, labels = store.sample(args.n_examples + args.n_test, day=0)
    rows = np.arange(labels.shape[0])
    n_fit, eval_rows, eval_name = args.n_examples, rows[args.n_examples:], "test"
    if args.validation:
        n_fit = int(round(args.n_examples * (1.0 - args.validation)))
        eval_rows, eval_name = rows[n_fit:args.n_examples], "validation"
    return ((take_batch(columns, rows[:n_fit]), labels[:n_fit]),
            (take_batch(columns, eval_rows), labels[eval_rows]), eval_name)


def main(argv=None):
    """Run the example; returns a dict: ``"models"`` (``{kind: {"auc", "logloss",
    "accuracy", "seconds"}}``), ``"spec"`` (vocabulary sizes), and unless ``--validation``:
    ``"reload"``, ``"warm_start"``, ``"rankings"``; ``"seconds"`` in total."""
    args = parse_args(argv)
    start = time.perf_counter()
    store = AppStore(random_state=args.seed)
    (train_raw, train_y), (eval_raw, eval_y), eval_name = make_data(store, args)
    print(f"app store (seed {args.seed}): {store.n_users:,} users, {store.n_apps:,} apps, "
          f"{store.rules['effect'].size} planted rules; {train_y.shape[0]:,} training "
          f"impressions ({train_y.mean():.1%} installed), {eval_y.shape[0]:,} {eval_name} "
          f"impressions")
    spec = build_spec(args.app_dim, args.small_dim, args.cross_buckets).fit(train_raw)
    print_spec_report(spec)
    train = (spec.transform(train_raw), train_y)
    evaluation = (spec.transform(eval_raw), eval_y)
    results, models = train_and_compare(spec, train, evaluation, args, eval_name)
    out = {"models": results, "eval_name": eval_name,
           "spec": {name: entry["size"]
                    for name, entry in spec.report()["vocabularies"].items()}}
    if not args.validation and "wide_deep" in models:
        with tempfile.TemporaryDirectory(prefix="widedeep-app-store-") as scratch:
            model_dir = Path(args.out or scratch) / "app_store_day0"
            print_title("Save and load")
            out["reload"] = save_and_reload(models["wide_deep"], spec, model_dir, eval_raw)
            print_title("Warm start on day 1")
            out["warm_start"] = warm_start_next_day(store, model_dir, args)
        print_title("Memorized rules")
        out["strongest_rules_planted"] = print_strongest_rules(models["wide_deep"], spec,
                                                               store)
        print_title("Ranking requests")
        out["rankings"] = rank_requests(models["wide_deep"], spec, store, args)
    out["seconds"] = time.perf_counter() - start
    print(f"\ndone in {out['seconds']:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=float))
    return out


if __name__ == "__main__":
    main()

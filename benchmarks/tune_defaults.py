"""Choose widedeep's default hyper-parameters by a written protocol (docs/DEFAULTS.md).

Stages (each resumable; results go to ``--out``, default /tmp/widedeep_defaults):

``search``  every configuration (the two anchors of `space.ANCHORS` plus ``--n-configs``
            seeded random draws from `space.SEARCH_SPACE`, or the list in ``--configs``)
            on every task: W&D trained on the training split with early stopping on the
            validation split; one JSON line per run in ``search.jsonl``.
``select``  validation scores -> regrets -> the minimax default and each task's tuned
            optimum (``selection.json``).
``final``   per task, on the test split: the library's defaults (nothing passed but the
            features, early stopping on the validation split), the task's tuned optimum,
            and the PyTorch peer with the tuned optimum, trained the same way
            (``final.jsonl``).
``report``  ``results.json`` and ``results.md`` (the table of the README and DEFAULTS.md).

Run from the repository root::

    PYTHONPATH=$PWD OPENBLAS_NUM_THREADS=1 python benchmarks/tune_defaults.py all
    python benchmarks/tune_defaults.py search --tasks adult criteo --n-configs 14
    python benchmarks/tune_defaults.py select && python benchmarks/tune_defaults.py report

Data: ``$WIDEDEEP_DATA`` or ``../shared/datasets``; nothing is copied into the project.
The test split is read only by ``final``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from pathlib import Path

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402

from defaults_protocol import selection, space  # noqa: E402
from defaults_protocol.tasks import TASKS, load_task  # noqa: E402
from defaults_protocol.training import fit_widedeep, supports_objective  # noqa: E402

DEFAULT_OUT = Path("/tmp/widedeep_defaults")
# the final stage's runs: the chosen default passed explicitly, the library with nothing
# passed (must equal it once the default is written into widedeep/defaults.py), the task's
# tuned optimum, and the PyTorch peer with either
FINAL_RUNS = ("defaults", "library_defaults", "tuned", "torch_tuned", "torch_defaults")


# ---------------------------------------------------------------------------- io
def read_jsonl(path):
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def append_jsonl(path, record):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        handle.write(json.dumps(record) + "\n")


def log(message):
    print(f"[{datetime.datetime.now(datetime.timezone.utc):%H:%M:%S}] {message}", flush=True)


def candidate_configs(args):
    if args.configs:
        configs = json.loads(Path(args.configs).read_text())
        return [(c.pop("name", f"given{i}"), c) for i, c in enumerate(configs)]
    named = list(space.ANCHORS.items())
    named += [(f"random{i}", c) for i, c in
              enumerate(space.sample_configs(args.n_configs, seed=args.space_seed))]
    return named


def runnable(task_name):
    objective = "regression" if task_name == "movielens_rating" else "binary"
    if not supports_objective(objective):
        log(f"{task_name}: the estimators have no objective={objective!r} yet; skipped")
        return False
    return True


# ---------------------------------------------------------------------------- stages
def search(args):
    path = args.out / "search.jsonl"
    done = {(r["task"], r["config_key"], r["seed"], r.get("fold")) for r in read_jsonl(path)}
    configs = candidate_configs(args)
    for task_name in args.tasks:
        if not runnable(task_name):
            continue
        pruned = pruned_configs(args, read_jsonl(path)) if task_name not in args.prune_on else set()
        task = load_task(task_name)
        splits = ([(None, task.train, task.valid, task.estimator_params)] if not task.folds
                  else [(k, tr, va, p) for k, (tr, va, p) in enumerate(task.folds)])
        for name, config in configs:
            key = space.config_key(config)
            if key in pruned:
                log(f"{task_name} {name}: pruned (regret > {args.prune_regret} on "
                    f"{' or '.join(args.prune_on)})")
                continue
            for seed in args.seeds:
                for fold, train, valid, params in splits:
                    if (task_name, key, seed, fold) in done:
                        continue
                    result = fit_widedeep(train, valid, params, task.objective, config,
                                          seed=seed)
                    record = dict(task=task_name, objective=task.objective, name=name,
                                  config_key=key, config=config, seed=seed, fold=fold,
                                  **result)
                    append_jsonl(path, record)
                    log(f"{task_name} {name} seed {seed} fold {fold}: valid {result['valid']} "
                        f"best epoch {result['best_epoch']}/{result['epochs']} "
                        f"{result['seconds']:.0f}s")


def pruned_configs(args, records):
    """Successive halving: the configurations whose validation regret on a cheap task of
    ``--prune-on`` exceeds ``--prune-regret`` (they cannot become the default when another
    configuration stays below it everywhere) are not run on the costlier tasks."""
    if not args.prune_on or args.prune_regret is None:
        return set()
    cheap = [r for r in records if r["task"] in args.prune_on]
    regret = selection.regrets(selection.score_table(cheap),
                               {r["task"]: r["objective"] for r in cheap})
    return {key for by_config in regret.values() for key, value in by_config.items()
            if value > args.prune_regret}


WIDE_ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.5)


def wide(args):
    """The wide model alone (`WideEstimator`) with the chosen default's FTRL beta/L1/L2 and
    FTRL alpha in `WIDE_ALPHAS`, on the binary tasks: does the shared FTRL default, chosen
    for Wide & Deep, also serve a logistic regression? (``wide.jsonl``)"""
    from defaults_protocol.training import fit_wide_only
    chosen = json.loads((args.out / "selection.json").read_text())["default"]["config"]
    path = args.out / "wide.jsonl"
    done = {(r["task"], r["ftrl_alpha"], r["seed"], r.get("fold")) for r in read_jsonl(path)}
    for task_name in [t for t in args.tasks if t != "movielens_rating"]:
        task = load_task(task_name)
        splits = ([(None, task.train, task.valid, task.estimator_params)] if not task.folds
                  else [(k, tr, va, p) for k, (tr, va, p) in enumerate(task.folds)])
        for alpha in WIDE_ALPHAS:
            for seed in args.seeds:
                for fold, train, valid, params in splits:
                    if (task_name, alpha, seed, fold) in done:
                        continue
                    result = fit_wide_only(train, valid, params, dict(chosen, ftrl_alpha=alpha),
                                           seed=seed)
                    append_jsonl(path, dict(task=task_name, ftrl_alpha=alpha, seed=seed,
                                            fold=fold, **result))
                    log(f"wide only {task_name} alpha {alpha} fold {fold}: {result['valid']}")


def select(args):
    records = read_jsonl(args.out / "search.jsonl")
    objectives = {r["task"]: r["objective"] for r in records}
    configs = {r["config_key"]: r["config"] for r in records}
    names = {r["config_key"]: r["name"] for r in records}
    scores = selection.score_table(records)
    regret = selection.regrets(scores, objectives)
    tasks = [t for t in TASKS if t in scores]
    key, worst, mean, ranking = selection.select_default(regret, tasks)
    best_epochs = {t: [r["best_epoch"] for r in records
                       if r["task"] == t and r["config_key"] == key] for t in tasks}
    tuned = {}
    for task in tasks:
        by_config = scores[task]
        pick = (max if objectives[task] == "binary" else min)(by_config, key=by_config.get)
        tuned[task] = {"config_key": pick, "name": names[pick], "config": configs[pick],
                       "valid_score": by_config[pick],
                       "default_valid_score": by_config.get(key),
                       "default_regret": regret[task].get(key)}
    out = {"rule": "minimize the worst-case validation regret over the tasks",
           "tasks": tasks, "default": {"config_key": key, "name": names[key],
                                       "config": configs[key], "worst_regret": worst,
                                       "mean_regret": mean, "best_epochs": best_epochs},
           "tuned": tuned,
           "ranking": [{"config_key": k, "name": names[k], "worst_regret": w,
                        "mean_regret": m, "regrets": {t: regret[t].get(k) for t in tasks}}
                       for k, w, m in ranking],
           "n_configs": {t: len(scores[t]) for t in tasks}}
    (args.out / "selection.json").write_text(json.dumps(out, indent=1))
    log(f"default {names[key]} ({key}): worst regret {worst:.4f}, mean {mean:.4f}")
    for k, w, m in ranking[:8]:
        log(f"  {names[k]:>18} worst {w:.4f} mean {m:.4f} "
            + " ".join(f"{t} {regret[t][k]:.4f}" for t in tasks))
    return out


def final(args):
    chosen = json.loads((args.out / "selection.json").read_text())
    path = args.out / "final.jsonl"
    done = {(r["task"], r["run"], r["seed"]) for r in read_jsonl(path)}
    from defaults_protocol.torch_peer import torch_available, train_peer
    from widedeep import defaults
    # every final run stops by the library's loop defaults: cap and patience
    max_epochs, patience = defaults.EPOCHS, defaults.N_ITER_NO_CHANGE
    for task_name in args.tasks:
        if not runnable(task_name):
            continue
        task = None
        tuned = chosen["tuned"].get(task_name)
        configs = {"defaults": chosen["default"]["config"], "library_defaults": None,
                   "torch_defaults": chosen["default"]["config"]}
        if tuned is not None:
            configs.update(tuned=tuned["config"], torch_tuned=tuned["config"])
        runs = [(run, configs[run]) for run in args.runs if run in configs]
        for seed in args.seeds:
            for run, config in runs:
                if (task_name, run, seed) in done:
                    continue
                if run.startswith("torch") and not torch_available():
                    log("torch or ../shared/bench/torch_wd.py not available: peer skipped")
                    continue
                task = task or load_task(task_name)
                evaluate = {"test": task.test}
                if run.startswith("torch"):
                    result = train_peer((task.train, task.valid), config,
                                        objective=task.objective,
                                        params=task.estimator_params,
                                        embedding_dim=task.embedding_dim, seed=seed,
                                        max_epochs=max_epochs, patience=patience,
                                        evaluate=evaluate)
                else:
                    result = fit_widedeep(task.train, task.valid, task.estimator_params,
                                          task.objective, config, seed=seed,
                                          max_epochs=max_epochs, patience=patience,
                                          evaluate=evaluate)
                append_jsonl(path, dict(task=task_name, objective=task.objective, run=run,
                                        seed=seed, config=config, **result))
                log(f"{task_name} {run} seed {seed}: test {result['test']} valid "
                    f"{result['valid']} best epoch {result['best_epoch']}")


def report(args):
    chosen = json.loads((args.out / "selection.json").read_text())
    finals = read_jsonl(args.out / "final.jsonl")
    rows = []
    for task in [t for t in TASKS if any(r["task"] == t for r in finals)]:
        metric = "auc" if any(r["task"] == task and r["objective"] == "binary"
                              for r in finals) else "rmse"
        row = {"task": task, "metric": metric}
        by_run = {run: {r["seed"]: r["test"][metric] for r in finals
                        if r["task"] == task and r["run"] == run} for run in FINAL_RUNS}
        for run, by_seed in by_run.items():
            row[run] = float(np.mean(list(by_seed.values()))) if by_seed else None
            row[f"{run}_seeds"] = sorted(by_seed)
            row[f"{run}_best_epochs"] = [r["best_epoch"] for r in finals
                                         if r["task"] == task and r["run"] == run]
        # defaults - tuned over the seeds both ran (a paired difference)
        common = sorted(set(by_run["defaults"]) & set(by_run["tuned"]))
        row["paired_seeds"] = common
        row["defaults_minus_tuned"] = (float(np.mean([by_run["defaults"][k] - by_run["tuned"][k]
                                                      for k in common])) if common else None)
        tuned = chosen["tuned"].get(task, {})
        row["default_valid_regret"] = tuned.get("default_regret")
        row["tuned_name"] = tuned.get("name")
        row["tuned_config"] = tuned.get("config")
        rows.append(row)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": "2 vCPU AMD EPYC, shared with other jobs",
            "python": platform.python_version(), "numpy": np.__version__,
            "command": "PYTHONPATH=$PWD python benchmarks/tune_defaults.py all",
            "default": chosen["default"], "n_configs": chosen["n_configs"]}
    (args.out / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    (args.out / "results.md").write_text(markdown_table(rows))
    print(markdown_table(rows))


def markdown_table(rows):
    """The defaults-vs-tuned table: test metric, mean over the seeds run (their number in
    parentheses); defaults − tuned is paired over the seeds both ran, signed so that
    positive means the defaults did better."""
    lines = ["| task (test metric) | defaults | tuned | defaults − tuned | PyTorch peer, "
             "defaults | PyTorch peer, tuned | validation regret of the defaults | "
             "tuned optimum |", "|---|---|---|---|---|---|---|---|"]

    def fmt(value):
        return "–" if value is None else f"{value:.4f}"
    for row in rows:
        sign = 1 if row["metric"] == "auc" else -1
        gap = row["defaults_minus_tuned"]
        gap = None if gap is None else sign * gap

        def cell(run):
            value, seeds = row[run], row[f"{run}_seeds"]
            return "–" if value is None else f"{value:.4f} ({len(seeds)})"
        regret = row["default_valid_regret"]
        lines.append(f"| {row['task']} ({row['metric'].upper()}) | {cell('defaults')} | "
                     f"{cell('tuned')} | {'–' if gap is None else f'{gap:+.4f}'} | "
                     f"{cell('torch_defaults')} | {cell('torch_tuned')} | "
                     f"{'–' if regret is None else f'{regret:.4f}'} | "
                     f"{row['tuned_name'] or '–'} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stage", choices=["search", "select", "wide", "final", "report", "all"])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--n-configs", type=int, default=14,
                        help="random configurations besides the anchors (default 14)")
    parser.add_argument("--space-seed", type=int, default=0)
    parser.add_argument("--configs", default=None,
                        help="JSON file: a list of configurations to search instead")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--prune-on", nargs="*", default=["adult", "criteo"],
                        help="cheap tasks searched in full first (default adult criteo)")
    parser.add_argument("--prune-regret", type=float, default=0.005,
                        help="skip a configuration on the other tasks when its regret on a "
                             "--prune-on task exceeds this (default 0.005; none: no pruning)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--runs", nargs="+", default=list(FINAL_RUNS), choices=list(FINAL_RUNS),
                        help="the final stage's runs (default: all)")
    args = parser.parse_args(argv)
    stages = ["search", "select", "wide", "final", "report"] if args.stage == "all" else [args.stage]
    for stage in stages:
        globals()[stage](args)


if __name__ == "__main__":
    main()

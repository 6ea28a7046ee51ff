"""From validation scores to regrets, and the one default closest to every task's optimum.

Score of configuration ``c`` on task ``t``: validation AUC of the restored best epoch
(Criteo: the mean over its 3 folds), or validation RMSE for a regression task.

Regret::

    r_t(c) = AUC*_t - AUC_t(c)                       binary tasks (AUC points)
    r_t(c) = (RMSE_t(c) - RMSE*_t) / RMSE*_t         regression (relative excess RMSE)

with ``*`` the best configuration evaluated on that task (its *tuned optimum*). A relative
RMSE excess of 1% counts as 0.01 AUC.

Selection rule: the default is the configuration minimizing the worst-case regret
``max_t r_t(c)`` over the tasks on which every candidate was evaluated; ties (within
1e-4) go to the lower mean regret. Only configurations evaluated on all those tasks
compete.
"""
from __future__ import annotations

import numpy as np

__all__ = ["score_table", "regrets", "select_default"]


def score_table(records):
    """``{task: {config_key: score}}`` from search records, averaging folds and seeds;
    ``score`` is AUC (higher is better) or RMSE (lower is better)."""
    collected = {}
    for record in records:
        metric = "auc" if record["objective"] == "binary" else "rmse"
        value = record["valid"][metric]
        if not np.isfinite(value):
            value = 0.5 if metric == "auc" else float("inf")    # diverged: worst possible
        collected.setdefault(record["task"], {}).setdefault(record["config_key"], []).append(
            value)
    return {task: {key: float(np.mean(values)) for key, values in by_config.items()}
            for task, by_config in collected.items()}


def regrets(scores, objectives):
    """``{task: {config_key: regret}}`` (see the module docstring)."""
    out = {}
    for task, by_config in scores.items():
        if objectives[task] == "binary":
            best = max(by_config.values())
            out[task] = {key: best - value for key, value in by_config.items()}
        else:
            best = min(by_config.values())
            out[task] = {key: (value - best) / best for key, value in by_config.items()}
    return out


def select_default(regret_table, tasks=None):
    """``(config_key, worst_regret, mean_regret, ranking)`` by the minimax rule; ``ranking``
    lists every competing configuration as ``(key, worst, mean)``, best first."""
    tasks = list(tasks or regret_table)
    common = set.intersection(*(set(regret_table[t]) for t in tasks))
    if not common:
        raise ValueError(f"no configuration was evaluated on every task of {tasks}")
    ranking = []
    for key in common:
        values = [regret_table[t][key] for t in tasks]
        ranking.append((key, max(values), float(np.mean(values))))
    ranking.sort(key=lambda item: (round(item[1], 4), item[2]))
    best = ranking[0]
    return best[0], best[1], best[2], ranking

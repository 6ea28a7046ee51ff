"""End to end, in subprocesses: train / evaluate / predict / inspect on real files (UCI
Adult with a header, the Criteo sample as headerless TSV)."""
import csv
import json

import numpy as np
from cli_helpers import dataset_folder, run_cli

from widedeep.metrics import auc


def _rank_auc(labels, scores):
    # Mann-Whitney U with average ranks: an independent check of the CLI's AUC
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    n_pos = labels.sum()
    n_neg = len(labels) - n_pos
    return (ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def test_adult_train_evaluate_predict_inspect(tmp_path):
    adult = dataset_folder("adult", ["train.csv", "test.csv"])
    model = tmp_path / "model"
    trained = run_cli("train", "--data", adult / "train.csv", "--label", "income_bracket",
                      "--valid", adult / "test.csv", "--model", model, "--epochs", "3",
                      "--columns", "age,workclass,education,occupation,hours_per_week,"
                      "marital_status,gender,education*occupation:hash=1000")
    assert "epoch   3" in trained.stderr      # progress per epoch, through logging (stderr)
    assert "fitting the feature spec" in trained.stderr
    summary = json.loads(trained.stdout.strip().splitlines()[-1])
    assert summary["eval_auc"] > 0.86

    evaluated = json.loads(run_cli("evaluate", model, "--data", adult / "test.csv").stdout)
    assert evaluated["auc"] == summary["eval_auc"]              # same model, same file

    scores = tmp_path / "scores.csv"
    run_cli("predict", model, "--data", adult / "test.csv", "--output", scores)
    with open(scores, newline="") as handle:
        rows = list(csv.reader(handle))
    with open(adult / "test.csv", newline="") as handle:
        truth = [r["income_bracket"] == ">50K" for r in csv.DictReader(handle)]
    assert rows[0] == ["probability"] and len(rows) - 1 == len(truth) == 16281
    probability = np.array([float(r[0]) for r in rows[1:]])
    assert np.all((probability > 0) & (probability < 1))
    labels = np.array(truth, dtype=float)
    assert abs(_rank_auc(labels, probability) - evaluated["auc"]) < 1e-4
    assert abs(auc(labels, probability) - evaluated["auc"]) < 1e-4

    shown = run_cli("inspect", model, "--top", "10").stdout
    assert "strongest 10 wide rules" in shown
    assert "education_x_occupation" in shown and "nonzero" in shown
    assert "'>50K' -> 1" in shown


def test_criteo_headerless_tsv_with_inferred_columns(tmp_path):
    criteo = dataset_folder("criteo_sample", ["train.txt", "valid.txt", "test.txt"])
    model = tmp_path / "criteo"
    run_cli("train", "--data", criteo / "train.txt", "--label", "c0", "--valid",
            criteo / "valid.txt", "--model", model, "--epochs", "2", "--quiet")
    info = json.loads((model / "cli.json").read_text())
    assert info["options"]["header"] is False and info["options"]["delimiter"] == "\t"
    assert info["numeric"] == [f"c{k}" for k in sorted(range(1, 14), key=str)]  # I1..I13
    metrics = json.loads(run_cli("evaluate", model, "--data", criteo / "test.txt").stdout)
    assert metrics["auc"] > 0.65        # 7,200 training rows; majority-class AUC is 0.5
    scores = tmp_path / "criteo_scores.csv"
    run_cli("predict", model, "--data", criteo / "test.txt", "--output", scores)
    assert len(scores.read_text().splitlines()) == 391 + 1

"""``widedeep train --objective`` regression and multiclass, end to end in a subprocess:
train, evaluate, predict (columns per objective), inspect; and the label errors."""
import csv
import json

import numpy as np
import pytest
from cli_helpers import run_cli


def _write(path, rows, header):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _regression_file(path, n=600, seed=0):
    rng = np.random.default_rng(seed)
    color = rng.choice(["red", "green", "blue"], n)
    size = rng.normal(size=n)
    effect = {"red": 2.0, "green": 0.0, "blue": -2.0}
    target = np.array([effect[c] for c in color]) + 0.5 * size + 0.1 * rng.normal(size=n)
    return _write(path, zip(color, np.round(size, 4), np.round(target, 4)),
                  ["color", "size", "target"]), target


def _multiclass_file(path, n=600, seed=0):
    rng = np.random.default_rng(seed)
    color = rng.choice(["red", "green", "blue"], n)
    label = np.where(color == "red", "cat", np.where(color == "green", "dog", "emu"))
    flip = rng.random(n) < 0.05
    label[flip] = rng.choice(["cat", "dog", "emu"], flip.sum())
    return _write(path, zip(color, label), ["color", "animal"]), label


def test_regression_trains_evaluates_and_predicts_values(tmp_path):
    data, target = _regression_file(tmp_path / "r.csv")
    model = tmp_path / "m"
    run_cli("train", "--data", data, "--label", "target", "--objective", "regression",
            "--columns", "color:cat:embed=4,size:num", "--model", model, "--epochs", "30",
            "--hidden-units", "8", "--quiet")
    assert json.loads((model / "cli.json").read_text())["labels"]["objective"] == "regression"
    metrics = json.loads(run_cli("evaluate", model, "--data", data).stdout)
    baseline = float(np.sqrt(np.mean((target - target.mean()) ** 2)))   # predict the mean
    assert set(metrics) >= {"rmse", "mae"}
    assert metrics["rmse"] < 0.5 * baseline
    out = tmp_path / "pred.csv"
    run_cli("predict", model, "--data", data, "--output", out)
    rows = list(csv.DictReader(open(out)))
    assert list(rows[0]) == ["prediction"] and len(rows) == len(target)
    predicted = np.array([float(r["prediction"]) for r in rows])
    rmse = float(np.sqrt(np.mean((predicted - target) ** 2)))
    assert rmse == pytest.approx(metrics["rmse"], rel=1e-3, abs=1e-4)   # same model, same rows
    assert "regression" in run_cli("inspect", model).stdout


def test_multiclass_maps_text_labels_to_classes_and_back(tmp_path):
    data, label = _multiclass_file(tmp_path / "c.csv")
    model = tmp_path / "m"
    run_cli("train", "--data", data, "--label", "animal", "--objective", "multiclass",
            "--columns", "color:cat:embed=4", "--model", model, "--epochs", "20",
            "--hidden-units", "8", "--quiet")
    info = json.loads((model / "cli.json").read_text())
    assert info["labels"]["classes"] == ["cat", "dog", "emu"]
    metrics = json.loads(run_cli("evaluate", model, "--data", data).stdout)
    assert metrics["accuracy"] > 0.9
    out = tmp_path / "pred.csv"
    run_cli("predict", model, "--data", data, "--output", out, "--logit")
    rows = list(csv.DictReader(open(out)))
    assert list(rows[0]) == ["logit_cat", "logit_dog", "logit_emu", "class", "p_cat",
                             "p_dog", "p_emu"]
    proba = np.array([[float(r[f"p_{c}"]) for c in ("cat", "dog", "emu")] for r in rows])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    predicted = np.array([r["class"] for r in rows])
    # the written class is the label of the largest written probability
    assert (predicted == np.array(["cat", "dog", "emu"])[proba.argmax(axis=1)]).all()
    assert np.mean(predicted == label) == pytest.approx(metrics["accuracy"], abs=1e-9)
    shown = run_cli("inspect", model).stdout
    assert "'cat' -> 0" in shown and "[class 'emu']" in shown


def test_a_class_unseen_in_training_is_an_error_naming_the_row(tmp_path):
    data, _ = _multiclass_file(tmp_path / "c.csv", n=60)
    run_cli("train", "--data", data, "--label", "animal", "--objective", "multiclass",
            "--columns", "color", "--model", tmp_path / "m", "--epochs", "1", "--quiet")
    other = _write(tmp_path / "o.csv", [["red", "cat"], ["blue", "yak"]], ["color", "animal"])
    done = run_cli("evaluate", tmp_path / "m", "--data", other, check=False)
    assert done.returncode == 1
    assert "row 2" in done.stderr and "'yak'" in done.stderr


def test_a_non_numeric_regression_target_names_its_row(tmp_path):
    data = _write(tmp_path / "r.csv", [["red", "1.5"], ["blue", "2"], ["red", "n/a"]],
                  ["color", "target"])
    done = run_cli("train", "--data", data, "--label", "target", "--objective", "regression",
                   "--columns", "color", "--model", tmp_path / "m", "--quiet", check=False)
    assert done.returncode == 1
    assert "row 3" in done.stderr and "'n/a'" in done.stderr


def test_more_than_two_labels_in_binary_mode_suggests_the_objectives(tmp_path):
    data, _ = _multiclass_file(tmp_path / "c.csv", n=60)
    done = run_cli("train", "--data", data, "--label", "animal", "--columns", "color",
                   "--model", tmp_path / "m", "--quiet", check=False)
    assert done.returncode == 1 and "--objective multiclass" in done.stderr

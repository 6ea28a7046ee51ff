"""The command line on small generated files: libsvm / libffm inputs, column lists,
and the one-line errors (file, line, column) with a non-zero exit status."""
import json

import numpy as np
import pytest
from cli_helpers import run_cli


def _write_table(path, n=400, seed=0, bad_line=None):
    rng = np.random.default_rng(seed)
    color = rng.choice(["red", "green", "blue"], n)
    size = rng.normal(size=n)
    label = np.where((color == "red") ^ (size > 0.5), "yes", "no")
    lines = ["color,size,label"] + [f"{c},{s:.4f},{y}" for c, s, y in zip(color, size, label)]
    if bad_line is not None:
        lines[bad_line - 1] = "red,not-a-number,yes"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_help_lists_every_subcommand():
    shown = run_cli("--help").stdout
    for name in ("train", "evaluate", "predict", "inspect"):
        assert name in shown


def test_column_list_and_string_labels(tmp_path):
    data = _write_table(tmp_path / "train.csv")
    done = run_cli("train", "--data", data, "--label", "label", "--columns",
                   "color:cat:embed=4,size:num", "--model", tmp_path / "m", "--epochs", "20",
                   "--hidden-units", "8", "--quiet")
    assert json.loads(done.stdout)["train_logloss"] < 0.45
    info = json.loads((tmp_path / "m" / "cli.json").read_text())
    assert info["labels"]["classes"] == ["no", "yes"]            # sorted; "yes" means 1
    metrics = json.loads(run_cli("evaluate", tmp_path / "m", "--data", data).stdout)
    assert metrics["accuracy"] > 0.8


def test_bad_cell_is_one_line_naming_file_line_and_column(tmp_path):
    data = _write_table(tmp_path / "bad.csv", bad_line=7)
    done = run_cli("train", "--data", data, "--label", "label", "--columns", "color,size:num",
                   "--model", tmp_path / "m", "--quiet", check=False)
    assert done.returncode == 1
    message = done.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert str(data) in message and "line 7" in message and "'size'" in message


@pytest.mark.parametrize("arguments, expected", [
    (["--columns", "colour"], "column 'colour' is not in the data"),
    (["--columns", "color:embed=big"], "embed= needs an integer"),
    (["--label", "nope"], "column 'nope' is not in the file"),
])
def test_wrong_arguments_exit_1_with_a_message(tmp_path, arguments, expected):
    data = _write_table(tmp_path / "t.csv")
    base = {"--label": "label", "--columns": "color"}
    base.update(dict(zip(arguments[::2], arguments[1::2])))
    flat = [x for pair in base.items() for x in pair]
    done = run_cli("train", "--data", data, "--model", tmp_path / "m", *flat, check=False)
    assert done.returncode == 1 and expected in done.stderr, done.stderr


@pytest.mark.parametrize("content, expected", [
    (b"a,a,y\n1,x,1\n2,y,0\n",
     "line 1, field 2: the first line looks like a header, but the column name 'a' appears"),
    (b"a,b,y\n1,x,1\n2,\xff\xfe,0\n", "line 3: cannot decode the bytes as utf-8"),
    (b"a,b,y\n1,x,nan\n2,y,1\n3,z,0\n", "a label is nan; class labels must be finite"),
])
def test_hostile_files_end_in_one_line_naming_the_file(tmp_path, content, expected):
    data = tmp_path / "hostile.csv"
    data.write_bytes(content)
    done = run_cli("train", "--data", data, "--label", "y", "--model", tmp_path / "m",
                   "--quiet", check=False)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert str(data) in last and expected in last, done.stderr
    assert not (tmp_path / "m").exists()


def test_encoding_option_reads_latin1_and_is_kept_for_predict(tmp_path):
    rows = ["city,size,y"] + [f"{city},{k % 7},{int(city == 'Malmö')}"
                              for k, city in enumerate(["Malmö", "Zürich", "Oslo"] * 40)]
    data = tmp_path / "latin.csv"
    data.write_bytes(("\n".join(rows) + "\n").encode("latin-1"))
    done = run_cli("train", "--data", data, "--label", "y", "--columns", "city,size:num",
                   "--model", tmp_path / "m", "--quiet", check=False)
    assert done.returncode == 1 and "--encoding" in done.stderr, done.stderr
    run_cli("train", "--data", data, "--label", "y", "--columns", "city,size:num",
            "--model", tmp_path / "m", "--quiet", "--encoding", "latin-1", "--epochs", "30")
    # predict reads the file the way train did (the encoding is saved with the model)
    run_cli("predict", tmp_path / "m", "--data", data, "--output", tmp_path / "p.csv")
    scores = np.loadtxt(tmp_path / "p.csv", delimiter=",", skiprows=1, usecols=-1)
    cities = [row.split(",")[0] for row in rows[1:]]
    malmo = np.array([city == "Malmö" for city in cities])
    assert scores.shape == (120,) and scores[malmo].min() > scores[~malmo].max()
    done = run_cli("train", "--data", data, "--label", "y", "--model", tmp_path / "n",
                   "--encoding", "no-such-codec", check=False)
    assert done.returncode == 1 and "unknown text encoding 'no-such-codec'" in done.stderr


def test_missing_file_and_not_a_model(tmp_path):
    done = run_cli("evaluate", tmp_path, "--data", tmp_path / "x.csv", check=False)
    assert done.returncode == 1 and "not a model directory" in done.stderr
    done = run_cli("train", "--data", tmp_path / "missing.csv", "--label", "y", "--model",
                   tmp_path / "m", check=False)
    assert done.returncode == 1 and "missing.csv" in done.stderr


def _sparse_rows(n, seed, ffm):
    rng = np.random.default_rng(seed)
    user, item = rng.integers(0, 20, n), rng.integers(20, 40, n)
    label = np.where((user < 10) ^ (item < 25), 1, -1)      # -1/1 labels
    if ffm:
        return [f"{y} 0:{u}:1 1:{i}:1" for y, u, i in zip(label, user, item)]
    return [f"{y} {u}:1 {i}:1" for y, u, i in zip(label, user, item)]


@pytest.mark.parametrize("fmt", ["libsvm", "libffm"])
def test_sparse_formats_train_evaluate_predict(tmp_path, fmt):
    suffix = "svm" if fmt == "libsvm" else "ffm"
    train, test = tmp_path / f"train.{suffix}", tmp_path / f"test.{suffix}"
    train.write_text("\n".join(_sparse_rows(3000, 0, fmt == "libffm")) + "\n")
    test.write_text("\n".join(_sparse_rows(500, 1, fmt == "libffm")) + "\n")
    # 30 epochs: the default regularization (dropout 0.2, AdaGrad lr 0.05, docs/DEFAULTS.md)
    # makes this 16-unit net learn the XOR more slowly than 10 epochs allow
    run_cli("train", "--data", train, "--model", tmp_path / "m", "--epochs", "30",
            "--hidden-units", "16", "--quiet")
    info = json.loads((tmp_path / "m" / "cli.json").read_text())
    assert info["labels"]["classes"] == [-1.0, 1.0] and info["n_features"] == 40
    metrics = json.loads(run_cli("evaluate", tmp_path / "m", "--data", test).stdout)
    assert metrics["auc"] > 0.9    # an XOR of two id groups: needs the deep part
    out = tmp_path / "p.csv"
    run_cli("predict", tmp_path / "m", "--data", test, "--output", out)
    assert len(out.read_text().splitlines()) == 501


def test_bad_libsvm_token_names_line_and_field(tmp_path):
    data = tmp_path / "bad.svm"
    data.write_text("1 3:1\n0 4:1\n1 5:x\n")
    done = run_cli("train", "--data", data, "--model", tmp_path / "m", check=False)
    assert done.returncode == 1
    assert "bad.svm, line 3, field 2" in done.stderr and "'5:x'" in done.stderr


def test_libsvm_field_ranges_become_per_field_models(tmp_path):
    rng = np.random.default_rng(0)
    user, item = rng.integers(0, 20, 3000), rng.integers(0, 30, 3000)
    label = np.where((user < 10).astype(int) + (item < 15).astype(int) >= 1, 1, -1)
    rows = [f"{y} {u}:1 {20 + i}:1" for y, u, i in zip(label, user, item)]
    data = tmp_path / "train.libfm"
    data.write_text("\n".join(rows) + "\n")
    run_cli("train", "--data", data, "--format", "libsvm", "--field-ranges", "user:20,item:30",
            "--model", tmp_path / "m", "--epochs", "10", "--hidden-units", "16", "--quiet")
    info = json.loads((tmp_path / "m" / "cli.json").read_text())
    assert info["options"]["field_ranges"] == {"user": [0, 20], "item": [20, 50]}
    shown = run_cli("inspect", tmp_path / "m", "--json").stdout
    assert set(json.loads(shown)["sparsity"]) == {"user", "item"}
    metrics = json.loads(run_cli("evaluate", tmp_path / "m", "--data", data).stdout)
    assert metrics["auc"] > 0.9


@pytest.mark.parametrize("fmt, line", [("libsvm", "1 2:1 4000000000:1"),
                                       ("libffm", "1 0:2:1 1:4000000000:1")])
def test_a_huge_feature_id_is_refused_before_any_table_is_allocated(tmp_path, fmt, line):
    data = tmp_path / f"tiny.{fmt}"
    data.write_text("0 3:1 5:1\n" if fmt == "libsvm" else "0 0:3:1 1:5:1\n")
    data.write_text(data.read_text() + line + "\n")     # 2 lines, ~40 bytes
    done = run_cli("train", "--data", data, "--format", fmt, "--model", tmp_path / "m",
                   "--quiet", check=False)
    assert done.returncode == 1, done.stderr
    message = done.stderr.strip().splitlines()[-1]
    assert str(data) in message and "data row 2" in message
    assert "feature id 4,000,000,000" in message and "--max-features 4,194,304" in message


def test_max_features_bounds_and_allows_the_table_size(tmp_path):
    data = tmp_path / "t.libsvm"
    data.write_text("\n".join(["1 3:1 120:1", "0 5:1 7:1"] * 10) + "\n")
    refused = run_cli("train", "--data", data, "--model", tmp_path / "a", "--quiet",
                      "--max-features", "100", check=False)
    assert refused.returncode == 1 and "feature id 120" in refused.stderr
    run_cli("train", "--data", data, "--model", tmp_path / "b", "--quiet", "--epochs", "1",
            "--max-features", "121")
    info = json.loads((tmp_path / "b" / "cli.json").read_text())
    assert info["n_features"] == 121

"""``widedeep inspect MODEL``: what a saved model is — its feature spec (columns, vocabulary
sizes), parameter counts, the sparsity of the wide part after L1, and the strongest wide
rules with their decoded tokens (crosses as ``a=x AND b=y``)."""
from __future__ import annotations

import json

import numpy as np

from ..serving import sparsity_report, strongest_rules
from ._project import ModelDirectory

HELP = "describe a saved model: spec, sizes, sparsity, strongest rules"


def add_arguments(parser):
    parser.add_argument("model", help="model directory written by widedeep train")
    parser.add_argument("--top", type=int, default=20, help="rules to list (default 20)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args):
    directory = ModelDirectory(args.model)
    model, spec = directory.model, directory.spec
    state = model.get_state()
    parameters = {key: int(np.asarray(value).size) for key, value in state.items()
                  if "optimizer" not in key and not key.endswith(("/z", "/n"))}
    description = {
        "model": type(model).__name__,
        "trained": {"epochs": model.epochs_trained_, "steps": model.steps_trained_},
        "objective": directory.coding.objective,
        "labels": directory.coding.classes,
        "data": directory.options.to_dict(),
        "parameters": sum(parameters.values()),
        "columns": {} if spec is None else {
            name: {k: v for k, v in report.items() if v is not None}
            for name, report in spec.report()["columns"].items()},
    }
    rules, sparsity = [], None
    if getattr(model, "wide_", None) is not None:
        sparsity = sparsity_report(model)
        rules = _rules(model, spec, directory.coding, args.top)
    if args.json:
        description["sparsity"] = None if sparsity is None else {
            field: {"nonzero": nz, "size": size} for field, (nz, size) in
            sparsity.fields.items()}
        description["rules"] = [{"field": r.field, "token": r.token, "weight": r.weight,
                                 **({} if label is None else {"class": label})}
                                for label, r in rules]
        print(json.dumps(description, indent=1))
        return 0
    print(f"{description['model']}: {description['parameters']:,} parameters, "
          f"{model.epochs_trained_} epochs ({model.steps_trained_} steps); "
          f"{_labels_line(directory.coding)}")
    if description["columns"]:
        print("\ncolumns:")
        for name, report in description["columns"].items():
            details = ", ".join(f"{k}={v}" for k, v in report.items() if k != "type")
            print(f"  {name:<28} {report.get('type', ''):<11} {details}")
    if sparsity is not None:
        print("\nwide part (non-zero weights after L1):")
        print("  " + str(sparsity).replace("\n", "\n  "))
        print(f"\nstrongest {len(rules)} wide rules:")
        for label, rule in rules:
            print(f"  {rule}" if label is None else f"  [class {label!r}] {rule}")
    return 0


def _labels_line(coding):
    if coding.objective == "regression":
        return "regression (numeric labels)"
    if coding.objective == "multiclass":
        return "multiclass labels " + ", ".join(f"{c!r} -> {k}"
                                                for k, c in enumerate(coding.classes))
    return f"labels {coding.classes[0]!r} -> 0, {coding.classes[1]!r} -> 1"


def _rules(model, spec, coding, top):
    """``(class label or None, WideRule)``: the ``top`` strongest rules, for a multiclass
    model the ``top`` strongest of each class."""
    if coding.objective != "multiclass":
        return [(None, rule) for rule in strongest_rules(model, spec=spec, top=top)]
    return [(label, rule) for k, label in enumerate(coding.classes)
            for rule in strongest_rules(model, spec=spec, top=top, class_index=k)]

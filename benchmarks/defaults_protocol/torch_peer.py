"""The PyTorch peer of ``../shared/bench/torch_wd.py`` trained on a task's feature dicts.

The peer's model (`torch_wd.WideDeep`: one ``EmbeddingBag`` per vocabulary, shared by the
fields naming it; ReLU MLP; a wide ``EmbeddingBag`` over one global id space) and its
optimizers (``torch.optim.Adagrad`` for the deep part, ``torch_wd.SparseFtrl`` for the wide
part) are imported from there, never copied. This module only

- turns widedeep feature dicts into the peer's inputs: every embedding field becomes a
  weighted bag (CSR; the ``mean`` / ``sqrtn`` combiners become per-value weights
  ``v / sum v`` / ``v / sqrt(sum v^2)``), the dense fields one ``[n, D]`` block, the wide
  fields one CSR over concatenated id ranges;
- adds what the peer lacks for the same training: inverted dropout after each hidden ReLU
  (``nn.Dropout``), lazy L2 on the embedding rows a batch uses, the squared-error loss for
  regression (``(1/n) sum (f - y)^2 / 2``, widedeep's scale);
- runs the same loop: batch 256, a seeded shuffle per epoch, early stopping on the
  validation split's loss with the same patience, the best epoch restored.

Differences that remain: the peer's bias is in the deep output layer (AdaGrad), widedeep's
in the wide layer (FTRL); dense layers start from Glorot-uniform in both but draw
different numbers.
"""
from __future__ import annotations

import copy
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
BENCH_DIR = Path(os.environ.get("WD_SHARED_BENCH", REPO.parent / "shared" / "bench"))

__all__ = ["PeerInputs", "train_peer", "torch_available"]


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return (BENCH_DIR / "torch_wd.py").is_file()


def _import_peer():
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    import torch
    import torch_wd
    return torch, torch_wd


class PeerInputs:
    """One split in the peer's layout (numpy; sliced into torch tensors per batch)."""

    def __init__(self, features, y, params):
        self.n = int(np.asarray(y).shape[0])
        self.label = np.asarray(y, dtype=np.float32)
        dense = [np.asarray(features[f], dtype=np.float32).reshape(self.n, -1)
                 for f in (params["dense_fields"] or {})]
        self.dense = (np.concatenate(dense, axis=1) if dense
                      else np.zeros((self.n, 0), dtype=np.float32))
        combiners = params["combiners"]
        self.bags = {}
        for field, vocab in params["embedding_fields"].items():
            combiner = combiners if isinstance(combiners, str) else combiners[field]
            self.bags[field] = _csr(features[field], combiner)
        offsets, offset = {}, 0
        for field, size in params["wide_fields"].items():
            offsets[field], offset = offset, offset + size
        self.wide_dim = offset
        parts = [_csr(features[f], "sum") for f in params["wide_fields"]]
        indptr = np.sum([p[0] for p in parts], axis=0)
        rows = [np.repeat(np.arange(self.n), np.diff(p[0])) for p in parts]
        order = np.argsort(np.concatenate(rows), kind="stable")
        self.wide = (indptr, np.concatenate([p[1] + offsets[f] for p, f in
                                             zip(parts, params["wide_fields"])])[order],
                     np.concatenate([p[2] for p in parts])[order])

    def batch(self, torch, rows):
        """Tensors for the rows ``rows`` (sorted or not) in the peer's ``x`` dict."""
        def take(triplet):
            indptr, indices, values = _csr_take(*triplet, rows)
            return (torch.from_numpy(indptr), torch.from_numpy(indices),
                    torch.from_numpy(values))
        return dict(label=torch.from_numpy(self.label[rows]),
                    dense=torch.from_numpy(self.dense[rows]),
                    cat=torch.zeros((rows.shape[0], 0), dtype=torch.int64),
                    bags={f: take(t) for f, t in self.bags.items()}, wide=take(self.wide))


def _csr(sparse_input, combiner):
    """``(indptr int64 [n+1], ids int64, weights float32)`` of a `SparseInput`, the
    combiner folded into the weights (the peer's bags sum)."""
    indptr = np.asarray(sparse_input.indptr, dtype=np.int64)
    ids = np.asarray(sparse_input.feature_ids, dtype=np.int64)
    values = np.asarray(sparse_input.feature_values, dtype=np.float64)
    if combiner in ("mean", "sqrtn"):
        lengths = np.diff(indptr)
        row_of_value = np.repeat(np.arange(lengths.shape[0]), lengths)
        powers = values if combiner == "mean" else values * values
        totals = np.bincount(row_of_value, weights=powers, minlength=lengths.shape[0])
        if combiner == "sqrtn":
            totals = np.sqrt(totals)
        totals[totals == 0] = 1.0          # empty bags stay empty (a zero vector)
        values = values / totals[row_of_value]
    return indptr, ids, values.astype(np.float32)


def _csr_take(indptr, indices, values, rows):
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    new_indptr = np.zeros(rows.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_indptr[1:])
    source = np.repeat(starts - new_indptr[:-1], lengths) + np.arange(new_indptr[-1])
    return new_indptr, indices[source], values[source]


def _schema(params, embedding_dim, dense_dim, wide_dim):
    vocabularies = params["vocabularies"]
    for name, (_, dim) in vocabularies.items():
        if dim != embedding_dim:
            raise ValueError(f"the peer has one embedding width; vocabulary {name!r} has {dim}")
    return {"cat_fields": [],
            "bag_fields": [{"name": f, "vocab": v} for f, v in params["embedding_fields"].items()],
            "vocabs": {name: rows for name, (rows, _) in vocabularies.items()},
            "dense_dim": dense_dim, "wide": {"dim": wide_dim}}


def train_peer(task_split, config, *, objective, params, embedding_dim, hidden_units=(100, 50),
               batch_size=256, max_epochs=15, patience=2, seed=0, evaluate=None):
    """Train the peer with ``config`` (a `space` configuration) and early stopping.

    ``task_split``: ``(train Split, valid Split)`` (each with ``features`` and ``y``).
    ``evaluate``: optional extra Splits ``{name: Split}`` scored with the restored model.
    Returns ``{"best_epoch", "epochs", "seconds", "valid": {...}, <name>: {...}}`` with
    ``auc``/``logloss`` (binary) or ``rmse`` (regression) per split.
    """
    torch, torch_wd = _import_peer()
    import torch.nn as nn
    import torch.nn.functional as F
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    train, valid = task_split
    train_in, valid_in = (PeerInputs(train.features, train.y, params),
                          PeerInputs(valid.features, valid.y, params))
    schema = _schema(params, embedding_dim, train_in.dense.shape[1], train_in.wide_dim)
    hp = {"embed_dim": embedding_dim, "hidden": list(hidden_units),
          "deep": {"lr": config["adagrad_lr"], "init_acc": config["adagrad_initial_accumulator"],
                   "eps": 1e-7},
          "ftrl": {"alpha": config["ftrl_alpha"], "beta": config["ftrl_beta"],
                   "l1": config["ftrl_l1"], "l2": config["ftrl_l2"]}}
    trainer = torch_wd.Trainer(schema, hp)
    model = trainer.model
    if config["dropout"]:
        layers = []
        for module in model.mlp:
            layers.append(module)
            if isinstance(module, nn.ReLU):
                layers.append(nn.Dropout(config["dropout"]))
        model.mlp = nn.Sequential(*layers)      # same Linear modules, same parameters
    embedding_l2 = config["embedding_l2"]

    def loss_of(x):
        out = model(x)
        if objective == "binary":
            loss = F.binary_cross_entropy_with_logits(out, x["label"])
        else:
            loss = 0.5 * torch.mean((out - x["label"]) ** 2)
        if embedding_l2:
            for name, table in model.tables.items():
                ids = torch.unique(torch.cat([x["bags"][f][1] for f, v in
                                              params["embedding_fields"].items() if v == name]))
                rows = F.embedding(ids, table.weight, sparse=True)
                loss = loss + 0.5 * embedding_l2 * (rows * rows).sum()
        return loss

    def predict(inputs):
        model.eval()
        with torch.inference_mode():
            out = np.concatenate([model(inputs.batch(torch, np.arange(s, min(s + 4096, inputs.n))))
                                  .numpy() for s in range(0, inputs.n, 4096)])
        return out.astype(np.float64)

    def scores(inputs):
        return _scores(objective, inputs.label.astype(np.float64), predict(inputs))

    start = time.perf_counter()
    best, history = None, []
    for epoch in range(1, max_epochs + 1):
        model.train()
        order = np.random.default_rng([seed, 1, epoch]).permutation(train_in.n)
        for s in range(0, train_in.n, batch_size):
            x = train_in.batch(torch, order[s:s + batch_size])
            trainer.opt_deep.zero_grad(set_to_none=True)
            trainer.opt_wide.zero_grad(set_to_none=True)
            loss_of(x).backward()
            trainer.opt_deep.step()
            trainer.opt_wide.step()
        record = scores(valid_in)
        history.append(record)
        stop_on = record["logloss"] if objective == "binary" else record["rmse"]
        if best is None or stop_on < best[0]:
            best = (stop_on, epoch, copy.deepcopy(model.state_dict()))
        elif epoch - best[1] >= patience:
            break
    model.load_state_dict(best[2])
    result = {"best_epoch": best[1], "epochs": len(history),
              "seconds": time.perf_counter() - start, "valid": scores(valid_in),
              "history": history}
    for name, split in (evaluate or {}).items():
        result[name] = scores(PeerInputs(split.features, split.y, params))
    return result


def _scores(objective, y, out):
    from widedeep.metrics import auc, logloss
    if objective == "binary":
        p = 1.0 / (1.0 + np.exp(-out))
        return {"auc": auc(y, p), "logloss": logloss(y, p)}
    return {"rmse": float(np.sqrt(np.mean((out - y) ** 2)))}

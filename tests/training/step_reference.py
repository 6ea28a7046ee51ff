"""An independent float64 reference of one training step, written from the equations only
(dense one-hot matrices, explicit backprop, FTRL and AdaGrad formulas); shared by the
one-step tests. It reads the model's state (get_state) and returns the expected new state."""
import numpy as np

from widedeep import DeepEstimator, FtrlProximal, Adagrad, SparseInput, WideDeepEstimator, \
    WideEstimator

N_USERS, N_ITEMS, DIM, HIDDEN = 5, 4, 2, 3
FTRL = dict(alpha=0.3, beta=0.5, l1=0.01, l2=0.2, initial_accumulator_value=0.05)
ADAGRAD = dict(lr=0.2, initial_accumulator_value=0.1, eps=1e-7)
EMB_L2, DENSE_L2 = 0.03, 0.02


def batch(seed, n=6, objective="binary", n_classes=3):
    """Users and items (two fields sharing the vocabulary "ids"), a dense field, labels of the
    objective and sample weights."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, N_USERS, n)
    items = rng.integers(0, N_ITEMS, n)
    features = {
        "user": SparseInput.from_ids(users, dtype=np.float64),
        "item": SparseInput.from_ids(items, dtype=np.float64),
        "num": rng.standard_normal((n, 1)),
    }
    if objective == "binary":
        y = rng.integers(0, 2, n).astype(np.float64)
    elif objective == "regression":
        y = rng.normal(1.0, 2.0, n)
    else:
        y = rng.integers(0, n_classes, n).astype(np.float64)
    sample_weight = rng.uniform(0.2, 3.0, n)
    return features, y, sample_weight


def make(kind, objective="binary", n_classes=3, **extra):
    common = dict(objective=objective, dtype=np.float64, random_state=0, batch_size=64,
                  **({"n_classes": n_classes} if objective == "multiclass" else {}))
    wide = dict(wide_fields={"user": N_USERS, "item": N_ITEMS}, ftrl=FtrlProximal(**FTRL))
    deep = dict(vocabularies={"ids": (N_USERS + N_ITEMS, DIM)},
                embedding_fields={"user": "ids", "item": "ids"}, dense_fields={"num": 1},
                hidden_units=(HIDDEN,), adagrad=Adagrad(**ADAGRAD), embedding_l2=EMB_L2,
                dense_l2=DENSE_L2, dropout=0.0)   # the reference has no dropout (pinned)
    for key in [k for k in extra if k in deep]:
        deep[key] = extra.pop(key)
    common.update(extra)
    if kind == "wide":
        return WideEstimator(**wide, **common)
    if kind == "deep":
        return DeepEstimator(**deep, **common)
    return WideDeepEstimator(**wide, **deep, **common)


def _ids(features, field):
    return features[field].feature_ids


def expected_step(state, kind, features, y, sample_weight, objective, n_classes=3,
                  scale_by_n=True, use_weight=True):
    """The state after one step, from the equations (every array float64)."""
    s = {k: np.array(v, dtype=np.float64) for k, v in state.items()}
    n = y.shape[0]
    K = n_classes if objective == "multiclass" else 1
    users, items = _ids(features, "user"), _ids(features, "item")
    f = np.zeros((n, K))
    if kind in ("wide", "wide_deep"):
        for field, ids in (("user", users), ("item", items)):
            f += s[f"wide/{field}/w"].reshape(-1, K)[ids]
        f += s["wide/bias/w"].reshape(1, K)
    if kind in ("deep", "wide_deep"):
        E = s["deep/embedding/ids"]
        a0 = np.concatenate([features["num"], E[users], E[items]], axis=1)
        h = a0 @ s["deep/layer0/W"] + s["deep/layer0/b"]
        r = np.maximum(h, 0)
        f += r @ s["deep/layer2/W"].reshape(HIDDEN, K)
        if kind == "deep":
            f += s["deep/layer2/b"].reshape(1, K)
    if objective == "binary":
        p, Y = 1 / (1 + np.exp(-f)), y[:, None]
    elif objective == "regression":
        p, Y = f, y[:, None]
    else:
        e = np.exp(f - f.max(axis=1, keepdims=True))
        p, Y = e / e.sum(axis=1, keepdims=True), np.eye(K)[y.astype(int)]
    G = (p - Y) * (sample_weight[:, None] if use_weight else 1.0) / (n if scale_by_n else 1)

    def adagrad(key, grad, rows=None):
        acc_key = f"deep_optimizer/{key[5:]}/accumulator"
        if rows is None:
            rows = slice(None)
        acc = s[acc_key][rows] + grad ** 2
        s[acc_key][rows] = acc
        s[key][rows] = s[key][rows] - ADAGRAD["lr"] * grad / (np.sqrt(acc) + ADAGRAD["eps"])

    def ftrl(prefix, grad, l1, l2):
        w, z, nn = s[f"{prefix}/w"], s[f"{prefix}/z"], s[f"{prefix}/n"]
        touched = np.any(grad != 0, axis=tuple(range(1, grad.ndim))) if prefix != \
            "wide/bias" else np.ones(grad.shape[0], bool)
        n_new = nn + grad ** 2
        sigma = (np.sqrt(n_new) - np.sqrt(nn)) / FTRL["alpha"]
        z_new = z + grad - sigma * w
        w_new = np.where(np.abs(z_new) <= l1, 0.0,
                         -(z_new - np.sign(z_new) * l1)
                         / ((FTRL["beta"] + np.sqrt(n_new)) / FTRL["alpha"] + l2))
        for name, value in (("w", w_new), ("z", z_new), ("n", n_new)):
            s[f"{prefix}/{name}"][touched] = value[touched]

    if kind in ("wide", "wide_deep"):
        for field, ids, size in (("user", users, N_USERS), ("item", items, N_ITEMS)):
            grad = np.zeros((size, K))
            np.add.at(grad, ids, G)
            ftrl(f"wide/{field}", grad.reshape(s[f"wide/{field}/w"].shape), FTRL["l1"],
                 FTRL["l2"])
        ftrl("wide/bias", G.sum(axis=0).reshape(s["wide/bias/w"].shape), 0.0, 0.0)
    if kind in ("deep", "wide_deep"):
        W2 = s["deep/layer2/W"]
        dW2 = r.T @ G + DENSE_L2 * W2
        dr = G @ W2.T
        dh = dr * (h > 0)
        W0 = s["deep/layer0/W"]
        dW0 = a0.T @ dh + DENSE_L2 * W0
        da0 = dh @ W0.T
        dE = np.zeros_like(E)
        np.add.at(dE, users, da0[:, 1:1 + DIM])
        np.add.at(dE, items, da0[:, 1 + DIM:])
        rows = np.unique(np.concatenate([users, items]))   # one shared table
        dE_rows = dE[rows] + EMB_L2 * E[rows]
        if kind == "deep":
            adagrad("deep/layer2/b", G.sum(axis=0))
        adagrad("deep/layer2/W", dW2)
        adagrad("deep/layer0/b", dh.sum(axis=0))
        adagrad("deep/layer0/W", dW0)
        adagrad("deep/embedding/ids", dE_rows, rows)
    return s

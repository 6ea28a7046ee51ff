"""widedeep driver for the shared Wide & Deep benchmark (``../shared/bench``).

An `Adapter` for ``common.run``: the same data, hyper-parameters, batching and timing
protocol as the PyTorch and TensorFlow peers, so throughput ratios measured in one run are
comparable. Run from the repository root (2 BLAS threads, as the peers' ``--threads 2``)::

    WD_BENCH_DATA=/tmp/wdbench_data WD_BENCH_RESULTS=benchmarks/results \\
    OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 \\
        python benchmarks/widedeep_bench.py --config criteo --batch 1024 --steps 200
    python benchmarks/widedeep_bench.py --config adult --epochs 10

or through the peers' runner: ``WD_DRIVER=benchmarks/widedeep_bench.py ../shared/bench/run_all.sh``.

``WD_OVERLAP=1``: train with the overlapped step (`widedeep.training.overlap`: the wide FTRL
step and the embedding updates on a helper thread next to the dense backward), from the
second step on. With ``--threads 2`` the helper starts at ``dL/da_0`` and BLAS drops to one
thread until it is done (the helper takes the other core); with ``--threads 1`` it starts
at ``dL/df``. Compare with the same ``--threads`` without it, interleaved (or
``benchmarks/step_modes_ab.py``, one process).

``WD_ROW_THREADS=k``: the step's elementwise phases split over ``k`` threads between the
GEMMs (`widedeep.row_threads`; ``step_.threads``), ``auto``: as many as ``n_threads``;
unset, the library's default (1, opt-in). Compare ``WD_ROW_THREADS=2`` with ``=1`` at
``--threads 2``, interleaved (or ``benchmarks/row_threads_ab.py``, one process).

The model, mapped from the data's schema and ``common.HPARAMS``:

- deep: one embedding table per vocabulary of the schema (fields naming the same vocabulary
  share it), truncated-normal std ``1/sqrt(dim)``; single-valued fields via
  `SparseInput.from_ids`, weighted bags via `SparseInput.from_csr` (``sum`` combiner); one
  dense field ``"dense"``; hidden ReLU layers ``hp["hidden"]``; `Adagrad(lr, init_acc, eps)`.
- wide: one field per wide segment of the schema (the ids of the data are global, so each
  field's segment offset is subtracted), `FtrlProximal(alpha, beta, l1, l2)` with
  ``initial_accumulator_value=0`` (McMahan's n_0 = 0, as the peers).
- Regularization pinned to the peers' (issue 12): no dropout (``dropout=0``), no L2 on the
  embeddings or the dense weights (``embedding_l2=0``, ``dense_l2=0``), as the PyTorch and
  TensorFlow models of ``common.py`` train; the library's defaults (dropout 0.2, embedding
  L2 1e-4) would add a mask per hidden layer and a row gather per step that the peers do not
  pay. Early stopping off, no class weights, no schedule: one `partial_fit` per batch.
- Difference from the peers: their single bias is in the deep output layer (Adagrad); ours
  is the wide layer's bias (FTRL without L1/L2). Same number of parameters.

``prepare`` (numpy batch -> feature dict) is timed by the driver, as the peers' numpy ->
tensor conversion is.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_BENCH_DIR = REPO.parent / "shared" / "bench"


def _threads_from_argv(argv):
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return "2"


# BLAS thread pools are sized when numpy is imported: default them to --threads first.
if __name__ == "__main__":
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, _threads_from_argv(sys.argv[1:]))

for _path in (str(REPO), os.environ.get("WD_SHARED_BENCH", str(DEFAULT_BENCH_DIR))):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import argparse  # noqa: E402

import numpy as np  # noqa: E402

import common  # noqa: E402  (shared/bench/common.py)
import widedeep  # noqa: E402
from widedeep import Adagrad, FtrlProximal, SparseInput, WideDeepEstimator  # noqa: E402

IMPL = "widedeep"


class WideSegments:
    """Splits the schema's global wide ids into one local-id field per wide segment."""

    def __init__(self, schema, sample_wide):
        segments = schema["wide"].get("segments") or []
        if not segments:
            segments = [dict(name="wide", offset=0, size=schema["wide"]["dim"])]
        self.names = [_field_name("wide", s["name"], k) for k, s in enumerate(segments)]
        self.sizes = [int(s["size"]) for s in segments]
        self.offsets = np.array([int(s["offset"]) for s in segments], dtype=np.int64)
        self.fixed = isinstance(sample_wide, np.ndarray)
        if self.fixed:
            # fixed layout: each column lies in one segment (checked on the sample rows)
            seg_of = np.searchsorted(self.offsets, sample_wide, side="right") - 1
            if not np.all(seg_of == seg_of[:1]):
                raise ValueError("a fixed-layout wide column spans several segments")
            col_seg = seg_of[0]
            self.columns = [np.flatnonzero(col_seg == s) for s in range(len(segments))]

    @property
    def field_sizes(self):
        return dict(zip(self.names, self.sizes))

    def features(self, wide, n):
        """The wide fields of one batch: fixed layout, the one-column segments in one
        `SparseInput.from_id_columns` call and the wider ones (e.g. Criteo's 10 crosses)
        by `from_csr`; CSR layout, every entry's segment found at once, the segments holding
        one unit entry per row (one-hots, e.g. Paper's 34) in one `from_id_columns` call
        and the others' entries (row order kept) passed unchecked: the model validates
        every sparse field it reads (`SparseInput.validate`), as it does for any input
        built with ``validate=False``."""
        out = {}
        if self.fixed:
            single = [s for s, cols in enumerate(self.columns) if cols.shape[0] == 1]
            if single:
                cols = [int(self.columns[s][0]) for s in single]
                picked = wide.T if cols == list(range(wide.shape[1])) else wide[:, cols].T
                # local ids computed field-major ([F, n], the layout from_id_columns keeps)
                local = picked - self.offsets[single][:, None]
                out.update(SparseInput.from_id_columns(local.T,
                                                       [self.names[s] for s in single]))
            for name, cols, off in zip(self.names, self.columns, self.offsets):
                k = cols.shape[0]
                if k == 1:
                    continue
                ids = (wide[:, cols[0]:cols[-1] + 1] if cols[-1] - cols[0] + 1 == k
                       else wide[:, cols]) - off
                out[name] = SparseInput.from_csr(np.arange(0, n * k + 1, k), ids.ravel(),
                                                 field=name)
            return {name: out[name] for name in self.names}
        indptr, indices, values = wide
        seg = np.searchsorted(self.offsets, indices, side="right") - 1
        if len(self.names) < 2 ** 15:   # a stable sort of int16 keys is a radix sort
            seg = seg.astype(np.int16)
        # a stable sort by segment keeps each segment's entries in row order
        order = np.argsort(seg, kind="stable")
        bounds = np.searchsorted(seg[order], np.arange(len(self.names) + 1)).tolist()
        row = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))[order]
        local = indices[order] - self.offsets[seg[order]]   # int64, every segment at once
        values = values[order]
        # segments with one unit entry per row (one-hots) in one from_id_columns call
        hot = [s for s in range(len(self.names)) if bounds[s + 1] - bounds[s] == n]
        if hot and n:
            pick = np.concatenate([np.arange(bounds[s], bounds[s + 1]) for s in hot]) \
                if hot != list(range(hot[0], hot[-1] + 1)) else slice(bounds[hot[0]],
                                                                      bounds[hot[-1] + 1])
            ok = np.logical_and.reduce(
                (row[pick].reshape(len(hot), n) == np.arange(n)) &
                (values[pick].reshape(len(hot), n) == 1), axis=1)
            hot = [s for s, good in zip(hot, ok.tolist()) if good]
            if hot:
                block = local[pick].reshape(-1, n)[ok] if not ok.all() else \
                    local[pick].reshape(-1, n)
                out.update(SparseInput.from_id_columns(block.T, [self.names[s] for s in hot]))
        for s, name in enumerate(self.names):
            if name in out:
                continue
            lo, hi = bounds[s], bounds[s + 1]
            out[name] = SparseInput(row[lo:hi], local[lo:hi], values[lo:hi], n_examples=n,
                                    field=name, validate=False)
        return {name: out[name] for name in self.names}


class GlobalWide:
    """The schema's wide ids as ONE wide field over the whole wide space (``"wide"``, size
    ``schema["wide"]["dim"]``, ids as given): the peers' layout (one ``EmbeddingBag`` /
    one weight vector for every segment). The same model as `WideSegments` (FTRL is per
    coordinate, every segment has the same settings; a field's coordinates are its
    segment's), with one input to build and one field to read per batch.
    ``WD_WIDE_LAYOUT=global`` selects it."""

    names = ["wide"]

    def __init__(self, schema, sample_wide):
        self.dim = int(schema["wide"]["dim"])

    @property
    def field_sizes(self):
        return {"wide": self.dim}

    def features(self, wide, n):
        """``{"wide": SparseInput}``: fixed layout [n, K] as bags of K entries, CSR as
        given; passed unchecked (the model validates every sparse field it reads)."""
        if isinstance(wide, np.ndarray):
            k = wide.shape[1]
            indptr = np.arange(0, n * k + 1, k, dtype=np.int64)
            ids, values = wide.reshape(-1), None
        else:
            indptr, ids, values = wide
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
        x = SparseInput(rows, ids, values, n_examples=n, field="wide", validate=False)
        x._indptr = np.asarray(indptr, dtype=np.int64)
        return {"wide": x}


WIDE_LAYOUTS = {"segments": WideSegments, "global": GlobalWide}


def openblas_corename():
    """The kernel family OpenBLAS chose at import ("Haswell" = AVX2, "SkylakeX" = AVX-512),
    or "" if numpy's BLAS is not a recognizable OpenBLAS. ``OPENBLAS_CORETYPE`` overrides
    the CPU detection (the benchmark machine's environment pins "Haswell" on an AVX-512
    CPU), so the results record which kernels actually ran."""
    import ctypes
    import glob
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs",
                                  "*openblas*"))
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                       "openblas_get_corename64_", "openblas_get_corename"):
            fn = getattr(lib, symbol, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                return fn().decode()
    return ""


def _field_name(prefix, name, k):
    return f"{prefix}:{name}" if len(name) <= 40 else f"{prefix}:{k}:{name[:30]}"


def build_estimator(schema, hp, seed=0, sample_wide=None, wide_layout=None):
    """(WideDeepEstimator, WideSegments or GlobalWide) for a benchmark schema and
    hyper-parameters; ``wide_layout`` "segments" (one wide field per segment, the
    default) or "global" (`GlobalWide`), default from ``WD_WIDE_LAYOUT``."""
    dim = int(hp["embed_dim"])
    cat = [f["name"] for f in schema["cat_fields"]]
    bags = [f["name"] for f in schema["bag_fields"]]
    field_vocab = {f["name"]: f["vocab"] for f in schema["cat_fields"] + schema["bag_fields"]}
    used = list(dict.fromkeys(field_vocab[f] for f in cat + bags))
    vocabularies = {v: (int(schema["vocabs"][v]), dim) for v in used}
    layout = wide_layout or os.environ.get("WD_WIDE_LAYOUT", "segments")
    wide = WIDE_LAYOUTS[layout](schema, sample_wide)
    deep, ftrl = hp["deep"], hp["ftrl"]
    est = WideDeepEstimator(
        wide.field_sizes,
        vocabularies=vocabularies,
        embedding_fields={f: field_vocab[f] for f in cat + bags},
        combiners="sum",
        dense_fields={"dense": int(schema["dense_dim"])},
        hidden_units=tuple(hp["hidden"]),
        dropout=0.0,          # the peers' models have no dropout ...
        embedding_l2=0.0,     # ... and no L2 on embeddings or dense weights
        dense_l2=0.0,
        adagrad=Adagrad(lr=deep["lr"], initial_accumulator_value=deep["init_acc"],
                        eps=deep["eps"]),
        embedding_init_std=1.0 / np.sqrt(dim),
        ftrl=FtrlProximal(alpha=ftrl["alpha"], beta=ftrl["beta"], l1=ftrl["l1"],
                          l2=ftrl["l2"], initial_accumulator_value=0.0),
        wide_mode="batch",
        batch_size=int(hp["batch"]),
        predict_batch_size=max(int(hp["infer_batch"]), 65536),
        dtype=np.float32,
        early_stopping=False,
        random_state=seed,
    )
    return est, wide


def model_and_batches(config, hp, n_threads, max_batches=64, warmup_steps=10):
    """The benchmark's estimator for ``config`` (``n_threads`` BLAS threads), trained for
    ``warmup_steps`` steps, and up to ``max_batches`` prepared training batches of
    ``hp["batch"]`` rows as ``(features, labels)``: the setup of the in-process step A/Bs
    (`row_threads_ab.py`, `step_modes_ab.py`)."""
    batch = hp["batch"]
    ds = common.load(config)
    sample = ds.train.wide[:4096] if isinstance(ds.train.wide, np.ndarray) else ds.train.wide
    est, wide = build_estimator(ds.schema, hp, 0, sample)
    est.set_params(n_threads=n_threads)
    batches = []
    for k in range(min(ds.train.n // batch, max_batches)):
        b = ds.train.batch(k * batch, (k + 1) * batch)
        batches.append((batch_features(b, ds.schema, wide), b.label))
    for k in range(warmup_steps):
        est.partial_fit(*batches[k % len(batches)])
    return est, batches


def batch_features(b, schema, wide):
    """A `common.Batch` as a widedeep feature dict (the timed `prepare`): the single-valued
    fields in one `SparseInput.from_id_columns` call, the bags by `from_csr`, the wide
    fields by `WideSegments.features`."""
    n = b.size
    features = {"dense": b.dense}
    features.update(SparseInput.from_id_columns(b.cat, [f["name"]
                                                        for f in schema["cat_fields"]]))
    for f in schema["bag_fields"]:
        indptr, indices, values = b.bags[f["name"]]
        features[f["name"]] = SparseInput.from_csr(indptr, indices, values, field=f["name"])
    features.update(wide.features(b.wide, n))
    return features


class WidedeepAdapter(common.Adapter):
    name = IMPL

    def __init__(self, a):
        self.threads = a.threads
        blas = os.environ.get("OPENBLAS_NUM_THREADS")
        if blas is not None and blas != str(a.threads):
            print(f"warning: OPENBLAS_NUM_THREADS={blas} but --threads {a.threads}",
                  file=sys.stderr)
        self.hp = common.hparams(a.config, a.hp)
        if a.batch:
            self.hp["batch"] = a.batch
        self.ds = common.load(a.config)
        self.schema = self.ds.schema
        sample = self.ds.train.wide
        sample = sample[:4096] if isinstance(sample, np.ndarray) else sample
        self.model, self.wide = build_estimator(self.schema, self.hp, a.seed, sample)
        # BLAS threads while training/predicting: --threads, or the library's default when
        # WD_N_THREADS=default (benchmarks/threads_busy.py compares the two)
        choice = os.environ.get("WD_N_THREADS", str(a.threads))
        self.model.set_params(n_threads=None if choice == "default" else int(choice))
        self.overlap = os.environ.get("WD_OVERLAP", "0") == "1"
        # WD_ROW_THREADS=k: the step's elementwise phases on k threads (`step_.threads`),
        # "auto": as many as n_threads; unset: the library's default
        row = os.environ.get("WD_ROW_THREADS", "default")
        self.set_row_threads = row not in ("", "default")
        self.row_threads = None if row in ("auto", "", "default") else int(row)

    def prepare(self, b):
        return batch_features(b, self.schema, self.wide), b.label

    def train_step(self, x):
        features, label = x
        self.model.partial_fit(features, label)
        if self.overlap and not self.model.step_.overlap:   # the step exists from now on
            self.model.step_.overlap = True
        if self.set_row_threads:
            self.model.step_.threads = self.row_threads

    def predict(self, x):
        return self.model.predict_proba(x[0])

    def info(self):
        return dict(widedeep=getattr(widedeep, "__version__", ""), numpy=np.__version__,
                    blas_threads=os.environ.get("OPENBLAS_NUM_THREADS", ""),
                    n_threads=str(self.model.n_threads),
                    openblas_corename=openblas_corename(),
                    wide_fields=len(self.wide.names), overlap=str(self.overlap),
                    wide_layout=os.environ.get("WD_WIDE_LAYOUT", "segments"),
                    row_threads=os.environ.get("WD_ROW_THREADS", "default"),
                    note="bias = wide bias (FTRL); peers: deep output bias (Adagrad)")


def main(argv=None):
    a = common.add_cli_args(argparse.ArgumentParser(description=__doc__.split("\n")[0])) \
        .parse_args(argv)
    return common.run(WidedeepAdapter(a), a, IMPL)


if __name__ == "__main__":
    main()

"""Single entry point of the widedeep benchmarks; writes one Markdown report.

    python benchmarks/run.py                      # everything (~15 min on 2 vCPUs)
    python benchmarks/run.py --quick              # short windows, 2 adult epochs (~4 min)
    python benchmarks/run.py --configs adult --repeats 3 --no-vocab
    python benchmarks/run.py --configs criteo adult paper --repeats 3 --pinned --torch-fused \
        --tf-python /path/to/tf-venv/bin/python --no-vocab --no-serving   # issue 12's table

What it runs, each benchmark in its own process with ``--threads`` BLAS/torch threads:

- the shared Wide & Deep benchmark (``../shared/bench``): for each config (criteo b1024,
  adult b256 x 10 epochs, paper b256) the PyTorch peer (when torch is importable; also its
  fused-table layout with ``--torch-fused``), the TensorFlow peer (``--tf-python`` names the
  python of a venv holding tensorflow-cpu) and widedeep (`benchmarks/widedeep_bench.py`)
  **interleaved** on the same generated data, same hyper-parameters and timing protocol,
  ``--repeats`` times with alternating order; cells are medians over the repeats and ratios
  compare runs of the same repeat. widedeep runs "native" (``OPENBLAS_CORETYPE`` and
  ``OPENBLAS_L2_SIZE`` removed from its environment) and, with ``--pinned``, also with both
  pins set as on machines that need them;
- `benchmarks/vocab_scaling.py`: train-step time vs table size, 10^3..10^7 rows;
- `benchmarks/serving_latency.py`, if present, with its default arguments.

Output: ``benchmarks/results/BENCHMARKS.md`` (``--out``) with the date, the machine (CPU
model, cores, numpy/scipy/BLAS and torch versions) and the exact command; the raw JSON of
every run stays under ``benchmarks/results/<stamp>/``. Data are generated on first use into
``$WD_BENCH_DATA`` (default ``benchmarks/results/data``); ``../shared`` is never written.
Peak RSS is the process's maximum resident set size (``time -v`` when GNU time exists, the
process's own ``ru_maxrss`` otherwise) and includes the dataset held in RAM.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_SHARED = REPO.parent / "shared" / "bench"

# config -> (peer/driver arguments, quick arguments); the same for both implementations
CONFIGS = {
    "criteo": (["--config", "criteo", "--batch", "1024", "--steps", "200"],
               ["--config", "criteo", "--batch", "1024", "--steps", "50", "--repeats", "2",
                "--infer-batches", "30"]),
    "adult": (["--config", "adult", "--epochs", "10"],
              ["--config", "adult", "--epochs", "2"]),
    # serving latency by the shared protocol: 500 requests of 100 candidates, p50/p99; the
    # training window is kept short (its numbers are not reported for this entry)
    "paper_latency": (["--config", "paper", "--steps", "5", "--warmup", "2", "--repeats", "1",
                       "--infer-batches", "3", "--latency-modes", "single"],
                      ["--config", "paper", "--steps", "5", "--warmup", "2", "--repeats", "1",
                       "--infer-batches", "3", "--latency-modes", "single"]),
    "paper": (["--config", "paper", "--no-latency"],
              ["--config", "paper", "--no-latency", "--steps", "20", "--infer-batches", "50"]),
}
IMPL_FILE = {"torch": "torch", "torch_fused": "torch", "tf": "tf", "widedeep": "widedeep",
             "widedeep_avx512": "widedeep", "widedeep_pinned": "widedeep",
             "widedeep_rows": "widedeep", "widedeep_overlap": "widedeep",
             "widedeep_global": "widedeep"}
LABEL = {"torch": "torch per-field", "torch_fused": "torch fused", "tf": "TensorFlow",
         "widedeep": "widedeep", "widedeep_avx512": "widedeep, OPENBLAS_CORETYPE=SkylakeX",
         "widedeep_pinned": "widedeep pinned (Haswell, L2 512)",
         "widedeep_rows": "widedeep, row threads (WD_ROW_THREADS=auto)",
         "widedeep_overlap": "widedeep, overlapped step (WD_OVERLAP=1)",
         "widedeep_global": "widedeep, one wide field (WD_WIDE_LAYOUT=global)"}
# "<impl>_timeout": the same run with OPENBLAS_THREAD_TIMEOUT (--thread-timeout): OpenBLAS's
# idle workers sleep after 2^K cycles instead of spinning (yielding) for 2^28
for _impl in ("widedeep", "widedeep_rows", "widedeep_overlap"):
    IMPL_FILE[_impl + "_timeout"] = "widedeep"
    LABEL[_impl + "_timeout"] = LABEL[_impl] + ", OPENBLAS_THREAD_TIMEOUT"
TIMEOUT_SUFFIX = "_timeout"
# The OpenBLAS pins some machines set (older OpenBLAS builds need them): "pinned" runs set
# them, every other run of this script has both removed from its environment ("native").
PINS = {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512"}
TARGETS = {  # widedeep / peer train throughput, (config, peer) -> ratio (issue 12)
    ("criteo", "tf"): 1.2, ("criteo", "best_torch"): 1.6,
}


def machine():
    info = dict(python=platform.python_version(), numpy=np.__version__,
                platform=platform.platform(), cores=os.cpu_count())
    try:
        info["usable_cores"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in f
                               if line.startswith("model name"))
    except (OSError, StopIteration):
        info["cpu"] = platform.processor() or "unknown"
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:
        info["blas"] = "unknown"
    try:
        import scipy
        info["scipy"] = scipy.__version__
    except ImportError:
        pass
    info["openblas_corename"] = _corename({})
    torch_version = _torch_version()
    if torch_version:
        info["torch"] = torch_version
    return info


def _corename(extra_env):
    """OpenBLAS kernel family numpy picks in a fresh process (see widedeep_bench)."""
    env = dict(os.environ, **extra_env)
    code = ("import sys; sys.path.insert(0, %r); import widedeep_bench as w; "
            "print(w.openblas_corename())" % str(HERE))
    try:
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=120)
        return out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() \
            else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def _torch_version():
    try:
        out = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"],
                             capture_output=True, text=True, timeout=120)
        return out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return None


class Runner:
    def __init__(self, a, stamp):
        self.a = a
        self.shared = Path(a.shared_bench)
        self.out_dir = HERE / "results" / stamp
        self.data = Path(os.environ.get("WD_BENCH_DATA") or HERE / "results" / "data").resolve()
        self.time_v = shutil.which("time") if _gnu_time() else None
        base = {k: v for k, v in os.environ.items() if k not in PINS}
        self.env = dict(base, WD_BENCH_DATA=str(self.data),
                        OPENBLAS_NUM_THREADS=str(a.threads), OMP_NUM_THREADS=str(a.threads),
                        MKL_NUM_THREADS=str(a.threads),
                        PYTHONPATH=os.pathsep.join(
                            [str(self.shared), str(REPO)]
                            + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH")
                               else [])))

    def ensure_data(self, config):
        config = config.split("_")[0]
        if not (self.data / f"{config}.npz").exists():
            print(f"generating {config} data into {self.data}", flush=True)
            subprocess.run([sys.executable, str(self.shared / "common.py"), "gen", config],
                           env=self.env, check=True)

    def bench(self, impl, config, repeat):
        """Run one implementation on one config; return its results JSON (+ peak RSS)."""
        results = self.out_dir / f"r{repeat}"
        (results / "logs").mkdir(parents=True, exist_ok=True)
        args = CONFIGS[config][1 if self.a.quick else 0] + ["--threads", str(self.a.threads)]
        python = sys.executable
        if impl.startswith("torch"):
            script = self.shared / "torch_wd.py"
        elif impl == "tf":
            script, python = self.shared / "tf_wd.py", self.a.tf_python
        else:
            script = HERE / "widedeep_bench.py"
        env = dict(self.env, WD_BENCH_RESULTS=str(results))
        name = f"{IMPL_FILE[impl]}__{config}"
        timeout = impl.endswith(TIMEOUT_SUFFIX)
        if timeout:
            impl = impl[:-len(TIMEOUT_SUFFIX)]
            env["OPENBLAS_THREAD_TIMEOUT"] = str(self.a.thread_timeout)
        tag = {"widedeep_avx512": "avx512", "widedeep_pinned": "pinned",
               "torch_fused": "fused", "widedeep_rows": "rows",
               "widedeep_overlap": "overlap", "widedeep_global": "global"}.get(impl)
        if timeout:
            tag = "_".join(x for x in (tag, f"timeout{self.a.thread_timeout}") if x)
        if config == "paper_latency":
            tag = "_".join(x for x in (tag, "latency") if x)
            name = f"{IMPL_FILE[impl]}__paper"
        if tag:
            args += ["--tag", tag]
            name += f"__{tag}"
        if impl == "torch_fused":
            args += ["--emb-layout", "fused"]
        if impl == "widedeep_avx512":
            env["OPENBLAS_CORETYPE"] = "SkylakeX"
        if impl == "widedeep_pinned":
            env.update(PINS)
        if impl == "widedeep_rows":
            env["WD_ROW_THREADS"] = "auto"
        if impl == "widedeep_overlap":
            env["WD_OVERLAP"] = "1"
        if impl == "widedeep_global":
            env["WD_WIDE_LAYOUT"] = "global"
        cmd = [python, str(script)] + args
        log = results / "logs" / name
        if self.time_v:
            cmd = [self.time_v, "-v", "-o", f"{log}.time"] + cmd
        load = os.getloadavg()[0]
        print(f"=== r{repeat} {name} (load {load:.1f}): {' '.join(cmd[-len(args) - 2:])}",
              flush=True)
        with open(f"{log}.out", "w") as out, open(f"{log}.err", "w") as err:
            rc = subprocess.run(cmd, cwd=self.shared, env=env, stdout=out, stderr=err).returncode
        if rc != 0:
            print(f"    FAILED rc={rc}; see {log}.err", flush=True)
            return None
        res = json.loads((results / f"{name}.json").read_text())
        res["peak_rss_mb"] = _time_v_rss(f"{log}.time") or res.get("peak_rss_mb_self")
        res["load_before"] = load
        res["load_after"] = os.getloadavg()[0]
        print(f"    train {res.get('train_ex_per_s', 0):,.0f} ex/s  infer "
              f"{res.get('infer_ex_per_s', 0):,.0f} ex/s  RSS {res['peak_rss_mb']:,.0f} MB  "
              f"AUC {res.get('test_auc', float('nan')):.4f}", flush=True)
        return res

    def run_script(self, script, args):
        cmd = [sys.executable, str(script)] + args
        print(f"=== {' '.join(cmd[1:])}", flush=True)
        out = subprocess.run(cmd, cwd=REPO, env=self.env, capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr[-2000:], flush=True)
            return None
        return out.stdout


def _gnu_time():
    path = shutil.which("time")
    if not path:
        return False
    try:
        return subprocess.run([path, "-v", "true"], capture_output=True).returncode == 0
    except OSError:
        return False


def _time_v_rss(path):
    try:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", Path(path).read_text())
    except OSError:
        return None
    return int(m.group(1)) / 1024 if m else None


def _median(values):
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def _fmt(v, f="{:,.0f}"):
    return "" if v is None else f.format(v)


def _cell(values, f="{:,.0f}"):
    values = [v for v in values if v is not None]
    if not values:
        return ""
    if len(values) == 1:
        return f.format(values[0])
    return f"{f.format(np.median(values))} [{f.format(min(values))}–{f.format(max(values))}]"


def _best_train(result):
    """The fastest timed window (adult: epoch) -- less sensitive than the median to other
    processes' bursts on a shared machine; both implementations get the same treatment."""
    rates = result.get("train_ex_per_s_all") or [h["train_ex_per_s"]
                                                 for h in result.get("history", [])]
    return max(rates) if rates else None


def _loads(results):
    return ", ".join(f"{r['load_before']:.1f} / {r['load_after']:.1f}" for r in results)


def report_peers(runs, configs, impls):
    """runs[config][impl] = list of result dicts (one per repeat, None if failed)."""
    lines = ["| config | implementation | train ex/s | infer ex/s | peak RSS MB | test AUC | "
             "load avg before / after |", "|---|---|---|---|---|---|---|"]
    configs = [c for c in configs if c != "paper_latency"]
    for c in configs:
        for impl in impls:
            rs = [r for r in runs[c].get(impl, []) if r]
            if not rs:
                continue
            lines.append(f"| {c} b{rs[0].get('train_batch', rs[0].get('batch'))} | {LABEL[impl]} "
                         f"| {_cell([r.get('train_ex_per_s') for r in rs])} "
                         f"| {_cell([r.get('infer_ex_per_s') for r in rs])} "
                         f"| {_cell([r.get('peak_rss_mb') for r in rs])} "
                         f"| {_cell([r.get('test_auc') for r in rs], '{:.4f}')} "
                         f"| {_loads(rs)} |")
    peers = [i for i in impls if i in ("tf", "torch", "torch_fused")]
    if not peers:
        return "\n".join(lines)
    lines += ["", "Same-run ratios, widedeep / peer: the median over repeats of each repeat's "
              "ratio ('best torch' is the faster torch layout of that repeat; 'best windows' "
              "compares each run's fastest timed window / epoch):", "",
              "| config | widedeep | vs | train | target | train, best windows | infer | "
              "peak RSS | AUC difference |", "|---|---|---|---|---|---|---|---|---|"]
    torch_layouts = [i for i in ("torch", "torch_fused") if i in impls]
    for c, impl in ((c, i) for c in configs for i in impls if i.startswith("widedeep")):
        versus = [(p, LABEL[p], runs[c].get(p, [])) for p in peers if p != "torch_fused"
                  or "torch" not in impls]
        if len(torch_layouts) == 2:
            versus.append(("best_torch", "best torch", [
                _faster(a, b) for a, b in zip(runs[c]["torch"], runs[c]["torch_fused"])]))
        for peer, peer_label, peer_runs in versus:
            pairs = [(w, t) for w, t in zip(runs[c].get(impl, []), peer_runs) if w and t]
            if not pairs:
                continue

            def ratio(key, pairs=pairs):
                return _median([w[key] / t[key] for w, t in pairs
                                if w.get(key) and t.get(key)])
            train = ratio("train_ex_per_s")
            target = TARGETS.get((c, peer))
            verdict = "" if target is None or train is None else \
                (f">= {target} met" if train >= target else f">= {target} MISSED")
            auc = _median([w["test_auc"] - t["test_auc"] for w, t in pairs
                           if "test_auc" in w and "test_auc" in t])
            best = _median([_best_train(w) / _best_train(t) for w, t in pairs
                            if _best_train(w) and _best_train(t)])
            lines.append(f"| {c} | {LABEL[impl]} | {peer_label} | {_fmt(train, '{:.2f}x')} | "
                         f"{verdict} | {_fmt(best, '{:.2f}x')} | "
                         f"{_fmt(ratio('infer_ex_per_s'), '{:.2f}x')} | "
                         f"{_fmt(ratio('peak_rss_mb'), '{:.2f}x')} | {_fmt(auc, '{:+.4f}')} |")
    return "\n".join(lines)


def _faster(a, b):
    """Per metric the better of two torch layouts' results of one repeat (train and infer
    separately: each ratio then compares with the peer's best layout for that job)."""
    if not a or not b:
        return a or b
    best = dict(a if (a.get("train_ex_per_s") or 0) >= (b.get("train_ex_per_s") or 0) else b)
    best["infer_ex_per_s"] = max(a.get("infer_ex_per_s") or 0, b.get("infer_ex_per_s") or 0)
    return best


def report_latency(runs, impls):
    """p50 / p99 of the shared protocol's single-request latency (config paper_latency)."""
    rows = runs.get("paper_latency")
    if not rows:
        return ""
    lines = ["| implementation | p50 ms | p99 ms | p50 / TensorFlow's |", "|---|---|---|---|"]

    def p(r, key):
        return (r or {}).get("latency", {}).get("single", {}).get(key)
    tf = rows.get("tf", [])
    for impl in impls:
        rs = rows.get(impl, [])
        if not any(p(r, "p50_ms") for r in rs):
            continue
        vs = _median([p(r, "p50_ms") / p(t, "p50_ms") for r, t in zip(rs, tf)
                      if p(r, "p50_ms") and p(t, "p50_ms")]) if impl != "tf" else None
        lines.append(f"| {LABEL[impl]} | {_cell([p(r, 'p50_ms') for r in rs], '{:.2f}')} | "
                     f"{_cell([p(r, 'p99_ms') for r in rs], '{:.2f}')} | "
                     f"{_fmt(vs, '{:.2f}x')} |")
    return ("Serving latency by the shared protocol (paper model, one request = 100 candidate "
            "rows scored in one `predict` call, 1 intra-op thread, 500 requests after 50 "
            "warm-up; target <= 0.8x TensorFlow):\n\n" + "\n".join(lines))


def report_history(runs, impls):
    rows = []
    for impl in impls:
        rs = [r for r in runs.get("adult", {}).get(impl, []) if r and r.get("history")]
        if rs:
            rows.append((LABEL[impl], [h["test_auc"] for h in rs[0]["history"]]))
    if not rows:
        return ""
    n = max(len(h) for _, h in rows)
    lines = ["| epoch | " + " | ".join(str(e + 1) for e in range(n)) + " |",
             "|---|" + "---|" * n]
    for impl, hist in rows:
        lines.append(f"| {impl} | " + " | ".join(f"{v:.4f}" for v in hist) + " |")
    return "Adult test AUC per epoch (b256; first repeat):\n\n" + "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    ap.add_argument("--repeats", type=int, default=1,
                    help="interleaved torch/widedeep repeats (order alternates)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="short windows, 2 adult epochs")
    ap.add_argument("--no-peers", action="store_true", help="skip the PyTorch peer")
    ap.add_argument("--avx512", choices=["no", "also", "only"], default="no",
                    help="also/only run widedeep with OPENBLAS_CORETYPE=SkylakeX (AVX-512 "
                         "kernels; the benchmark machine's environment pins 'Haswell' = AVX2)")
    ap.add_argument("--pinned", action="store_true",
                    help="also run widedeep with the OpenBLAS pins set (OPENBLAS_CORETYPE=Haswell "
                         "OPENBLAS_L2_SIZE=512); every other run has both unset ('native')")
    ap.add_argument("--row-threads", action="store_true",
                    help="also run widedeep with the step's row threads on (WD_ROW_THREADS=auto)")
    ap.add_argument("--overlap", action="store_true",
                    help="also run widedeep with the overlapped step (WD_OVERLAP=1: the sparse "
                         "half on a helper thread, BLAS at one thread meanwhile)")
    ap.add_argument("--thread-timeout", type=int, default=None, metavar="K",
                    help="also run widedeep (and its --row-threads / --overlap runs) with "
                         "OPENBLAS_THREAD_TIMEOUT=K (4..30: idle OpenBLAS workers sleep after "
                         "2^K cycles; OpenBLAS's default is 28)")
    ap.add_argument("--wide-global", action="store_true",
                    help="also run widedeep with one wide field over the whole wide id space "
                         "(WD_WIDE_LAYOUT=global: the peers' single wide table)")
    ap.add_argument("--torch-fused", action="store_true",
                    help="also run the PyTorch peer with one fused embedding table")
    ap.add_argument("--tf-python", default=None,
                    help="python of a venv with tensorflow-cpu: also run the TensorFlow peer "
                         "(../shared/bench/README.md; never a dependency of widedeep)")
    ap.add_argument("--no-shared", action="store_true", help="skip the shared W&D benchmark")
    ap.add_argument("--no-vocab", action="store_true", help="skip vocab_scaling.py")
    ap.add_argument("--no-serving", action="store_true", help="skip serving_latency.py")
    ap.add_argument("--shared-bench", default=str(DEFAULT_SHARED),
                    help="folder of the shared benchmark (common.py, torch_wd.py)")
    ap.add_argument("--out", default=str(HERE / "results" / "BENCHMARKS.md"))
    a = ap.parse_args(argv)

    started = dt.datetime.now(dt.timezone.utc)
    stamp = started.strftime("%Y%m%d-%H%M%S")
    info = machine()
    runner = Runner(a, stamp)
    if a.tf_python:
        out = subprocess.run([a.tf_python, "-c", "import tensorflow as tf; print(tf.__version__)"],
                             capture_output=True, text=True)
        info["tensorflow"] = out.stdout.strip().splitlines()[-1] if out.returncode == 0 \
            else "not importable"
    sections = []

    have_shared = (Path(a.shared_bench) / "common.py").exists() and not a.no_shared
    impls = {"no": ["widedeep"], "also": ["widedeep", "widedeep_avx512"],
             "only": ["widedeep_avx512"]}[a.avx512]
    if a.pinned:
        impls = impls + ["widedeep_pinned"]
    if a.row_threads:
        impls = impls + ["widedeep_rows"]
    if a.overlap:
        impls = impls + ["widedeep_overlap"]
    if a.wide_global:
        impls = impls + ["widedeep_global"]
    if a.thread_timeout is not None:
        impls = impls + [impl + TIMEOUT_SUFFIX for impl in ("widedeep", "widedeep_rows",
                                                          "widedeep_overlap") if impl in impls]
    if have_shared and not a.no_peers and "torch" in info:
        impls = ["torch"] + (["torch_fused"] if a.torch_fused else []) + impls
    if have_shared and not a.no_peers and a.tf_python:
        impls = ["tf"] + impls
    elif have_shared and not a.no_peers:
        print("torch is not importable: peers skipped (pip install torch==2.13.0)", flush=True)
    if not have_shared and not a.no_shared:
        print(f"{a.shared_bench}/common.py not found: shared benchmark skipped", flush=True)

    if have_shared:
        runs = {c: {i: [] for i in impls} for c in a.configs}
        for c in a.configs:
            runner.ensure_data(c)
        for rep in range(a.repeats):
            for c in a.configs:
                for impl in (impls if rep % 2 == 0 else impls[::-1]):
                    runs[c][impl].append(runner.bench(impl, c, rep))
        (runner.out_dir / "runs.json").write_text(json.dumps(runs, indent=1, default=float))
        cmds = "\n".join(f"    {c}: --{' --'.join(' '.join(CONFIGS[c][1 if a.quick else 0]).split(' --'))[2:]}"
                         for c in a.configs)
        sections.append(
            "## Wide & Deep vs the peers (shared benchmark, same data, same run)\n\n"
            f"{a.repeats} interleaved repeat(s), {a.threads} threads; cells: median "
            "[min–max] over repeats; each throughput is itself the median of the driver's "
            "timed windows (adult: of the 10 epochs). Driver arguments (both implementations):"
            f"\n\n{cmds}\n\n" + report_peers(runs, a.configs, impls) + "\n\n"
            + report_history(runs, impls) + "\n\n" + report_latency(runs, impls)
            + "\n\nModel difference: the peers' only bias is in the deep output layer "
              "(Adagrad); widedeep's is the wide layer's bias (FTRL, no L1/L2).")

    if not a.no_vocab:
        vocab_json = runner.out_dir / "vocab_scaling.json"
        vargs = ["--json", str(vocab_json)] + (["--windows", "3", "--steps", "10"]
                                               if a.quick else [])
        out = runner.run_script(HERE / "vocab_scaling.py", vargs)
        if out is not None:
            sections.append("## Train step time vs vocabulary size (batch 1024)\n\n"
                            "`python benchmarks/vocab_scaling.py " + " ".join(vargs[2:])
                            + "` (embedding tables and wide fields of N rows; same batches)"
                            "\n\n" + out.strip())

    serving = HERE / "serving_latency.py"
    if serving.exists() and not a.no_serving:
        out = runner.run_script(serving, [])
        if out is not None:
            sections.append("## Serving latency (`python benchmarks/serving_latency.py`)\n\n"
                            + out.strip())

    minutes = (dt.datetime.now(dt.timezone.utc) - started).total_seconds() / 60
    head = ["# widedeep benchmarks", "",
            f"- date: {started.strftime('%Y-%m-%d %H:%M UTC')} ({minutes:.1f} min)",
            f"- machine: {info.get('cpu')}, {info.get('cores')} cores"
            + (f" ({info['usable_cores']} usable)" if "usable_cores" in info else "")
            + f", {info.get('platform')}",
            f"- software: Python {info['python']}, numpy {info['numpy']}, scipy "
            f"{info.get('scipy', '?')}, BLAS {info['blas']} (kernels chosen at start: "
            f"{info.get('openblas_corename', '?')}; env OPENBLAS_CORETYPE="
            f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')})"
            + (f", torch {info['torch']}" if "torch" in info else "")
            + (f", TensorFlow {info['tensorflow']} (own venv)" if "tensorflow" in info else ""),
            f"- threads: {a.threads} (OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / torch)",
            f"- command: `python benchmarks/run.py {' '.join(shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:]))}`",
            f"- raw results: `benchmarks/results/{stamp}/`", ""]
    text = "\n".join(head) + "\n" + "\n\n".join(sections) + "\n"
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(text)
    (runner.out_dir).mkdir(parents=True, exist_ok=True)
    (runner.out_dir / "BENCHMARKS.md").write_text(text)
    print("\n" + text)
    return text


if __name__ == "__main__":
    main()

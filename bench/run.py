"""Benchmarks: tapegrad side by side with PyTorch, interleaved, same thread counts.

    python bench/run.py                 # full suite, 1 and 2 threads
    python bench/run.py --quick         # short version
    python bench/run.py --json out.json # also write the results as JSON
    python bench/run.py --profile cnn_epoch   # where tapegrad's time goes, per op

Every measurement runs in a fresh subprocess with the BLAS / intra-op thread
count set before the libraries load, so both libraries get the same threads
and their peak memory is measured separately. Repetitions alternate between the
two libraries; the table reports min and median seconds and the ratio of medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _thread_env(threads: int) -> dict:
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(threads)
    env["TAPEGRAD_NUM_THREADS"] = str(threads)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def worker(lib_name: str, workload: str, threads: int, quick: bool, reps: int) -> dict:
    """Run one workload ``reps`` times in this process and report times and memory."""
    import resource

    sys.path.insert(0, HERE)
    import workloads

    if lib_name == "torch":
        import torch as lib

        lib.set_num_threads(threads)
    else:
        import tapegrad as lib

        lib.set_num_threads(threads)
    run = workloads.WORKLOADS[workload](lib, quick)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"times": times, "peak_mb": peak / 1024, "extra_mb": (peak - base) / 1024}


def _spawn(lib_name, workload, threads, quick, reps=1) -> dict:
    cmd = [sys.executable, __file__, "--worker", lib_name, workload, str(threads), str(reps)]
    if quick:
        cmd.append("--quick")
    out = subprocess.run(cmd, env=_thread_env(threads), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{lib_name}/{workload} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def versions() -> dict:
    import numpy

    info = {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "platform": platform.platform(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        info["torch"] = None
    import tapegrad

    info["tapegrad"] = tapegrad.__version__
    return info


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small data, fewer repetitions")
    p.add_argument("--json", metavar="PATH", help="write results as JSON to PATH")
    p.add_argument(
        "--reps", type=int, default=None, help="repetitions per library (default 3, quick 2)"
    )
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    p.add_argument("--only", default=None, help="comma-separated workload names")
    p.add_argument("--profile", metavar="WORKLOAD", help="per-op profile of tapegrad on WORKLOAD")
    p.add_argument(
        "--worker", nargs=4, metavar=("LIB", "WORKLOAD", "THREADS", "REPS"), help=argparse.SUPPRESS
    )
    args = p.parse_args(argv)

    if args.worker:
        lib, wl, th, reps = args.worker
        print(json.dumps(worker(lib, wl, int(th), args.quick, int(reps))))
        return 0
    if args.profile:
        from profile_ops import profile

        profile(args.profile, args.quick)
        return 0

    sys.path.insert(0, HERE)
    import workloads

    reps = args.reps or (2 if args.quick else 3)
    names = args.only.split(",") if args.only else list(workloads.WORKLOADS)
    thread_counts = [int(t) for t in args.threads.split(",")]
    plan = [(w, t) for t in thread_counts for w in names if t == 1 or (w, t) in workloads.TARGETS]
    info = versions()
    print(
        f"tapegrad {info['tapegrad']} vs torch {info['torch']}; numpy {info['numpy']}; "
        f"python {info['python']}; {info['machine']}"
    )
    print(
        f"{'workload':<18}{'thr':>4}{'tapegrad min/med s':>22}{'torch min/med s':>20}"
        f"{'ratio':>8}{'target':>8}{'mem tg/pt MB':>16}"
    )
    results = []
    for w, t in plan:
        tg, pt = [], []
        mem = {"tapegrad": 0.0, "torch": 0.0}
        for _ in range(reps):  # interleave the libraries
            for lib, acc in (("tapegrad", tg), ("torch", pt)):
                r = _spawn(lib, w, t, args.quick)
                acc.extend(r["times"])
                mem[lib] = max(mem[lib], r["extra_mb"])
        ratio = statistics.median(tg) / statistics.median(pt)
        target = workloads.TARGETS.get((w, t))
        row = {
            "workload": w,
            "threads": t,
            "tapegrad_min": min(tg),
            "tapegrad_median": statistics.median(tg),
            "torch_min": min(pt),
            "torch_median": statistics.median(pt),
            "ratio": ratio,
            "target": target,
            "met": None if target is None else ratio <= target,
            "tapegrad_peak_extra_mb": mem["tapegrad"],
            "torch_peak_extra_mb": mem["torch"],
        }
        results.append(row)
        tgt = f"{target:.2f}" if target else "-"
        print(
            f"{w:<18}{t:>4}{min(tg):>11.3f}/{statistics.median(tg):<10.3f}"
            f"{min(pt):>9.3f}/{statistics.median(pt):<10.3f}{ratio:>8.2f}{tgt:>8}"
            f"{mem['tapegrad']:>8.0f}/{mem['torch']:<7.0f}",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"info": info, "quick": args.quick, "reps": reps, "results": results}, f, indent=2
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

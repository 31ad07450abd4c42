"""Benchmarks: tapegrad side by side with PyTorch, interleaved, same thread counts.

    python bench/run.py                 # full suite, 1 and 2 threads
    python bench/run.py --quick         # short version
    python bench/run.py --json out.json # also write the results as JSON
    python bench/run.py --profile cnn_epoch   # where tapegrad's time goes, per op
    python bench/run.py --only cnn_epoch --threads 1 --markdown t.md   # one row, as Markdown
    python bench/run.py --render out.json    # the Markdown table of an earlier --json run

Every measurement runs in a fresh subprocess with the BLAS / intra-op thread
count set before the libraries load, so both libraries get the same threads
and their peak memory is measured separately. Repetitions alternate between the
two libraries; the table reports min and median seconds and the ratio of medians
(and the same ratio in CPU seconds, which other processes on a busy machine
disturb less than wall time at 1 thread).

Memory: "peak" is the peak RSS of the subprocess during the timed runs (the
high-water mark is reset after setup), so it includes the library itself and the
data; "work" is how far the timed runs raised the RSS above where it stood
before them (the workload's own working memory).
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


def _status_mb(key: str) -> float | None:
    """A memory line of /proc/self/status (VmRSS, VmHWM) in MB; None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the process's peak RSS (Linux clear_refs), so ru_maxrss covers the timed runs."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def worker(lib_name: str, workload: str, threads: int, quick: bool, reps: int) -> dict:
    """Run one workload ``reps`` times in this process and report times and memory.

    Short workloads get one untimed warm-up call. The peak RSS is reset after setup
    (data, model, warm-up), so ``peak_mb`` is the high-water mark of the timed runs:
    library, data and the workload's working memory; ``work_mb`` is its rise above the
    RSS right before them.
    """
    import resource

    sys.path.insert(0, HERE)
    import workloads

    if lib_name == "torch":
        import torch as lib
    else:
        import tapegrad as lib
    lib.set_num_threads(threads)
    run = workloads.WORKLOADS[workload](lib, quick)
    if workload not in workloads.NO_WARMUP:
        run()
    reset = _reset_peak()
    before = _status_mb("VmRSS")
    times, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    # VmHWM is the peak RSS of this address space since the reset; ru_maxrss also keeps
    # the peak seen when any thread exited (before the reset), so it is the fallback only.
    hwm = _status_mb("VmHWM") if reset else None
    peak = hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "times": times,
        "cpu": cpu,
        "peak_mb": peak,
        "work_mb": max(0.0, peak - before) if hwm is not None and before is not None else None,
        "threads": lib.get_num_threads(),
    }


def _spawn(lib_name, workload, threads, quick, reps=1) -> dict:
    cmd = [sys.executable, __file__, "--worker", lib_name, workload, str(threads), str(reps)]
    if quick:
        cmd.append("--quick")
    out = subprocess.run(cmd, env=_thread_env(threads), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{lib_name}/{workload} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _blas() -> str:
    import numpy

    try:
        cfg = numpy.show_config(mode="dicts")
        b = cfg["Build Dependencies"]["blas"]
        return f"{b.get('name')} {b.get('version', '')}".strip()
    except Exception:  # older NumPy: no dict mode
        return "unknown"


def versions() -> dict:
    import numpy

    info = {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "blas": _blas(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "cpu": _cpu_name(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_avg": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        info["torch"] = None
    import tapegrad

    info["tapegrad"] = tapegrad.__version__
    return info


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


HEADER = (
    f"{'workload':<17}{'thr':>4}{'tapegrad min/med s':>20}{'torch min/med s':>18}"
    f"{'ratio':>7}{'target':>7}{'':>5}{'cpu':>6}{'peak MB tg/pt':>15}{'work MB tg/pt':>15}"
)


def _fmt_row(r: dict) -> str:
    tgt = f"{r['target']:.2f}" if r["target"] else "-"
    ok = "" if r["met"] is None else ("ok" if r["met"] else "MISS")
    work = r["tapegrad_work_mb"], r["torch_work_mb"]
    work_s = "-" if None in work else f"{work[0]:.0f}/{work[1]:.0f}"
    return (
        f"{r['workload']:<17}{r['threads']:>4}"
        f"{r['tapegrad_min']:>10.3f}/{r['tapegrad_median']:<9.3f}"
        f"{r['torch_min']:>8.3f}/{r['torch_median']:<9.3f}"
        f"{r['ratio']:>7.2f}{tgt:>7}{ok:>5}{r['cpu_ratio']:>6.2f}"
        f"{r['tapegrad_peak_mb']:>8.0f}/{r['torch_peak_mb']:<6.0f}{work_s:>15}"
    )


def measure(workload: str, threads: int, quick: bool, reps: int) -> dict:
    """Interleave ``reps`` subprocess runs of each library; medians and peaks of both."""
    import workloads

    inner = workloads.INNER_REPS.get(workload, 1)
    acc = {lib: {"times": [], "cpu": [], "peak": 0.0, "work": 0.0, "thr": set()} for lib in LIBS}
    for _ in range(reps):  # interleave the libraries
        for lib in LIBS:
            r = _spawn(lib, workload, threads, quick, inner)
            a = acc[lib]
            a["times"].extend(r["times"])
            a["cpu"].extend(r["cpu"])
            a["peak"] = max(a["peak"], r["peak_mb"])
            a["work"] = None if r["work_mb"] is None else max(a["work"] or 0.0, r["work_mb"])
            a["thr"].add(r["threads"])
    tg, pt = acc["tapegrad"], acc["torch"]
    med = statistics.median
    target = workloads.TARGETS.get((workload, threads))
    ratio = med(tg["times"]) / med(pt["times"])
    mem_target = workloads.MEMORY_TARGETS.get((workload, threads))
    mem_ratio = tg["peak"] / pt["peak"]
    work_target = workloads.WORKING_MEMORY_TARGETS.get((workload, threads))
    work_ratio = None
    if tg["work"] is not None and pt["work"]:
        work_ratio = tg["work"] / pt["work"]
    return {
        "workload": workload,
        "threads": threads,
        "threads_seen": {lib: sorted(acc[lib]["thr"]) for lib in LIBS},
        "tapegrad_times": tg["times"],
        "torch_times": pt["times"],
        "tapegrad_min": min(tg["times"]),
        "tapegrad_median": med(tg["times"]),
        "torch_min": min(pt["times"]),
        "torch_median": med(pt["times"]),
        "ratio": ratio,
        "target": target,
        "met": None if target is None else ratio <= target,
        # CPU seconds are less disturbed by other processes than wall time (1 thread)
        "cpu_ratio": med(tg["cpu"]) / med(pt["cpu"]),
        "tapegrad_peak_mb": tg["peak"],
        "torch_peak_mb": pt["peak"],
        "tapegrad_work_mb": tg["work"],
        "torch_work_mb": pt["work"],
        "memory_ratio": mem_ratio,
        "memory_target": mem_target,
        "memory_met": None if mem_target is None else mem_ratio <= mem_target,
        "working_memory_ratio": work_ratio,
        "working_memory_target": work_target,
        "working_memory_met": (
            None if work_target is None or work_ratio is None else work_ratio <= work_target
        ),
    }


LIBS = ("tapegrad", "torch")


def markdown(data: dict) -> str:
    """The results of a run (the --json document) as a Markdown table for RESULTS.md."""
    info = data["info"]
    lines = [
        f"Measured {info['date']} on {info['cpu']} ({info['machine']}), load average "
        f"{info['load_avg'] or 0:.1f} at the start; {info['platform']}.",
        f"tapegrad {info['tapegrad']}, PyTorch {info['torch']}, NumPy {info['numpy']} "
        f"({info['blas']}), Python {info['python']}. "
        f"{data['reps']} interleaved subprocess runs per library"
        f"{', --quick (6,000 training / 2,000 test images)' if data['quick'] else ''}.",
        "",
        "| workload | threads | tapegrad min / median s | PyTorch min / median s | ratio "
        "| target | | CPU-time ratio | peak RSS MB tapegrad / PyTorch "
        "| working MB tapegrad / PyTorch |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in data["results"]:
        tgt = f"{r['target']:.2f}" if r["target"] else "-"
        ok = "" if r["met"] is None else ("met" if r["met"] else "**missed**")
        work = r["tapegrad_work_mb"], r["torch_work_mb"]
        work_s = "-" if None in work else f"{work[0]:.0f} / {work[1]:.0f}"
        lines.append(
            f"| {r['workload']} | {r['threads']} | {r['tapegrad_min']:.3f} / "
            f"{r['tapegrad_median']:.3f} | {r['torch_min']:.3f} / {r['torch_median']:.3f} | "
            f"{r['ratio']:.2f} | {tgt} | {ok} | {r['cpu_ratio']:.2f} | "
            f"{r['tapegrad_peak_mb']:.0f} / {r['torch_peak_mb']:.0f} | {work_s} |"
        )
    for r in data["results"]:
        if r["memory_target"] is not None:
            verdict = "met" if r["memory_met"] else "**missed**"
            lines.append(
                f"\nPeak memory, {r['workload']} ({r['threads']} thread): tapegrad / PyTorch "
                f"= {r['memory_ratio']:.2f} (target {r['memory_target']:.2f}, {verdict})."
            )
        if r.get("working_memory_target") is not None:
            ratio = r["working_memory_ratio"]
            verdict = "met" if r["working_memory_met"] else "**missed**"
            shown = "not measured" if ratio is None else f"{ratio:.2f}"
            lines.append(
                f"\nWorking memory, {r['workload']} ({r['threads']} thread): tapegrad / "
                f"PyTorch = {shown} (target {r['working_memory_target']:.2f}, {verdict})."
            )
    return "\n".join(lines) + "\n"


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
    p.add_argument("--markdown", metavar="PATH", help="write the table as Markdown to PATH")
    p.add_argument(
        "--render", metavar="JSON", help="print the Markdown table of an earlier --json file"
    )
    p.add_argument(
        "--worker", nargs=4, metavar=("LIB", "WORKLOAD", "THREADS", "REPS"), help=argparse.SUPPRESS
    )
    args = p.parse_args(argv)
    thread_counts = [int(t) for t in args.threads.split(",")]

    if args.worker:
        lib, wl, th, reps = args.worker
        print(json.dumps(worker(lib, wl, int(th), args.quick, int(reps))))
        return 0
    if args.render:
        with open(args.render) as f:
            print(markdown(json.load(f)), end="")
        return 0
    if args.profile:
        # BLAS reads its thread count when it loads: set it before NumPy is imported
        os.environ.update(_thread_env(thread_counts[0]))
    sys.path.insert(0, HERE)
    import workloads

    names = args.only.split(",") if args.only else list(workloads.WORKLOADS)
    for n in names + ([args.profile] if args.profile else []):
        if n not in workloads.WORKLOADS:
            p.error(f"unknown workload {n!r}; choose from {', '.join(workloads.WORKLOADS)}")
    if args.profile:
        from profile_ops import profile

        profile(args.profile, args.quick, thread_counts[0])
        return 0

    reps = args.reps or (2 if args.quick else 3)
    plan = [
        (w, t)
        for t in thread_counts
        for w in names
        if t == 1 or (w, t) in workloads.TARGETS or w in workloads.TWO_THREAD_ROWS
    ]
    info = versions()
    print(
        f"tapegrad {info['tapegrad']} vs torch {info['torch']}; numpy {info['numpy']} "
        f"({info['blas']}); python {info['python']}; {info['cpu']}, {info['machine']}; "
        f"{info['date']}; load average {info['load_avg'] or 0:.1f}"
    )
    print(
        f"threads: OMP/OPENBLAS/MKL_NUM_THREADS, torch.set_num_threads and "
        f"tapegrad.set_num_threads all set to 'thr'; {reps} interleaved subprocess runs per "
        f"library{' (quick)' if args.quick else ''}; ratio = median tapegrad / median torch; "
        "cpu = the same ratio in CPU seconds; peak = max RSS during the timed runs"
    )
    print(HEADER)
    results = []
    for w, t in plan:
        row = measure(w, t, args.quick, reps)
        results.append(row)
        print(_fmt_row(row), flush=True)
        for lib, seen in row["threads_seen"].items():
            if seen != [t]:
                print(f"  warning: {lib} reported {seen} threads, not {t}")
    for r in results:
        if r["memory_target"] is not None:
            verdict = "ok" if r["memory_met"] else "MISS"
            print(
                f"peak memory {r['workload']} ({r['threads']} thr): tapegrad/torch "
                f"{r['memory_ratio']:.2f} (target {r['memory_target']:.2f}) {verdict}"
            )
        if r.get("working_memory_ratio") is not None and r["working_memory_target"]:
            verdict = "ok" if r["working_memory_met"] else "MISS"
            print(
                f"working memory {r['workload']} ({r['threads']} thr): tapegrad/torch "
                f"{r['working_memory_ratio']:.2f} (target {r['working_memory_target']:.2f}) "
                f"{verdict}"
            )
    data = {"info": info, "quick": args.quick, "reps": reps, "results": results}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=2)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())

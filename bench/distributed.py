"""Data-parallel benchmark: tapegrad on N MPI processes (1 thread each) against PyTorch
in one process with N threads, interleaved, plus the scaling efficiency and a
projection to more processes from the measured communication time.

    python bench/distributed.py                    # seed CNN, MLP, ResNet-20; 3 reps
    python bench/distributed.py --quick            # 6,000 images, fewer batches
    python bench/distributed.py --json out.json --markdown out.md

Each measurement is a fresh subprocess (as in bench/run.py): PyTorch with
``torch.set_num_threads(N)``; tapegrad under ``mpiexec -n P`` with one BLAS / batch
thread per rank, DistributedDataParallel, each rank on 1/P of every batch of 100
(the global batch stays 100, so the training is the 1-process one). The scaling
efficiency is ``T(1 process) / (P * T(P processes))`` on the same total work. Its
ceiling on this machine is measured too: the same P parts of every batch trained by P
independent processes at once, with no MPI at all (no gradient exchange, no waiting),
``T(1 process) / (P * T(slowest of them))``: what the cores give when they all work.

The projection: an epoch on P processes takes ``steps * (t_compute(100 / P) +
t_allreduce(P))``. ``t_compute(b) = a + c * b`` is fitted to 1-process step times
at several per-rank batch sizes (the fixed part ``a``, Python and per-layer overhead,
does not shrink with P); ``t_allreduce`` follows the ring all-reduce,
``2 (P - 1) * alpha + 2 (P - 1) / P * bytes / bandwidth``, with latency ``alpha``
and bandwidth measured by 2-rank all-reduces of 8 bytes and of the model's gradient
bytes (here through shared memory; the cluster column assumes 10 Gb Ethernet).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import run as suite  # noqa: E402  (bench/run.py: versions, thread environment)
import workloads  # noqa: E402

BATCH = 100
# (model builder, image shape, images per epoch full / quick)
MODELS = {
    "cnn_epoch": (workloads.seed_cnn, (1, 28, 28), 60000, 6000),
    "mlp_epoch": (workloads.mlp, (1, 28, 28), 60000, 6000),
    "resnet20_steps": (workloads.resnet20_stack, (3, 32, 32), 1000, 300),
}
TARGETS = {"cnn_epoch": 0.85}  # tapegrad on 2 processes / PyTorch on 2 threads
EFFICIENCY_TARGET = 0.85
# A cluster link for the projection: 10 Gb Ethernet.
CLUSTER_BANDWIDTH = 1.25e9
CLUSTER_LATENCY = 20e-6


def _data(workload: str, quick: bool):
    """Fashion-MNIST when installed (as bench/run.py), else random images of its shape:
    the time of an epoch does not depend on the pixel values."""
    import numpy as np

    _, shape, full, small = MODELS[workload]
    n = small if quick else full
    if shape == (1, 28, 28):
        try:
            x, y, _, _ = workloads._fashion(quick)
            return x[:n], y[:n], "Fashion-MNIST"
        except FileNotFoundError:
            pass
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, *shape)).astype(np.float32)
    y = rng.integers(0, 10, n).astype(np.int64)
    return x, y, "random images (Fashion-MNIST not installed)"


def _epoch(lib, workload: str, quick: bool, rank: int = 0, world: int = 1, ddp=None):
    """The timed function: one epoch of SGD (lr 0.1, global batch 100) on this rank's
    part of each batch."""
    x_np, y_np, source = _data(workload, quick)
    lib.manual_seed(0)
    model = MODELS[workload][0](lib.nn)
    if ddp is not None:
        model = ddp(model)
    x, y = lib.from_numpy(x_np), lib.from_numpy(y_np)
    crit = lib.nn.CrossEntropyLoss()
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    part = BATCH // world

    def run():
        model.train()
        for b in range(0, x.shape[0], BATCH):
            lo = b + rank * part
            loss = crit(model(x[lo : lo + part]), y[lo : lo + part])
            opt.zero_grad()
            loss.backward()
            opt.step()
        return float(loss)

    return run, model, source


def torch_worker(workload: str, threads: int, quick: bool) -> dict:
    import torch

    torch.set_num_threads(threads)
    run, _, source = _epoch(torch, workload, quick)
    t0 = time.perf_counter()
    run()
    return {"seconds": time.perf_counter() - t0, "threads": torch.get_num_threads(), "data": source}


def solo_worker(workload: str, rank: int, world: int, quick: bool, sync: str) -> dict:
    """One of ``world`` independent processes (no MPI): this rank's part of every batch,
    timed from the moment all of them have finished their setup (a file per rank in
    ``sync``)."""
    import tapegrad

    cores = sorted(os.sched_getaffinity(0))
    if world <= len(cores):  # pinned as the MPI ranks are (launch.mpiexec_prefix)
        os.sched_setaffinity(0, {cores[rank]})
    run, _, _ = _epoch(tapegrad, workload, quick, rank, world)
    open(os.path.join(sync, str(rank)), "w").close()
    while len(os.listdir(sync)) < world:
        time.sleep(0.001)
    t0 = time.perf_counter()
    run()
    return {"seconds": time.perf_counter() - t0}


def run_solo(workload: str, nproc: int, quick: bool) -> float:
    """Seconds of the slowest of ``nproc`` independent processes run side by side."""
    import tempfile

    with tempfile.TemporaryDirectory() as sync:
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--solo-worker", workload, str(r), str(nproc), sync]
                + (["--quick"] if quick else []),
                env=suite._thread_env(1),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for r in range(nproc)
        ]
        outs = [p.communicate() for p in procs]
    for p, (_, err) in zip(procs, outs):
        if p.returncode != 0:
            raise RuntimeError(f"solo worker failed:\n{err[-3000:]}")
    return max(json.loads(out.strip().splitlines()[-1])["seconds"] for out, _ in outs)


def _step_times(tapegrad, workload: str, quick: bool) -> dict:
    """1-process seconds per step at per-rank batches 100, 50, 25, 12 (for the projection;
    the fastest of several steps)."""
    x_np, y_np, _ = _data(workload, quick)
    tapegrad.manual_seed(0)
    model = MODELS[workload][0](tapegrad.nn)
    crit = tapegrad.nn.CrossEntropyLoss()
    opt = tapegrad.optim.SGD(model.parameters(), lr=0.1)
    out = {}
    for b in (100, 50, 25, 12):
        x, y = tapegrad.from_numpy(x_np[:b]), tapegrad.from_numpy(y_np[:b])
        steps = 5 if quick else 15
        times = []
        for _ in range(steps + 1):
            t0 = time.perf_counter()
            loss = crit(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - t0)
        out[b] = min(times[1:])  # the least disturbed by other work on the machine
    return out


def mpi_worker(workload: str, quick: bool, profile: bool) -> None:
    """Runs on every rank under mpiexec; rank 0 prints the JSON result."""
    import numpy as np

    import tapegrad
    import tapegrad.distributed as dist

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    ddp = tapegrad.nn.parallel.DistributedDataParallel if world > 1 else None
    run, model, source = _epoch(tapegrad, workload, quick, rank, world, ddp)
    dist.barrier()
    t0, c0 = time.perf_counter(), time.process_time()
    run()
    seconds = time.perf_counter() - t0
    # CPU seconds of all ranks together: less disturbed by other work on the machine than
    # wall time (MPICH waits by polling, so waiting for a slower rank counts too).
    cpu = [None] * world
    dist.all_gather_object(cpu, time.process_time() - c0)
    result = {"seconds": seconds, "cpu_seconds": sum(cpu), "world": world, "data": source}
    grad_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    result["grad_bytes"] = grad_bytes
    if world > 1:
        # Blocking all-reduces of 8 bytes (latency) and of the gradients (bandwidth).
        comm = dist.GroupMember.WORLD.comm
        for name, size in (("allreduce_small_s", 1), ("allreduce_grads_s", grad_bytes // 4)):
            buf = np.ones(size, dtype=np.float32)
            times = []
            for _ in range(30):
                comm.Barrier()
                t = time.perf_counter()
                comm.Allreduce(dist.collectives._mpi.mpi().IN_PLACE, buf)
                times.append(time.perf_counter() - t)
            result[name] = min(times)
    elif profile:
        result["step_s"] = _step_times(tapegrad, workload, quick)
    if rank == 0:
        print(json.dumps(result), flush=True)


def _spawn(cmd: list[str], env: dict) -> dict:
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_torch(workload: str, threads: int, quick: bool) -> dict:
    cmd = [sys.executable, __file__, "--torch-worker", workload, str(threads)]
    return _spawn(cmd + (["--quick"] if quick else []), suite._thread_env(threads))


def run_mpi(workload: str, nproc: int, quick: bool, profile: bool = False) -> dict:
    from tapegrad.distributed import launch

    cmd = [*launch.mpiexec_prefix(nproc), sys.executable, __file__, "--mpi-worker"]
    cmd.append(workload)
    cmd += (["--quick"] if quick else []) + (["--profile"] if profile else [])
    return _spawn(cmd, suite._thread_env(1))


def project(one: dict, two: dict, steps: int) -> list[dict]:
    """Projected epoch seconds and efficiency for P processes, from the fitted compute
    time and the measured (shared-memory) or assumed (10 GbE) all-reduce cost."""
    import numpy as np

    sizes = np.array(sorted(one["step_s"]), dtype=float)
    secs = np.array([one["step_s"][k] for k in sorted(one["step_s"])])
    c, a = np.polyfit(sizes, secs, 1)
    if a < 0:  # noise made the fixed cost negative: fit time proportional to the batch
        a, c = 0.0, float(sizes @ secs / (sizes @ sizes))
    nbytes = two["grad_bytes"]
    alpha = two["allreduce_small_s"] / 2
    # P = 2: 2 alpha + bytes / bandwidth.
    bandwidth = nbytes / max(two["allreduce_grads_s"] - 2 * alpha, 1e-9)
    rows = []
    for p in (1, 2, 4, 8, 16, 32, 64):
        compute = a + c * BATCH / p
        entry = {"P": p, "compute_s": compute}
        for name, lat, bw in (
            ("local", alpha, bandwidth),
            ("cluster", CLUSTER_LATENCY, CLUSTER_BANDWIDTH),
        ):
            comm = 0.0 if p == 1 else 2 * (p - 1) * lat + 2 * (p - 1) / p * nbytes / bw
            step = compute + comm
            entry[f"{name}_comm_s"] = comm
            entry[f"{name}_epoch_s"] = steps * step
            entry[f"{name}_efficiency"] = (a + c * BATCH) / (p * step)
        rows.append(entry)
    return [
        {"fit": {"a_s": a, "c_s_per_image": c, "alpha_s": alpha, "bandwidth": bandwidth}}
    ] + rows


def measure(workload: str, nproc: int, quick: bool, reps: int) -> dict:
    """Interleaved: PyTorch with ``nproc`` threads, tapegrad on ``nproc`` processes and
    on 1 process."""
    acc: dict = {"torch": [], "mpi": [], "one": [], "mpi_cpu": [], "one_cpu": [], "solo": []}
    extra: dict = {}
    for i in range(reps):
        acc["torch"].append(run_torch(workload, nproc, quick)["seconds"])
        r = run_mpi(workload, nproc, quick)
        acc["mpi"].append(r["seconds"])
        acc["mpi_cpu"].append(r["cpu_seconds"])
        extra.update({k: v for k, v in r.items() if k not in ("seconds", "cpu_seconds")})
        one = run_mpi(workload, 1, quick, profile=(i == 0))
        acc["one"].append(one["seconds"])
        acc["one_cpu"].append(one["cpu_seconds"])
        if "step_s" in one:
            extra["step_s_1proc"] = one["step_s"]
        acc["solo"].append(run_solo(workload, nproc, quick))
    med = statistics.median
    ratio = med(acc["mpi"]) / med(acc["torch"])
    efficiency = med(acc["one"]) / (nproc * med(acc["mpi"]))
    target = TARGETS.get(workload)
    result = {
        "workload": workload,
        "nproc": nproc,
        "tapegrad_mpi_times": acc["mpi"],
        "tapegrad_1proc_times": acc["one"],
        "torch_times": acc["torch"],
        "ratio": ratio,
        "target": target,
        "met": None if target is None else ratio <= target,
        "efficiency": efficiency,
        "efficiency_met": efficiency >= EFFICIENCY_TARGET,
        # The same from CPU seconds: 1-process CPU time over all ranks' CPU time.
        "cpu_efficiency": med(acc["one_cpu"]) / med(acc["mpi_cpu"]),
        # The ceiling: P independent processes, no communication (see the docstring).
        "tapegrad_solo_times": acc["solo"],
        "ceiling_efficiency": med(acc["one"]) / (nproc * med(acc["solo"])),
        **extra,
    }
    n = MODELS[workload][3 if quick else 2]
    if "step_s_1proc" in extra and nproc == 2:
        result["projection"] = project({"step_s": extra["step_s_1proc"]}, extra, n // BATCH)
    return result


def markdown(data: dict) -> str:
    info = data["info"]
    med = statistics.median
    lines = [
        f"Measured {info['date']} on {info['cpu']} ({info['machine']}), load average "
        f"{info['load_avg'] or 0:.1f} at the start; "
        f"tapegrad {info['tapegrad']}, PyTorch {info['torch']}, NumPy {info['numpy']}, "
        f"MPICH from pip. {data['reps']} interleaved runs"
        f"{', --quick' if data['quick'] else ''}; data: {data['results'][0].get('data', '?')}.",
        "",
        "| workload | processes / threads | tapegrad on P processes, min / median s "
        "| PyTorch, P threads, min / median s | ratio | target | tapegrad 1 process, median s "
        "| scaling efficiency (target 0.85) | efficiency from CPU seconds "
        "| ceiling: P processes without MPI |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in data["results"]:
        tgt = (
            "-"
            if r["target"] is None
            else f"{r['target']:.2f} {'met' if r['met'] else '**missed**'}"
        )
        eff = f"{r['efficiency']:.2f} {'met' if r['efficiency_met'] else '**missed**'}"
        cpu_eff = f"{r['cpu_efficiency']:.2f}" if "cpu_efficiency" in r else "-"
        ceiling = f"{r['ceiling_efficiency']:.2f}" if "ceiling_efficiency" in r else "-"
        lines.append(
            f"| {r['workload']} | {r['nproc']} | {min(r['tapegrad_mpi_times']):.2f} / "
            f"{med(r['tapegrad_mpi_times']):.2f} | {min(r['torch_times']):.2f} / "
            f"{med(r['torch_times']):.2f} | {r['ratio']:.2f} | {tgt} | "
            f"{med(r['tapegrad_1proc_times']):.2f} | {eff} | {cpu_eff} | {ceiling} |"
        )
    for r in data["results"]:
        if "projection" not in r:
            continue
        fit, rows = r["projection"][0]["fit"], r["projection"][1:]
        lines += [
            "",
            f"Projection for {r['workload']} (global batch {BATCH}): "
            f"{r['grad_bytes'] / 1e6:.2f} MB of gradients all-reduced per step; compute per "
            f"step {fit['a_s'] * 1e3:.1f} ms + "
            f"{fit['c_s_per_image'] * 1e3:.3f} ms per image; measured 2-rank latency "
            f"{fit['alpha_s'] * 1e6:.0f} µs and bandwidth {fit['bandwidth'] / 1e9:.2f} GB/s "
            "(shared memory); cluster column: 10 GbE (20 µs, 1.25 GB/s).",
            "",
            "| P | compute ms/step | all-reduce ms/step (local / 10 GbE) "
            "| epoch s (local / 10 GbE) | efficiency (local / 10 GbE) |",
            "|---:|---:|---:|---:|---:|",
        ]
        for e in rows:
            lines.append(
                f"| {e['P']} | {e['compute_s'] * 1e3:.1f} | {e['local_comm_s'] * 1e3:.2f} / "
                f"{e['cluster_comm_s'] * 1e3:.2f} | {e['local_epoch_s']:.1f} / "
                f"{e['cluster_epoch_s']:.1f} | {e['local_efficiency']:.2f} / "
                f"{e['cluster_efficiency']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--nproc", type=int, default=2)
    p.add_argument("--only", help="comma-separated workloads: " + ", ".join(MODELS))
    p.add_argument("--json")
    p.add_argument("--markdown")
    p.add_argument("--torch-worker", nargs=2, metavar=("WORKLOAD", "THREADS"))
    p.add_argument("--mpi-worker", metavar="WORKLOAD")
    p.add_argument("--solo-worker", nargs=4, metavar=("WORKLOAD", "RANK", "WORLD", "SYNC"))
    p.add_argument("--profile", action="store_true")
    args = p.parse_args(argv)
    if args.torch_worker:
        print(json.dumps(torch_worker(args.torch_worker[0], int(args.torch_worker[1]), args.quick)))
        return 0
    if args.solo_worker:
        workload, rank, world, sync = args.solo_worker
        print(json.dumps(solo_worker(workload, int(rank), int(world), args.quick, sync)))
        return 0
    if args.mpi_worker:
        mpi_worker(args.mpi_worker, args.quick, args.profile)
        return 0
    names = args.only.split(",") if args.only else list(MODELS)
    for n in names:
        if n not in MODELS:
            p.error(f"unknown workload {n!r}; choose from {', '.join(MODELS)}")
    data = {"info": suite.versions(), "quick": args.quick, "reps": args.reps, "results": []}
    for name in names:
        r = measure(name, args.nproc, args.quick, args.reps)
        data["results"].append(r)
        print(
            f"{name:<15} P={args.nproc}"
            f"  tapegrad {statistics.median(r['tapegrad_mpi_times']):.2f} s"
            f"  torch {statistics.median(r['torch_times']):.2f} s  ratio {r['ratio']:.2f}"
            f"  efficiency {r['efficiency']:.2f} (ceiling {r['ceiling_efficiency']:.2f})",
            flush=True,
        )
    data["info"]["load_avg_end"] = os.getloadavg()[0]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)
    text = markdown(data)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

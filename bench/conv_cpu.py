"""CPU-time comparison of convolution layers and whole steps, tapegrad vs PyTorch, 1 thread.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python bench/conv_cpu.py [--reps N] [--only NAME]

Each case runs forward + backward (input and weight gradients) of one layer with the
exact shapes of the seed CNN and ResNet-20, or a whole training step; tapegrad and
PyTorch alternate in the same process and ``time.process_time`` (CPU seconds) is
reported as best and median of N, with the ratio of medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# (name, x shape, cout, kernel, stride, padding, x needs grad, inner repetitions)
LAYERS = [
    ("cnn.conv1", (100, 1, 28, 28), 32, 5, 1, 0, False, 5),
    ("cnn.conv2", (100, 32, 8, 8), 64, 5, 1, 0, True, 5),
    ("r20.conv3x3_16x32", (64, 16, 32, 32), 16, 3, 1, 1, True, 2),
    ("r20.conv3x3_32x16", (64, 32, 16, 16), 32, 3, 1, 1, True, 3),
    ("r20.conv3x3_64x8", (64, 64, 8, 8), 64, 3, 1, 1, True, 5),
    ("r20.conv3x3_s2_16to32", (64, 16, 32, 32), 32, 3, 2, 1, True, 3),
    ("r20.conv3x3_s2_32to64", (64, 32, 16, 16), 64, 3, 2, 1, True, 5),
    ("r20.stem", (64, 3, 32, 32), 16, 3, 1, 1, False, 3),
]


def layer_case(lib, shape, cout, k, s, p, xgrad, inner):
    rng = np.random.default_rng(0)
    x = lib.from_numpy(rng.standard_normal(shape).astype(np.float32))
    x.requires_grad_(xgrad)
    w = lib.from_numpy((rng.standard_normal((cout, shape[1], k, k)) * 0.1).astype(np.float32))
    w.requires_grad_(True)
    gy = None

    def run():
        nonlocal gy
        for _ in range(inner):
            y = lib.nn.functional.conv2d(x, w, None, s, p)
            if gy is None:
                gy = lib.from_numpy(rng.standard_normal(tuple(y.shape)).astype(np.float32))
            y.backward(gy)
            w.grad = None
            x.grad = None

    return run


def cnn_steps(lib):
    """10 seed-CNN training steps at batch 100 on fixed random images."""
    import workloads

    lib.manual_seed(0)
    model = workloads.seed_cnn(lib.nn)
    rng = np.random.default_rng(0)
    x = lib.from_numpy(rng.standard_normal((100, 1, 28, 28)).astype(np.float32))
    y = lib.from_numpy(rng.integers(0, 10, 100).astype(np.int64))
    crit = lib.nn.CrossEntropyLoss()
    opt = lib.optim.SGD(model.parameters(), lr=0.01)

    def run():
        for _ in range(10):
            loss = crit(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

    return run


def step_case(lib, workload):
    import workloads

    if workload == "cnn_steps":
        return cnn_steps(lib)
    return getattr(workloads, workload)(lib, True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--only", default="")
    ap.add_argument("--steps", action="store_true", help="also whole workloads")
    args = ap.parse_args()
    import torch

    import tapegrad

    torch.set_num_threads(1)
    tapegrad.set_num_threads(1)
    cases = []
    for name, *spec in LAYERS:
        cases.append((name, lambda lib, spec=spec: layer_case(lib, *spec)))
    if args.steps:
        for wl in ("cnn_steps", "resnet20_train"):
            cases.append((wl, lambda lib, wl=wl: step_case(lib, wl)))
    for name, make in cases:
        if args.only and args.only not in name:
            continue
        runs = {"tapegrad": make(tapegrad), "torch": make(torch)}
        times = {k: [] for k in runs}
        for r in runs.values():
            r()
        for _ in range(args.reps):
            for k, r in runs.items():
                t0 = time.process_time()
                r()
                times[k].append(time.process_time() - t0)
        mt, mp = statistics.median(times["tapegrad"]), statistics.median(times["torch"])
        print(
            f"{name:26s} tapegrad {min(times['tapegrad']) * 1e3:8.1f} / {mt * 1e3:8.1f} ms"
            f"  torch {min(times['torch']) * 1e3:8.1f} / {mp * 1e3:8.1f} ms"
            f"  ratio {mt / mp:5.2f} (min {min(times['tapegrad']) / min(times['torch']):5.2f})",
            flush=True,
        )


if __name__ == "__main__":
    main()

"""Train the seed CNN on Fashion-MNIST with tapegrad and with PyTorch, same seed, and compare.

    python bench/train_parity.py --epochs 10        # the main job, both libraries
    python bench/train_parity.py --epochs 1 --quick # a 6,000-image smoke run

Both libraries start from the same weights (tapegrad's generator reproduces PyTorch's
uniform stream, so ``manual_seed`` gives the same default initialisation) and see the same
batches in the same order (``randperm`` matches too). The script prints, per library, the
test error after each epoch and the training time, then the difference in percentage points.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import workloads  # noqa: E402


def train(lib, epochs: int, quick: bool, lr: float, batch_size: int, seed: int) -> dict:
    """Train with ``lib`` (torch or tapegrad); return test errors per epoch and seconds."""
    xtr, ytr, xte, yte = workloads._fashion(quick)
    lib.manual_seed(seed)
    model = workloads.seed_cnn(lib.nn)
    crit = lib.nn.CrossEntropyLoss()
    opt = lib.optim.SGD(model.parameters(), lr=lr)
    x, y = lib.from_numpy(xtr), lib.from_numpy(ytr)
    xt, yt = lib.from_numpy(xte), lib.from_numpy(yte)
    errors, seconds = [], 0.0
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        perm = lib.randperm(x.shape[0])
        for b in range(0, x.shape[0], batch_size):
            idx = perm[b : b + batch_size]
            loss = crit(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        seconds += time.perf_counter() - t0
        model.eval()
        wrong = 0
        with lib.no_grad():
            for b in range(0, xt.shape[0], 1000):
                wrong += int((model(xt[b : b + 1000]).argmax(1) != yt[b : b + 1000]).sum())
        errors.append(100.0 * wrong / xt.shape[0])
        print(f"  {lib.__name__:<9} epoch {len(errors)}: test error {errors[-1]:.2f}%", flush=True)
    return {"test_error": errors, "train_seconds": seconds}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="6,000 training, 2,000 test images")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = p.parse_args(argv)

    import torch

    import tapegrad

    torch.set_num_threads(args.threads)
    tapegrad.set_num_threads(args.threads)
    results = {}
    for lib in (tapegrad, torch):
        results[lib.__name__] = train(
            lib, args.epochs, args.quick, args.lr, args.batch_size, args.seed
        )
    tg, pt = results["tapegrad"], results["torch"]
    diff = tg["test_error"][-1] - pt["test_error"][-1]
    print(
        f"test error after {args.epochs} epochs: tapegrad {tg['test_error'][-1]:.2f}%, "
        f"torch {pt['test_error'][-1]:.2f}% (difference {diff:+.2f} points); "
        f"train time tapegrad {tg['train_seconds']:.1f} s, torch {pt['train_seconds']:.1f} s"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), **results}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

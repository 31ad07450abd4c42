"""Other programs of the shapes issue 13 names, against PyTorch.

Issue 13's targets must hold "when re-measured independently with other programs of the
same shape": these are variants of the bench rows (batch_first, Adam/AdamW, other
hidden sizes, dropout between layers, bidirectional GRU, pre-norm GELU encoder, ResNet-20
at batch 128 with Adam and label smoothing, a different mix of small ops). Each program
runs a few training steps, 1 thread.

Each library runs each program in a fresh process of its own, as a user runs it (and as
bench/run.py measures): the median of 4 timed runs after a warm-up, in process CPU
seconds, then the median over ``--reps`` such processes per library, the two libraries'
processes alternating. (Running both libraries in one process flatters PyTorch: its large
allocations then reuse the heap that NumPy's frees left, instead of faulting in fresh
pages; ResNet-20 at batch 128 took 1,134 ms in a shared process against 1,250-1,400 ms in
its own, with about 106,000 page faults per two steps.) ``--in-process`` measures the old
way, both libraries alternating in this process.

    python bench/variants.py            # all programs
    python bench/variants.py LSTM GRU   # the programs whose name contains LSTM or GRU
    python bench/variants.py --reps 5 ResNet
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import numpy as np  # noqa: E402
import workloads as W  # noqa: E402

rng0 = np.random.default_rng(0)


def lstm_lm(
    lib,
    bf=False,
    hidden=256,
    layers=2,
    opt="sgd",
    cell="LSTM",
    dropout=0.0,
    V=1000,
    T=35,
    B=32,
    E=64,
    steps=3,
):
    lib.manual_seed(0)
    nn = lib.nn

    class LM(nn.Module):
        def __init__(s):
            super().__init__()
            s.emb = nn.Embedding(V, E)
            s.rnn = getattr(nn, cell)(E, hidden, layers, batch_first=bf, dropout=dropout)
            s.out = nn.Linear(hidden, V)

        def forward(s, x):
            h, _ = s.rnn(s.emb(x))
            return s.out(h)

    m = LM()
    shape = (B, T) if bf else (T, B)
    x = lib.from_numpy(rng0.integers(0, V, shape).astype(np.int64))
    y = lib.from_numpy(rng0.integers(0, V, shape).astype(np.int64))
    o = (
        lib.optim.Adam(m.parameters(), 1e-3)
        if opt == "adam"
        else lib.optim.SGD(m.parameters(), 0.1)
    )
    crit = nn.CrossEntropyLoss()

    def run():
        for _ in range(steps):
            o.zero_grad()
            loss = crit(m(x).reshape(-1, V), y.reshape(-1))
            loss.backward()
            nn.utils.clip_grad_norm_(m.parameters(), 0.25)
            o.step()

    return run


def gru_bi(lib, steps=3):
    lib.manual_seed(0)
    nn = lib.nn
    rnn = nn.GRU(64, 128, 2, bidirectional=True, batch_first=True)
    head = nn.Linear(256, 5)
    ps = list(rnn.parameters()) + list(head.parameters())
    o = lib.optim.Adam(ps, 1e-3)
    x = lib.from_numpy(rng0.standard_normal((32, 50, 64)).astype(np.float32))
    y = lib.from_numpy(rng0.integers(0, 5, 32).astype(np.int64))

    def run():
        for _ in range(steps):
            o.zero_grad()
            h, _ = rnn(x)
            loss = nn.functional.cross_entropy(head(h[:, -1]), y)
            loss.backward()
            o.step()

    return run


def enc_train(lib, bf=True, norm_first=True, act="gelu", steps=3):
    lib.manual_seed(0)
    nn = lib.nn
    layer = nn.TransformerEncoderLayer(
        128, 4, 512, dropout=0.1, activation=act, batch_first=bf, norm_first=norm_first
    )
    m = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    head = nn.Linear(128, 10)
    ps = list(m.parameters()) + list(head.parameters())
    o = lib.optim.AdamW(ps, 1e-3)
    shape = (32, 64, 128) if bf else (64, 32, 128)
    x = lib.from_numpy(rng0.standard_normal(shape).astype(np.float32))
    y = lib.from_numpy(rng0.integers(0, 10, 32).astype(np.int64))

    def run():
        for _ in range(steps):
            o.zero_grad()
            h = m(x)
            h = h.mean(1 if bf else 0)
            loss = nn.functional.cross_entropy(head(h), y)
            loss.backward()
            o.step()

    return run


def resnet(lib, batch=128, steps=2):
    lib.manual_seed(0)
    m = W.resnet20_stack(lib.nn)
    x = lib.from_numpy(rng0.standard_normal((batch, 3, 32, 32)).astype(np.float32))
    y = lib.from_numpy(rng0.integers(0, 10, batch).astype(np.int64))
    o = lib.optim.Adam(m.parameters(), 1e-3, weight_decay=1e-4)
    crit = lib.nn.CrossEntropyLoss(label_smoothing=0.1)

    def run():
        for _ in range(steps):
            o.zero_grad()
            loss = crit(m(x), y)
            loss.backward()
            o.step()

    return run


def small_ops(lib, reps=100):
    lib.manual_seed(0)
    x = lib.randn(8, 8, requires_grad=True)
    w = lib.randn(8, 8, requires_grad=True)

    def run():
        y = x
        for _ in range(reps):
            y = (y @ w).sigmoid() - y.mean(0, keepdim=True) + y.exp().clamp(max=2.0) * 0.1
            y = y.transpose(0, 1).contiguous().view(8, 8)
        y.pow(2).sum().backward()
        x.grad = w.grad = None

    return run


cases = {
    "LSTM bf=True Adam": lambda lib: lstm_lm(lib, bf=True, opt="adam"),
    "LSTM 1x512": lambda lib: lstm_lm(lib, hidden=512, layers=1),
    "LSTM dropout 0.2 h128": lambda lib: lstm_lm(lib, hidden=128, dropout=0.2),
    "GRU LM bf": lambda lib: lstm_lm(lib, bf=True, cell="GRU"),
    "GRU bidir clf": gru_bi,
    "Encoder bf norm_first gelu": enc_train,
    "Encoder seq-first relu post-norm": lambda lib: enc_train(
        lib, bf=False, norm_first=False, act="relu"
    ),
    "ResNet20 b128 Adam ls": resnet,
    "small ops variant": small_ops,
}


def _library(name: str):
    if name == "torch":
        import torch as lib
    else:
        import tapegrad as lib
    lib.set_num_threads(1)
    return lib


def _timed(run, runs: int = 4) -> float:
    """Median CPU seconds of ``runs`` calls after a warm-up call."""
    times = []
    for _ in range(runs + 1):
        a = time.process_time()
        run()
        times.append(time.process_time() - a)
    return statistics.median(times[1:])


def _in_own_process(name: str, lib: str) -> float:
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--worker", name, lib],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="run the programs whose name contains one of these")
    p.add_argument("--reps", type=int, default=3, help="processes per library (default 3)")
    p.add_argument("--in-process", action="store_true", help="both libraries in this process")
    p.add_argument("--worker", nargs=2, metavar=("NAME", "LIB"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        name, lib = args.worker
        print(json.dumps(_timed(cases[name](_library(lib)))))
        return
    for name, mk in cases.items():
        if args.names and not any(o in name for o in args.names):
            continue
        if args.in_process:
            fs = {lib: mk(_library(lib)) for lib in ("tapegrad", "torch")}
            r = {lib: [] for lib in fs}
            for _ in range(5):
                for lib, f in fs.items():
                    r[lib].append(_timed(f, 1))
            tg, pt = np.median(r["tapegrad"][1:]), np.median(r["torch"][1:])
        else:
            r = {"tapegrad": [], "torch": []}
            for _ in range(args.reps):
                for lib in r:
                    r[lib].append(_in_own_process(name, lib))
            tg, pt = statistics.median(r["tapegrad"]), statistics.median(r["torch"])
        line = f"{name:34s} tg {tg * 1e3:8.1f} ms pt {pt * 1e3:8.1f} ms ratio {tg / pt:.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()

"""Other programs of the shapes issue 13 names, against PyTorch, in one process.

Issue 13's targets must hold "when re-measured independently with other programs of the
same shape": these are variants of the bench rows (batch_first, Adam/AdamW, other
hidden sizes, dropout between layers, bidirectional GRU, pre-norm GELU encoder, ResNet-20
at batch 128 with Adam and label smoothing, a different mix of small ops). Each program
runs a few training steps; tapegrad and PyTorch alternate, 1 thread each, and the table
gives the median of 4 timed runs after a warm-up, in process CPU seconds.

    python bench/variants.py            # all programs
    python bench/variants.py LSTM GRU   # the programs whose name contains LSTM or GRU
"""

import os
import sys
import time

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402
import workloads as W  # noqa: E402

import tapegrad  # noqa: E402

torch.set_num_threads(1)
tapegrad.set_num_threads(1)
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
only = sys.argv[1:]
for name, mk in cases.items():
    if only and not any(o in name for o in only):
        continue
    fs = {"tg": mk(tapegrad), "pt": mk(torch)}
    r = {k: [] for k in fs}
    for _ in range(5):
        for k, f in fs.items():
            a = time.process_time()
            f()
            r[k].append(time.process_time() - a)
    tg, pt = np.median(r["tg"][1:]), np.median(r["pt"][1:])
    print(f"{name:34s} tg {tg * 1e3:8.1f} ms pt {pt * 1e3:8.1f} ms ratio {tg / pt:.2f}", flush=True)

"""Run every example's ``--fast`` setting in-process and check its figure and what it
claims (the shapes of the seeds' curves)."""

from __future__ import annotations

import json
import pickle
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

pytest.importorskip("matplotlib")


@pytest.fixture(autouse=True)
def _examples_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))


def run_example(name, tmp_path, capsys, monkeypatch, *extra):
    """Run ``examples/name.py --fast --out tmp_path`` as ``__main__``; return its printed
    text and its summary line's values."""
    import tapegrad

    monkeypatch.setattr(sys, "argv", [f"{name}.py", "--fast", "--out", str(tmp_path), *extra])
    default_dtype = tapegrad.get_default_dtype()
    try:
        runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    finally:
        tapegrad.set_default_dtype(default_dtype)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("summary: ")]
    summary = json.loads(lines[-1][len("summary: ") :]) if lines else None
    return out, summary


def assert_png(path: Path) -> None:
    assert path.is_file(), f"{path} was not written"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5000  # something drawn, not an empty canvas


def test_every_example_is_tested_and_listed_in_the_readme():
    names = {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_")}
    tested = {n[len("test_") :] for n in globals() if n.startswith("test_")}
    assert names <= tested, f"examples without a test: {sorted(names - tested)}"
    readme = (EXAMPLES / "README.md").read_text()
    for name in names:
        assert f"python examples/{name}.py" in readme


def test_tensor_basics(tmp_path, capsys, monkeypatch):
    import tensor_basics
    import torch as pt

    import tapegrad

    out, _ = run_example("tensor_basics", tmp_path, capsys, monkeypatch)
    assert ">>> x.fill_(1.125)" in out
    assert_png(tmp_path / "tensor_broadcasting.png")
    # The seed's session prints the same text with tapegrad and with PyTorch.
    for text in tensor_basics.SESSIONS.values():
        ours, theirs = [], []
        tensor_basics.run_session(text, tapegrad, ours.append)
        tensor_basics.run_session(text, pt, theirs.append)
        assert ours == theirs


def test_autograd_basics(tmp_path, capsys, monkeypatch):
    _, s = run_example("autograd_basics", tmp_path, capsys, monkeypatch)
    assert s["grads_ok"] is True
    assert_png(tmp_path / "autograd_graph.png")


def test_linear_regression(tmp_path, capsys, monkeypatch):
    _, s = run_example("linear_regression", tmp_path, capsys, monkeypatch)
    data = np.loadtxt(EXAMPLES / "data" / "systolic-blood-pressure-vs-age.dat")
    a, b = np.polyfit(data[:, 0], data[:, 1], 1)
    assert s["a"] == pytest.approx(a, rel=1e-4) and s["b"] == pytest.approx(b, rel=1e-4)
    assert s["n"] == len(data)
    assert_png(tmp_path / "linear_regression.png")


def test_polynomial_fit(tmp_path, capsys, monkeypatch):
    _, s = run_example("polynomial_fit", tmp_path, capsys, monkeypatch)
    train, test = s["train_error"], s["test_error"]
    assert len(train) == len(test) == 10
    # The training error keeps falling with the degree (nested least-squares problems)...
    assert all(b <= a * (1 + 1e-6) for a, b in zip(train, train[1:]))
    # ...while the test error falls, then rises: its minimum is in between.
    best = int(np.argmin(test))
    assert 0 < best < 9 and test[9] > 1.2 * test[best] and test[0] > test[best]
    # The ridge penalty keeps the high degrees from over-fitting.
    assert s["ridge_test_error"][9] < test[9]
    assert_png(tmp_path / "polynomial_fit.png")


def test_knn(tmp_path, capsys, monkeypatch):
    _, s = run_example("knn", tmp_path, capsys, monkeypatch)
    ks, train, test = s["ks"], s["train_error"], s["test_error"]
    assert ks[0] == 1 and train[0] == 0.0  # K = 1 memorises the training set
    assert ks[0] < s["best_k"] < ks[-1]  # over-fitting at K = 1, under-fitting at K = N
    assert min(test) < test[0] and min(test) < test[-1]
    assert_png(tmp_path / "knn.png")


def test_perceptron_mnist(tmp_path, capsys, monkeypatch):
    _, s = run_example("perceptron_mnist", tmp_path, capsys, monkeypatch)
    assert s["nb_features"][0] == 784 and s["nb_features"][1] > 784
    # More features, more capacity: a lower training error.
    assert s["train_error"][-1] <= s["train_error"][0]
    assert all(0 <= e < 0.5 for e in s["test_error"])
    assert_png(tmp_path / "perceptron_mnist.png")


def test_logistic_regression(tmp_path, capsys, monkeypatch):
    _, s = run_example("logistic_regression", tmp_path, capsys, monkeypatch)
    assert s["steps"][0] == 0
    losses = s["losses"]
    assert all(b < a for a, b in zip(losses, losses[1:]))
    assert s["errors"][-1] < s["errors"][0]
    assert s["autograd_gap"] < 1e-4  # hand-written and autograd gradients agree
    assert_png(tmp_path / "logistic_regression.png")


def test_mlp_xor_spiral(tmp_path, capsys, monkeypatch):
    _, s = run_example("mlp_xor_spiral", tmp_path, capsys, monkeypatch)
    assert s["xor_error"] < 0.1  # a linear model cannot do better than 1/4 or so
    assert s["spiral_error"] < 0.4
    assert_png(tmp_path / "mlp_xor_spiral.png")


def test_gradient_descent(tmp_path, capsys, monkeypatch):
    _, s = run_example("gradient_descent", tmp_path, capsys, monkeypatch)
    final = s["final_loss"]
    start = 4.5**2 / 10 + 2 * 1.5**2

    def by_prefix(prefix):
        return next(v for k, v in final.items() if k.startswith(prefix))

    slow, good, big = by_prefix("too small"), by_prefix("good"), by_prefix("too large")
    assert good < slow < start < big  # converges well, slowly, diverges
    for name in ("SGD", "Momentum", "Nesterov", "Adagrad", "Adadelta", "RMSprop", "Adam"):
        assert final[name] < 0.1 * start, name
    assert_png(tmp_path / "gd_learning_rates.png")
    assert_png(tmp_path / "optimizers.png")


def test_regularization(tmp_path, capsys, monkeypatch):
    _, s = run_example("regularization", tmp_path, capsys, monkeypatch)
    r = s["results"]
    assert set(r) == {"none", "weight decay 1.0", "L1 3e-4", "dropout 0.5"}
    assert r["none"]["train"] < r["none"]["val"]  # a generalisation gap
    assert 1 <= s["early_stopping_step"] <= s["steps"]
    assert r["none"]["best_val"] <= r["none"]["val"]
    assert_png(tmp_path / "regularization.png")


def test_cnn_mnist(tmp_path, capsys, monkeypatch):
    _, s = run_example("cnn_mnist", tmp_path, capsys, monkeypatch)
    runs = s["runs"]
    assert runs["runs"] == 2 and runs["worst"] >= runs["median"] >= runs["best"]
    assert set(s["test_error"]) == {"seed CNN", "LeNet-5"}
    for errors in s["test_error"].values():
        assert all(0 <= e <= 1 for e in errors)
    assert_png(tmp_path / "cnn_mnist.png")


def fake_cifar(root: Path, n: int = 8) -> None:
    """CIFAR-10's python batches, with ``n`` random images each."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"labels": rng.integers(0, 10, n).tolist(),
        }
        (folder / name).write_bytes(pickle.dumps(batch))
    meta = {b"label_names": [f"class{i}".encode() for i in range(10)]}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))


def test_resnet_cifar(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TAPEGRAD_DATA", raising=False)
    empty = tmp_path / "empty"
    out, s = run_example("resnet_cifar", tmp_path, capsys, monkeypatch, "--data-dir", str(empty))
    if s["data"]:  # CIFAR-10 found under /usr/share/datasets: it trained.
        assert_png(tmp_path / "resnet_cifar.png")
        return
    assert "CIFAR-10 is not available" in out and "download=True" in out
    assert not (tmp_path / "resnet_cifar.png").exists()
    # With (fake) data on disk it trains and draws its curves.
    fake_cifar(tmp_path / "cifar")
    _, s = run_example(
        "resnet_cifar",
        tmp_path,
        capsys,
        monkeypatch,
        "--data-dir",
        str(tmp_path / "cifar"),
        "--train",
        "8",
    )
    assert s["data"] is True and len(s["test_error"]) == 1
    assert_png(tmp_path / "resnet_cifar.png")


def test_synthetic_digits_are_learnable():
    import _common

    import tapegrad
    from tapegrad.classic import knn_predict

    gen = tapegrad.Generator().manual_seed(0)
    x, y = _common.synthetic_digits(600, gen)
    assert x.shape == (600, 1, 28, 28) and x.dtype == tapegrad.float32
    assert y.dtype == tapegrad.int64 and set(y.tolist()) == set(range(10))
    assert float(x.min()) >= 0 and float(x.max()) <= 1
    # Ten distinct, learnable classes: 1-NN on 500 of them is far better than chance (90%).
    flat = x.view(600, -1)
    pred = knn_predict(flat[:500], y[:500], flat[500:], 1)
    assert (pred != y[500:]).float().mean().item() < 0.4


def test_a_plain_run_leaves_the_committed_figures_alone(tmp_path, capsys, monkeypatch):
    committed = EXAMPLES / "figures" / "linear_regression.png"
    before = committed.read_bytes()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["linear_regression.py", "--fast"])
    runpy.run_path(str(EXAMPLES / "linear_regression.py"), run_name="__main__")
    capsys.readouterr()
    assert_png(tmp_path / "runs" / "figures" / "linear_regression.png")
    assert committed.read_bytes() == before


def test_hessian_learning_rate(tmp_path, capsys, monkeypatch):
    _, s = run_example("hessian_learning_rate", tmp_path, capsys, monkeypatch)
    lam = s["lambda_max"]
    assert lam > 0
    # power iteration settles: the last Rayleigh quotients agree
    p = s["power_iterations"]
    assert abs(p[-1] - p[-2]) <= 0.05 * abs(p[-1])
    # learning rates are relative to 1/lambda_max; the best one is below 2/lambda_max
    assert s["best_learning_rate"] * lam < 2.0 + 1e-9
    losses = dict(zip([round(r * lam, 3) for r in s["learning_rates"]], s["losses"]))
    assert losses[1.0] is not None and losses[1.0] < s["initial_loss"]
    assert_png(tmp_path / "hessian_learning_rate.png")

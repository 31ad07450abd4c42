"""tapegrad.train: fit/evaluate against a hand-written PyTorch loop, callbacks, exact
resume from a checkpoint, metrics, the evaluation protocol and plots."""

from __future__ import annotations

import csv
import io
import json
import sys

import numpy as np
import pytest
import torch

import tapegrad
from tapegrad import nn, optim
from tapegrad.models import MLP
from tapegrad.train import (
    ConfusionMatrix,
    EarlyStopping,
    HistoryLogger,
    LRSchedulerCallback,
    ModelCheckpoint,
    ProgressBar,
    TrainState,
    confusion_matrix,
    cross_validate,
    error_rate,
    evaluate,
    fit,
    get_metric,
    k_fold,
    kfold_indices,
    repeated_runs,
    top_k_error,
    train_val_split,
)
from tapegrad.utils.data import DataLoader, TensorDataset


def blobs(n=96, d=6, classes=3, seed=0):
    """Gaussian blobs: an easy, deterministic classification problem."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centers = rng.normal(0, 2.0, (classes, d))
    x = centers[y] + rng.normal(0, 1.0, (n, d))
    return x.astype(np.float32), y.astype(np.int64)


def loader(x, y, batch_size=16, shuffle=False, seed=None):
    g = tapegrad.Generator().manual_seed(seed) if seed is not None else None
    ds = TensorDataset(tapegrad.tensor(x), tapegrad.tensor(y))
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=g)


def make_mlp(seed=0, dropout=0.0):
    tapegrad.manual_seed(seed)
    return MLP(6, [16], 3, dropout=dropout)


def to_torch(model: nn.Module, torch_model: torch.nn.Module) -> torch.nn.Module:
    sd = {k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()}
    torch_model.load_state_dict(sd)
    return torch_model


# ----------------------------------------------------------------------------------------
# fit and evaluate


def test_fit_matches_a_pytorch_training_loop():
    x, y = blobs()
    model = make_mlp()
    ref = to_torch(
        model,
        torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)
        ),
    )
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    history = fit(model, nn.CrossEntropyLoss(), opt, loader(x, y), loader(x, y), epochs=3)

    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(3):
        total = 0.0
        for xb, yb in zip(torch.tensor(x).split(16), torch.tensor(y).split(16)):
            ref_opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(ref(xb), yb)
            loss.backward()
            ref_opt.step()
            total += loss.item() * len(yb)
        losses.append(total / len(y))

    for k, v in ref.state_dict().items():
        np.testing.assert_allclose(model.state_dict()[k].numpy(), v.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(history["loss"], losses, rtol=1e-4)
    assert history.keys()[:3] == ["epoch", "loss", "error"]
    assert {"val_loss", "val_error", "lr", "seconds"} <= set(history.keys())
    assert history["epoch"] == [1, 2, 3]
    with torch.no_grad():
        ref_error = (ref(torch.tensor(x)).argmax(1) != torch.tensor(y)).float().mean().item()
    assert history["val_error"][-1] == pytest.approx(ref_error)
    assert model.training  # evaluate restores the mode it found


def test_evaluate_metrics():
    x, y = blobs(n=50)
    model = make_mlp()
    scores = evaluate(
        model,
        loader(x, y, batch_size=7),
        ["loss", "error", "accuracy", "top2_error", ConfusionMatrix(3)],
        loss_fn=nn.CrossEntropyLoss(),
    )
    with tapegrad.no_grad():
        out = model(tapegrad.tensor(x)).numpy()
    ref = torch.nn.functional.cross_entropy(torch.tensor(out), torch.tensor(y)).item()
    assert scores["loss"] == pytest.approx(ref, rel=1e-5)
    pred = out.argmax(1)
    assert scores["error"] == pytest.approx(np.mean(pred != y))
    assert scores["accuracy"] == pytest.approx(np.mean(pred == y))
    top2 = np.argsort(-out, axis=1)[:, :2]
    assert scores["top2_error"] == pytest.approx(np.mean(~(top2 == y[:, None]).any(1)))
    cm = np.zeros((3, 3), np.int64)
    np.add.at(cm, (y, pred), 1)
    np.testing.assert_array_equal(scores["confusion_matrix"].numpy(), cm)
    assert evaluate(model, loader(x, y)) == {"error": scores["error"]}
    with pytest.raises(ValueError, match="loss_fn"):
        evaluate(model, loader(x, y), ["loss"])


def test_metric_functions_and_errors():
    out = tapegrad.tensor([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5], [0.3, 0.36, 0.34]])
    target = tapegrad.tensor([2, 0, 1, 0])
    assert error_rate(out, target) == pytest.approx(0.75)
    assert top_k_error(out, target, k=2) == pytest.approx(0.25)
    cm = confusion_matrix(out, target, 3)
    assert cm.dtype == tapegrad.int64
    assert cm.tolist() == [[1, 1, 0], [0, 0, 1], [0, 1, 0]]
    with pytest.raises(ValueError, match=r"shape \(batch, classes\)"):
        error_rate(out[:, 0], target)
    with pytest.raises(ValueError, match="class indices"):
        error_rate(out, target.float())
    with pytest.raises(ValueError, match="k must be between 1 and 3"):
        top_k_error(out, target, k=5)
    with pytest.raises(ValueError, match="unknown metric"):
        get_metric("f1")
    assert get_metric("top5_error").name == "top5_error"


def test_fit_rejects_bad_batches_and_epochs():
    model = make_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"batches of \(inputs, targets\)"):
        fit(model, nn.CrossEntropyLoss(), opt, [tapegrad.zeros(2, 6)], epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, nn.CrossEntropyLoss(), opt, [], epochs=-1)


# ----------------------------------------------------------------------------------------
# Callbacks


def run_epochs(callback, values, model=None):
    """Feed a callback's on_epoch_end a sequence of val_loss values."""
    model = model or make_mlp()
    state = TrainState(model, None, None, [], None, epochs=len(values), callbacks=[callback])
    for i, v in enumerate(values):
        state.epoch = i + 1
        state.logs = {"epoch": i + 1, "val_loss": v}
        with tapegrad.no_grad():
            model[1].weight.fill_(float(i))
        callback.on_epoch_end(state)
        if state.stop_training:
            break
    callback.on_train_end(state)
    return state


def test_early_stopping_patience_min_delta_and_restore():
    es = EarlyStopping(patience=2, min_delta=0.05, restore_best_weights=True)
    state = run_epochs(es, [1.0, 0.8, 0.78, 0.77, 0.5, 0.4])
    # 0.78 and 0.77 do not beat 0.8 by more than 0.05: stop after epoch 4.
    assert state.stop_training and state.epoch == 4 and es.best_epoch == 2
    assert float(state.model[1].weight[0, 0]) == 1.0  # the weights of epoch 2
    es = EarlyStopping(monitor="val_accuracy", patience=1)
    assert es.mode == "max"
    with pytest.raises(KeyError, match="pass val_data"):
        run_epochs(EarlyStopping(monitor="val_error"), [1.0])


def test_reduce_lr_on_plateau_and_step_lr():
    x, y = blobs()
    model = make_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    cb = LRSchedulerCallback(plateau, monitor="val_loss")
    state = TrainState(model, None, opt, [], None, epochs=3, callbacks=[cb])
    for v in [1.0, 1.0, 1.0]:
        state.logs = {"val_loss": v}
        cb.on_epoch_end(state)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.025)

    model = make_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.1)
    history = fit(model, nn.CrossEntropyLoss(), opt, loader(x, y), epochs=3, scheduler=step)
    np.testing.assert_allclose(history["lr"], [0.1, 0.01, 0.001])
    with pytest.raises(ValueError, match="interval"):
        LRSchedulerCallback(plateau, interval="batch")


def test_history_logger_csv_and_json(tmp_path):
    x, y = blobs()
    model = make_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    cbs = [HistoryLogger(tmp_path / "h.csv"), HistoryLogger(tmp_path / "h.json")]
    history = fit(model, nn.CrossEntropyLoss(), opt, loader(x, y), loader(x, y), 2, callbacks=cbs)
    rows = list(csv.DictReader(open(tmp_path / "h.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[1]["val_error"]) == pytest.approx(history["val_error"][1])
    data = json.loads((tmp_path / "h.json").read_text())
    assert data[0]["loss"] == pytest.approx(history["loss"][0])


def test_progress_bar_plain_and_tqdm(capsys):
    x, y = blobs()
    model = make_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    out = io.StringIO()
    fit(model, nn.CrossEntropyLoss(), opt, loader(x, y), epochs=2,
        callbacks=[ProgressBar(file=out, use_tqdm=False)])  # fmt: skip
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("epoch 1/2  loss ") and "error" in lines[0]
    assert lines[1].startswith("epoch 2/2")
    pytest.importorskip("tqdm")
    fit(model, nn.CrossEntropyLoss(), opt, loader(x, y), epochs=1, progress=True)
    assert "epoch 1/1" in capsys.readouterr().err


def test_progress_bar_falls_back_without_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    bar = ProgressBar(file=io.StringIO())
    assert not bar.use_tqdm
    x, y = blobs()
    model = make_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    fit(model, nn.CrossEntropyLoss(), opt, loader(x, y), epochs=1, callbacks=[bar])
    assert bar.file.getvalue().startswith("epoch 1/1  loss ")


def test_progress_bar_off_keeps_one_line_per_epoch():
    pytest.importorskip("tqdm")
    x, y = blobs()
    model = make_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    out = io.StringIO()
    bar = ProgressBar(file=out, use_tqdm=True, bar=False)
    fit(model, nn.CrossEntropyLoss(), opt, loader(x, y), epochs=2, callbacks=[bar])
    text = out.getvalue()
    assert "\r" not in text and "batch/s" not in text
    lines = text.splitlines()
    assert [line[:10] for line in lines] == ["epoch 1/2 ", "epoch 2/2 "]


# ----------------------------------------------------------------------------------------
# Checkpoints and resume


def resumable_run(tmp_path, epochs, resume=None, checkpoint=None, init_seed=0, loader_seed=7):
    """A run with every source of state: dropout (global RNG), a shuffling loader with
    its own generator, momentum, a scheduler and early stopping."""
    x, y = blobs(n=80)
    tapegrad.manual_seed(123)  # the run's seed; a resumed run restores the saved state
    model = make_mlp(seed=init_seed, dropout=0.3)
    tapegrad.manual_seed(123)
    opt = optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    cbs = [EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)]
    if checkpoint:
        cbs.append(ModelCheckpoint(checkpoint))
    history = fit(
        model, nn.CrossEntropyLoss(), opt,
        loader(x, y, batch_size=16, shuffle=True, seed=loader_seed), loader(x, y),
        epochs, callbacks=cbs, scheduler=sched, resume=resume,
    )  # fmt: skip
    return model, history


# With its own generator, or (None) shuffled from the global generator, as in PyTorch.
@pytest.mark.parametrize("loader_seed", [7, None])
def test_resume_from_checkpoint_gives_the_same_weights(tmp_path, loader_seed):
    full, full_history = resumable_run(tmp_path, epochs=5, loader_seed=loader_seed)
    ckpt = tmp_path / "ckpt.pt"
    resumable_run(tmp_path, epochs=2, checkpoint=ckpt, loader_seed=loader_seed)
    assert tapegrad.load(ckpt)["epoch"] == 2
    # A fresh process would build the model from a different seed: resume must not care.
    resumed, history = resumable_run(
        tmp_path, epochs=5, resume=ckpt, init_seed=99, loader_seed=loader_seed
    )
    for k, v in full.state_dict().items():
        assert tapegrad.equal(resumed.state_dict()[k], v), k
    assert history["loss"] == full_history["loss"]
    assert history["lr"] == full_history["lr"]


def test_checkpoint_every_best_only_and_weights_only(tmp_path):
    x, y = blobs()
    model = make_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    best = ModelCheckpoint(tmp_path / "best.pt", monitor="val_error", save_best_only=True)
    every = ModelCheckpoint(tmp_path / "e{epoch}.pt", weights_only=True, every=2)
    fit(model, nn.CrossEntropyLoss(), opt, loader(x, y), loader(x, y), 3, callbacks=[best, every])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "e2.pt", "e3.pt"]
    weights = tapegrad.load(tmp_path / "e3.pt")
    assert set(weights) == set(model.state_dict())
    with pytest.raises(KeyError, match="not a training checkpoint"):
        fit(model, nn.CrossEntropyLoss(), opt, loader(x, y), epochs=4, resume=tmp_path / "e3.pt")
    with pytest.raises(ValueError, match="monitor"):
        ModelCheckpoint(tmp_path / "x.pt", save_best_only=True)


def test_load_a_state_dict_saved_by_pytorch(tmp_path):
    torch.manual_seed(0)
    ref = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)
    )
    torch.save(ref.state_dict(), tmp_path / "torch.pt")
    model = make_mlp(seed=5)
    model.load_state_dict(tapegrad.load(tmp_path / "torch.pt"))
    x = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    np.testing.assert_allclose(
        model(tapegrad.tensor(x)).detach().numpy(), ref(torch.tensor(x)).detach().numpy(),
        rtol=1e-6,
    )  # fmt: skip


# ----------------------------------------------------------------------------------------
# Protocol


def test_train_val_split_matches_pytorch_random_split():
    ds = TensorDataset(tapegrad.arange(50))
    train, val = train_val_split(ds, 0.2, seed=3)
    ref_train, ref_val = torch.utils.data.random_split(
        range(50), [40, 10], generator=torch.Generator().manual_seed(3)
    )
    assert list(train.indices) == list(ref_train.indices)
    assert list(val.indices) == list(ref_val.indices)
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(ds, 1.5)


def test_k_fold_partitions_and_cross_validate():
    folds = kfold_indices(11, k=3, seed=0)
    assert [len(v) for _, v in folds] == [4, 4, 3]
    assert sorted(i for _, v in folds for i in v) == list(range(11))
    for tr, va in folds:
        assert sorted(tr + va) == list(range(11))
    assert kfold_indices(4, 2, shuffle=False) == [([2, 3], [0, 1]), ([0, 1], [2, 3])]
    ds = TensorDataset(tapegrad.arange(10))
    sizes = [(len(tr), len(va)) for tr, va in k_fold(ds, k=5)]
    assert sizes == [(8, 2)] * 5
    result = cross_validate(lambda tr, va: len(va) / 10, ds, k=5)
    assert result.scores == [0.2] * 5 and result.mean == pytest.approx(0.2)
    with pytest.raises(ValueError, match="k >= 2"):
        kfold_indices(10, k=1)


def test_repeated_runs_summary():
    errors = {0: 0.013, 1: 0.010, 2: 0.0082}
    summary = repeated_runs(lambda seed: errors[seed], [0, 1, 2])
    assert (summary.worst, summary.median, summary.best) == (0.013, 0.010, 0.0082)
    assert "worst 1.30% / median 1.00% / best 0.82%" in str(summary)
    # Each run starts from its own seed.
    draws = repeated_runs(lambda seed: float(tapegrad.rand(1)), [4, 4])
    assert draws.errors[0] == draws.errors[1]


# ----------------------------------------------------------------------------------------
# Plots


def test_plots_write_png(tmp_path):
    pytest.importorskip("matplotlib")
    from tapegrad.train import plot_confusion_matrix, plot_history, plot_images, plot_misclassified

    x, y = blobs()
    model = make_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, nn.CrossEntropyLoss(), opt, loader(x, y), loader(x, y), epochs=2)
    png = b"\x89PNG"
    assert open(plot_history(history, tmp_path / "curves.png"), "rb").read(4) == png
    images = tapegrad.rand(6, 1, 8, 8)
    path = plot_images(images, tmp_path / "grid.png", labels=[0, 1, 2, 0, 1, 2], ncols=3)
    assert open(path, "rb").read(4) == png
    assert open(plot_images(tapegrad.rand(2, 3, 8, 8), tmp_path / "rgb.png"), "rb").read(4) == png
    # An image-shaped problem for the misclassified grid: 6 features as 2x3 "images".
    images_loader = [
        (tapegrad.tensor(x[:20]).reshape(20, 1, 2, 3), tapegrad.tensor((y[:20] + 1) % 3))
    ]
    net = nn.Sequential(nn.Flatten(), model)
    path = plot_misclassified(net, images_loader, tmp_path / "wrong.png", ["a", "b", "c"])
    assert open(path, "rb").read(4) == png
    cm = evaluate(model, loader(x, y), [ConfusionMatrix(3)])["confusion_matrix"]
    assert open(plot_confusion_matrix(cm, tmp_path / "cm.png"), "rb").read(4) == png


def test_plots_without_matplotlib_name_the_extra(tmp_path, monkeypatch):
    from tapegrad.train import plot_history

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install tapegrad\[plot\]"):
        plot_history({"epoch": [1], "loss": [0.5]}, tmp_path / "x.png")

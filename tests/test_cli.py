"""The ``tapegrad`` command on tiny Fashion-MNIST-format files written by the tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tapegrad
from tapegrad import cli
from tapegrad.datasets import _utils
from tapegrad.train import loop


def idx(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def write_split(folder, prefix, n, seed):
    """Images where class k is a bright 7×7 square at one of 10 places, plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = rng.integers(0, 60, (n, 28, 28))
    for i, k in enumerate(labels):
        r, c = 3 + 7 * (k // 4), 3 + 6 * (k % 4)
        images[i, r : r + 7, c : c + 7] = 255
    (folder / f"{prefix}-images-idx3-ubyte").write_bytes(idx(images))
    (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(idx(labels))


@pytest.fixture
def data_dir(tmp_path_factory, monkeypatch):
    # Only the files written here: no $TAPEGRAD_DATA, no system dataset folders.
    monkeypatch.delenv(_utils.DATA_ENV, raising=False)
    monkeypatch.setattr(_utils, "SYSTEM_DATA_DIRS", (str(tmp_path_factory.mktemp("system")),))
    root = tmp_path_factory.mktemp("data")
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    write_split(raw, "train", 120, seed=0)
    write_split(raw, "t10k", 40, seed=1)
    return str(root)


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def train_args(data_dir, epochs, *extra):
    return [str(a) for a in [
        "train", "--model", "seed-cnn", "--dataset", "fashion-mnist", "--epochs", epochs,
        "--data-dir", data_dir, "--batch-size", 20, "--lr", 0.05, "--seed", 3, *extra,
    ]]  # fmt: skip


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert all(cmd in out for cmd in ("train", "evaluate", "info"))
    assert cli.main([]) == 2
    with pytest.raises(SystemExit):
        cli.main(["train", "--model", "nope"])


def test_train_json_checkpoint_plot_history_and_evaluate(data_dir, tmp_path, capsys):
    ckpt, png, hist = tmp_path / "run.pt", tmp_path / "curves.png", tmp_path / "h.csv"
    code, out, err = run(
        capsys, *train_args(data_dir, 3, "--val-fraction", 0.25, "--checkpoint", ckpt,
                            "--plot", png, "--history", hist, "--json"),
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["epochs"] == 3 and result["train_seconds"] > 0
    assert result["train_size"] == 90 and result["test_size"] == 40
    assert 0 <= result["test_error"] <= 1 and "val_error" in result
    assert "test error" in err and "epoch 3/3" in err  # text and progress on stderr
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert len(hist.read_text().splitlines()) == 4
    assert tapegrad.load(ckpt)["metadata"]["model"] == "seed-cnn"

    code, out, _ = run(capsys, "evaluate", "--checkpoint", ckpt, "--data-dir", data_dir, "--json")
    assert code == 0
    scores = json.loads(out.strip().splitlines()[-1])
    assert scores["error"] == pytest.approx(result["test_error"])
    assert np.array(scores["confusion_matrix"]).sum() == 40
    code, out, _ = run(capsys, "evaluate", "--checkpoint", ckpt, "--data-dir", data_dir,
                       "--confusion", "--train-split")  # fmt: skip
    assert "training error" in out and "Ankle boot" in out


def test_the_plain_run_ends_with_the_test_error(data_dir, capsys):
    before = tapegrad.get_num_threads()
    code, out, err = run(capsys, *train_args(data_dir, 1, "--threads", 2))
    assert tapegrad.get_num_threads() == 2
    tapegrad.set_num_threads(before)
    assert code == 0
    assert out.strip().splitlines()[-1].startswith("test error ")
    assert "epoch 1/1" in err


def test_interrupted_and_resumed_run_ends_with_the_same_weights(
    data_dir, tmp_path, capsys, monkeypatch
):
    full, part = tmp_path / "full.pt", tmp_path / "part.pt"
    common = ("--val-fraction", 0.25, "--early-stopping", 5, "--no-progress", "--json")
    code, out, _ = run(capsys, *train_args(data_dir, 3, "--checkpoint", full, *common))
    full_error = json.loads(out.splitlines()[-1])["test_error"]
    # evaluate uses the weights the run ended with (early stopping's best).
    code, out, _ = run(capsys, "evaluate", "--checkpoint", full, "--data-dir", data_dir, "--json")
    assert json.loads(out.splitlines()[-1])["error"] == full_error

    # Ctrl-C in the middle of the second epoch, after some weights have changed.
    real_epoch, epochs_started = loop.train_epoch, []

    def interrupted(state):
        epochs_started.append(state.epoch)
        if len(epochs_started) == 2:
            with tapegrad.no_grad():
                for p in state.model.parameters():
                    p.add_(1.0)
            raise KeyboardInterrupt
        return real_epoch(state)

    monkeypatch.setattr(loop, "train_epoch", interrupted)
    code, _, err = run(capsys, *train_args(data_dir, 3, "--checkpoint", part, *common))
    assert code == 130 and f"--resume {part}" in err
    assert tapegrad.load(part)["epoch"] == 1
    monkeypatch.setattr(loop, "train_epoch", real_epoch)

    code, out, _ = run(capsys, *train_args(data_dir, 3, "--resume", part, *common))
    assert code == 0 and json.loads(out.splitlines()[-1])["epochs"] == 3
    a, b = tapegrad.load(full), tapegrad.load(part)
    assert b["epoch"] == 3
    for k, v in a["model"].items():
        assert tapegrad.equal(b["model"][k], v), k
    untimed = [
        [{k: v for k, v in e.items() if k != "seconds"} for e in c["history"]] for c in (a, b)
    ]
    assert untimed[0] == untimed[1]


def test_errors_are_one_clear_line(data_dir, tmp_path, capsys):
    code, _, err = run(capsys, *train_args(data_dir, 1, "--model", "vgg11"))
    assert code == 1 and "needs 32×32 images" in err
    code, _, err = run(
        capsys, "train", "--dataset", "kmnist", "--data-dir", tmp_path, "--no-download"
    )
    assert code == 1 and "Dataset not found" in err and str(tmp_path) in err
    ckpt = tmp_path / "c.pt"
    assert run(capsys, *train_args(data_dir, 1, "--checkpoint", ckpt, "--no-progress"))[0] == 0
    with pytest.raises(SystemExit, match="trained with --model seed-cnn"):
        cli.main(train_args(data_dir, 2, "--resume", ckpt, "--model", "lenet5"))
    tapegrad.save({"w": tapegrad.zeros(1)}, tmp_path / "bare.pt")
    with pytest.raises(SystemExit, match="no metadata"):
        cli.main(["evaluate", "--checkpoint", str(tmp_path / "bare.pt")])
    with pytest.raises(SystemExit):
        cli.main(train_args(data_dir, 1, "--val-fraction", 1.5))


def test_info_and_the_console_script(data_dir, capsys):
    code, out, _ = run(capsys, "info", "--data-dir", data_dir)
    assert code == 0 and "fashion-mnist" in out and "FashionMNIST" in out
    proc = subprocess.run(
        [sys.executable, "-m", "tapegrad.cli", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stdout.startswith("tapegrad ")


def test_repeated_runs_report_worst_median_best(data_dir, capsys):
    code, out, err = run(capsys, *train_args(data_dir, 1, "--runs", 2, "--json", "--no-progress"))
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    assert result["runs"] == 2 and result["seeds"] == [3, 4] and len(result["errors"]) == 2
    assert result["worst"] == max(result["errors"]) and result["best"] == min(result["errors"])
    assert result["test_error"] == result["median"]
    assert "test error over 2 runs: worst" in err
    with pytest.raises(SystemExit):
        cli.main(train_args(data_dir, 1, "--runs", 0))


def test_train_is_the_pytorch_experiment(data_dir, tmp_path, capsys):
    """Same seed, same initial weights, same batches as the seed's PyTorch code: the
    weights after an epoch agree up to float rounding."""
    torch = pytest.importorskip("torch")
    ckpt = tmp_path / "c.pt"
    assert run(capsys, *train_args(data_dir, 1, "--checkpoint", ckpt, "--no-progress"))[0] == 0

    raw = f"{data_dir}/FashionMNIST/raw"
    images = np.fromfile(f"{raw}/train-images-idx3-ubyte", np.uint8, offset=16)
    x = torch.tensor(images.reshape(-1, 1, 28, 28) / 255.0, dtype=torch.float32)
    y = torch.tensor(np.fromfile(f"{raw}/train-labels-idx1-ubyte", np.uint8, offset=8)).long()
    x = (x - x.mean()) / x.std()
    torch.manual_seed(3)
    tnn = torch.nn
    model = tnn.Sequential(
        tnn.Conv2d(1, 32, 5), tnn.MaxPool2d(3), tnn.ReLU(),
        tnn.Conv2d(32, 64, 5), tnn.MaxPool2d(2), tnn.ReLU(),
        tnn.Flatten(), tnn.Linear(256, 200), tnn.ReLU(), tnn.Linear(200, 10),
    )  # fmt: skip
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(3)
    data = torch.utils.data.TensorDataset(x, y)
    for xb, yb in torch.utils.data.DataLoader(data, batch_size=20, shuffle=True, generator=g):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()
    ours = tapegrad.load(ckpt)["model"]
    for k, v in model.state_dict().items():
        np.testing.assert_allclose(ours[k].numpy(), v.numpy(), rtol=1e-3, atol=1e-5, err_msg=k)


def test_cifar10_images_become_nchw(tmp_path_factory, monkeypatch, capsys):
    import pickle

    monkeypatch.delenv(_utils.DATA_ENV, raising=False)
    monkeypatch.setattr(_utils, "SYSTEM_DATA_DIRS", (str(tmp_path_factory.mktemp("system")),))
    root = tmp_path_factory.mktemp("cifar")
    base = root / "cifar-10-batches-py"
    base.mkdir()
    rng = np.random.default_rng(0)
    rows = {}
    for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
        # Each row: the red plane, then green, then blue, 32×32 each (the CIFAR layout).
        rows[name] = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
        batch = {"data": rows[name], "labels": [int(v) for v in rng.integers(0, 10, 4)]}
        (base / name).write_bytes(pickle.dumps(batch, protocol=2))
    names = ["airplane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    (base / "batches.meta").write_bytes(pickle.dumps({"label_names": names}, protocol=2))

    images, targets, classes = cli.load_data("cifar10", str(root), train=False)
    assert tuple(images.shape) == (4, 3, 32, 32) and classes == names
    expected = rows["test_batch"].reshape(4, 3, 32, 32) / 255.0
    np.testing.assert_allclose(images.numpy(), expected, rtol=1e-6)
    args = ["train", "--model", "lenet5", "--dataset", "cifar10", "--epochs", "1"]
    code, out, _ = run(capsys, *args, "--data-dir", root, "--batch-size", 5, "--json")
    assert code == 0 and json.loads(out.splitlines()[-1])["train_size"] == 20


def test_a_missing_dataset_is_downloaded_into_the_data_dir(tmp_path_factory, monkeypatch, capsys):
    from tapegrad.datasets import FashionMNIST

    monkeypatch.delenv(_utils.DATA_ENV, raising=False)
    monkeypatch.setattr(_utils, "SYSTEM_DATA_DIRS", (str(tmp_path_factory.mktemp("system")),))
    downloads = []

    class Offline(FashionMNIST):
        def download(self):  # what the mirrors would give, written where torchvision puts it
            downloads.append(self.raw_folder)
            raw = Path(self.raw_folder)
            raw.mkdir(parents=True, exist_ok=True)
            write_split(raw, "train", 30, seed=0)
            write_split(raw, "t10k", 10, seed=1)

    monkeypatch.setitem(cli.DATASETS, "fashion-mnist", Offline)
    root = tmp_path_factory.mktemp("empty")
    images, _, _ = cli.load_data("fashion-mnist", str(root), train=True, download=True)
    assert len(images) == 30 and downloads == [f"{root}/Offline/raw"]
    assert "downloading it into" in capsys.readouterr().err
    with pytest.raises(RuntimeError, match="Dataset not found"):
        cli.load_data("fashion-mnist", str(tmp_path_factory.mktemp("e2")), True, download=False)

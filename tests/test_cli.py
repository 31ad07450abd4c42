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


def one_line_error(capsys, *argv) -> str:
    """Run a command that must fail with exit 1 and one line on stderr; return that line."""
    code, out, err = run(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 1, (code, out, err)
    assert lines[-1].startswith(f"tapegrad {argv[0]}: ") and "Traceback" not in err, err
    return lines[-1]


def usage_error(capsys, *argv) -> str:
    """Run a command argparse must refuse (exit 2): return stderr (usage, then the error)."""
    with pytest.raises(SystemExit) as e:
        cli.main([str(a) for a in argv])
    assert e.value.code == 2
    return capsys.readouterr().err


def test_a_model_for_other_image_sizes_is_refused(data_dir, capsys):
    err = one_line_error(capsys, *train_args(data_dir, 1, "--model", "vgg11"))
    assert "--model vgg11 needs 32×32 images (CIFAR), got 28×28" in err


def test_a_missing_dataset_says_how_to_get_it_in_command_line_terms(tmp_path, capsys):
    err = one_line_error(capsys, "train", "--dataset", "kmnist", "--data-dir", tmp_path)
    assert "kmnist training set not found" in err and str(tmp_path) in err
    assert "add --download" in err and "download=True" not in err


def test_the_cifar_error_speaks_of_options_not_python(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(_utils.DATA_ENV, raising=False)
    err = one_line_error(capsys, "train", "--dataset", "cifar10", "--data-dir", tmp_path)
    assert "cifar-10-python.tar.gz" in err and "add --download" in err
    assert "download=True" not in err


def test_resume_with_another_model_is_refused(data_dir, tmp_path, capsys):
    ckpt = tmp_path / "c.pt"
    assert run(capsys, *train_args(data_dir, 1, "--checkpoint", ckpt, "--no-progress"))[0] == 0
    err = one_line_error(capsys, *train_args(data_dir, 2, "--resume", ckpt, "--model", "lenet5"))
    assert "trained with --model seed-cnn, not lenet5; resume with --model seed-cnn" in err


@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_a_missing_or_folder_checkpoint_is_one_line(data_dir, tmp_path, capsys, command):
    option = "--checkpoint" if command == "evaluate" else "--resume"
    prefix = ["evaluate"] if command == "evaluate" else train_args(data_dir, 1)

    def args(path):
        return [*prefix, option, path, "--data-dir", data_dir][: len(prefix) + 2]

    err = one_line_error(capsys, *args(tmp_path / "nope.pt"))
    assert f"{option} {tmp_path / 'nope.pt'}: no such file" in err
    err = one_line_error(capsys, *args(tmp_path))
    assert f"{option} {tmp_path} is a folder" in err
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    err = one_line_error(capsys, *args(tmp_path / "junk.pt"))
    assert "cannot be read" in err


def test_a_checkpoint_without_metadata_is_refused(tmp_path, capsys):
    tapegrad.save({"w": tapegrad.zeros(1)}, tmp_path / "bare.pt")
    err = one_line_error(capsys, "evaluate", "--checkpoint", tmp_path / "bare.pt")
    assert "has no metadata" in err and "tapegrad train --checkpoint FILE" in err


def test_runs_with_checkpoints_are_refused(data_dir, tmp_path, capsys):
    err = one_line_error(
        capsys, *train_args(data_dir, 1, "--runs", 2, "--checkpoint", tmp_path / "c.pt")
    )
    assert "--runs trains several models" in err


@pytest.mark.parametrize(
    "option,value,message",
    [
        ("--epochs", 0, "argument --epochs: must be at least 1, got 0"),
        ("--batch-size", -1, "argument --batch-size: must be at least 1, got -1"),
        ("--runs", 0, "argument --runs: must be at least 1, got 0"),
        ("--limit", 0, "argument --limit: must be at least 1, got 0"),
        ("--val-fraction", 1.5, "argument --val-fraction: must be in [0, 1), got 1.5"),
        ("--epochs", "ten", "argument --epochs: expected an integer, got 'ten'"),
    ],
)
def test_bad_numbers_are_refused_with_the_subcommand_usage(
    data_dir, capsys, option, value, message
):
    err = usage_error(capsys, *train_args(data_dir, 1, option, value))
    assert err.startswith("usage: tapegrad train ") and message in err


def test_unknown_options_show_the_subcommands_usage_and_a_suggestion(capsys):
    err = usage_error(capsys, "train", "--epohcs", 3)
    assert err.startswith("usage: tapegrad train ")
    assert "unrecognized arguments: --epohcs 3; did you mean --epochs?" in err
    err = usage_error(capsys, "evaluate", "--checkpoint", "x.pt", "--confsion")
    assert err.startswith("usage: tapegrad evaluate ") and "did you mean --confusion?" in err
    err = usage_error(capsys, "info", "--bogus")
    assert err.startswith("usage: tapegrad info ") and "unrecognized arguments: --bogus" in err


def test_misspelt_commands_and_choices_get_a_suggestion(capsys):
    assert "invalid choice: 'trian'; did you mean train?" in usage_error(capsys, "trian")
    err = usage_error(capsys, "train", "--model", "resnt20")
    assert "invalid choice: 'resnt20'; did you mean resnet20?" in err
    err = usage_error(capsys, "train", "--dataset", "fashion_mnist")
    assert "did you mean fashion-mnist?" in err
    assert "did you mean" not in usage_error(capsys, "train", "--optimizer", "zzz")


def test_outputs_in_missing_folders_are_refused_and_nothing_is_created(data_dir, tmp_path, capsys):
    for option in ("--plot", "--history", "--checkpoint"):
        target = tmp_path / "new" / "dir" / "x.png"
        err = one_line_error(capsys, *train_args(data_dir, 1, option, target))
        assert f"{option} {target}: the folder {target.parent} does not exist" in err
        assert not (tmp_path / "new").exists()
    err = one_line_error(capsys, *train_args(data_dir, 1, "--plot", tmp_path))
    assert f"--plot {tmp_path} is a folder" in err


def test_a_data_dir_without_the_files_is_an_error_not_a_fallback(
    data_dir, tmp_path, capsys, monkeypatch
):
    # The files are found through $TAPEGRAD_DATA; --data-dir names a folder that lacks one.
    monkeypatch.setenv(_utils.DATA_ENV, data_dir)
    other = tmp_path / "fashion-mnist"
    other.mkdir()
    raw = Path(data_dir) / "FashionMNIST" / "raw"
    (other / "train-images-idx3-ubyte").write_bytes((raw / "train-images-idx3-ubyte").read_bytes())
    err = one_line_error(capsys, *train_args(tmp_path, 1))
    assert f"--data-dir {tmp_path} has no fashion-mnist training set" in err
    assert f"{other} lacks train-labels-idx1-ubyte[.gz]" in err
    assert f"found in {Path(data_dir) / 'FashionMNIST' / 'raw'}: leave out --data-dir" in err
    # Found nowhere: the folder holding some of the files is named with what it lacks.
    monkeypatch.delenv(_utils.DATA_ENV)
    err = one_line_error(capsys, *train_args(tmp_path, 1))
    assert "training set not found" in err
    assert f"({other} lacks train-labels-idx1-ubyte[.gz])" in err


def test_the_dataset_folder_used_is_printed(data_dir, tmp_path, capsys, monkeypatch):
    code, _, err = run(capsys, *train_args(data_dir, 1, "--no-progress"))
    raw = Path(data_dir) / "FashionMNIST" / "raw"
    assert code == 0
    assert f"fashion-mnist training set: {raw}" in err and f"fashion-mnist test set: {raw}" in err
    # Without --data-dir, ./data then $TAPEGRAD_DATA: the folder found is named.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(_utils.DATA_ENV, data_dir)
    args = [a for a in train_args(data_dir, 1, "--no-progress", "--limit", 20)]
    i = args.index("--data-dir")
    code, _, err = run(capsys, *args[:i], *args[i + 2 :])
    assert code == 0 and f"fashion-mnist training set: {raw}" in err


def test_download_is_off_by_default_and_on_with_the_option(data_dir, capsys):
    parser = cli._parser()
    assert parser.parse_args(["train"]).download is False
    assert parser.parse_args(["train", "--download"]).download is True
    assert parser.parse_args(["evaluate", "--checkpoint", "c.pt"]).download is False


def test_a_failed_download_leaves_no_folders(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(_utils.DATA_ENV, raising=False)
    monkeypatch.setattr(_utils, "SYSTEM_DATA_DIRS", (str(tmp_path / "system"),))

    def offline(request, timeout):
        raise OSError("network unreachable")

    monkeypatch.setattr(_utils, "urlopen", offline)
    root = tmp_path / "fresh" / "data"
    err = one_line_error(capsys, "train", "--data-dir", root, "--download")
    assert f"could not download fashion-mnist into {root}" in err and "unreachable" in err
    assert not (tmp_path / "fresh").exists()


def test_early_stopping_says_when_it_stopped_and_which_weights_it_kept(data_dir, capsys):
    # lr 5 diverges after the first epoch: the validation loss stops improving at once.
    args = train_args(data_dir, 6, "--early-stopping", 1, "--no-progress", "--lr", 5)
    code, out, _ = run(capsys, *args)
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("early stopping:"))
    assert line.startswith("early stopping: stopped after epoch ")
    assert "kept the weights of epoch " in line
    stopped = int(line.split("stopped after epoch ")[1].split()[0])
    kept = int(line.split("kept the weights of epoch ")[1].split(",")[0])
    assert kept < stopped < 6
    code, out, _ = run(capsys, *train_args(data_dir, 2, "--early-stopping", 5, "--no-progress"))
    assert "early stopping: did not stop before the last epoch (2); kept the weights" in out


def test_evaluate_prints_a_labelled_confusion_matrix(data_dir, tmp_path, capsys):
    ckpt = tmp_path / "c.pt"
    assert run(capsys, *train_args(data_dir, 1, "--checkpoint", ckpt, "--no-progress"))[0] == 0
    code, out, _ = run(capsys, "evaluate", "--checkpoint", ckpt, "--data-dir", data_dir,
                       "--confusion")  # fmt: skip
    assert code == 0
    lines = out.splitlines()
    header = lines.index("confusion matrix (rows: true class, columns: predicted class):")
    assert lines[header + 1].split() == [str(k) for k in range(10)]
    rows = lines[header + 2 : header + 12]
    assert rows[0].split()[:2] == ["0", "T-shirt/top"] and rows[9].split()[:3] == [
        "9",
        "Ankle",
        "boot",
    ]
    assert sum(int(v) for row in rows for v in row.split()[-10:]) == 40


def test_help_texts_describe_evaluate_download_and_image_sizes(capsys):
    for argv in (["evaluate", "--help"], ["train", "--help"]):
        with pytest.raises(SystemExit):
            cli.main(argv)
        text = " ".join(capsys.readouterr().out.split())
        assert "--download" in text and "(default: True)" not in text
        if argv[0] == "evaluate":
            assert "Load a checkpoint written by `tapegrad train --checkpoint FILE`" in text
        else:
            assert "seed-cnn needs 28×28 images" in text
            assert "alexnet, vgg11, vgg11-bn, vgg16, vgg16-bn need 32×32 images (CIFAR)" in text


def test_info_and_the_console_script(data_dir, capsys):
    code, out, _ = run(capsys, "info", "--data-dir", data_dir)
    assert code == 0 and "fashion-mnist" in out and "FashionMNIST" in out
    # Only extras that pyproject.toml declares are advertised.
    import tomllib

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    assert set(cli.EXTRAS) <= set(declared)
    for extra, module in cli.EXTRAS.items():
        assert any(dep.startswith(module) for dep in declared[extra])
    assert "gpu" not in out and "cupy" not in out
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
    with pytest.raises(cli.CommandError, match="training set not found"):
        cli.load_data("fashion-mnist", str(tmp_path_factory.mktemp("e2")), True, download=False)

"""The ``tapegrad`` command: train and evaluate the model zoo on the standard datasets.

    tapegrad train --model seed-cnn --dataset fashion-mnist --epochs 10
    tapegrad evaluate --checkpoint run.pt
    tapegrad export run.pt model.onnx
    tapegrad info
    tapegrad run SCRIPT [ARGS...]     (an unchanged PyTorch program, on tapegrad)
    tapegrad run -m MODULE [ARGS...]

``train`` is the course's recipe (seed 004): inputs normalised by the training set's
mean and standard deviation, SGD with lr 0.1 and batches of 100, cross-entropy, then
the test error, measured once at the end. It is written with ``tapegrad.train`` and can
be read as an example of it.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import os
import pickle
import platform
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

import tapegrad

from . import _torch_shim, datasets, models, nn, optim, train
from .datasets._utils import DatasetNotFoundError, DownloadError
from .distributed import launch
from .train.distributed import is_main_process
from .utils.data import DataLoader, Subset, TensorDataset

__all__ = ["main", "build_model", "load_data", "CommandError"]

# Where datasets are looked for (and downloaded to) when --data-dir is not given.
DEFAULT_DATA_DIR = "data"


class CommandError(Exception):
    """A mistake the user can fix: ``tapegrad`` prints it as one line and exits with 1."""


DATASETS = {
    "mnist": datasets.MNIST,
    "fashion-mnist": datasets.FashionMNIST,
    "kmnist": datasets.KMNIST,
    "cifar10": datasets.CIFAR10,
    "cifar100": datasets.CIFAR100,
}


# Models built for one input size: name -> (height = width, the datasets that have it).
# The others adapt to the images (the MLP and LeNet-5 to their size, ResNets pool globally).
MODEL_IMAGE_SIZES = {
    "seed-cnn": (28, "MNIST, Fashion-MNIST, KMNIST"),
    "alexnet": (32, "CIFAR"),
    "vgg11": (32, "CIFAR"),
    "vgg11-bn": (32, "CIFAR"),
    "vgg16": (32, "CIFAR"),
    "vgg16-bn": (32, "CIFAR"),
}

# name -> builder(in_channels, num_classes, image_size)
MODELS: dict[str, Callable[[int, int, int], nn.Module]] = {
    "mlp": lambda c, n, s: models.MLP(c * s * s, (256,), n),
    "lenet5": lambda c, n, s: models.lenet5(c, n, s),
    "seed-cnn": lambda c, n, s: models.seed_cnn(c, n),
    "alexnet": lambda c, n, s: models.alexnet(n, in_channels=c),
    "vgg11": lambda c, n, s: models.vgg11(n, cifar=True, in_channels=c),
    "vgg11-bn": lambda c, n, s: models.vgg11_bn(n, cifar=True, in_channels=c),
    "vgg16": lambda c, n, s: models.vgg16(n, cifar=True, in_channels=c),
    "vgg16-bn": lambda c, n, s: models.vgg16_bn(n, cifar=True, in_channels=c),
    "resnet18": lambda c, n, s: models.resnet18(n, in_channels=c),
    "resnet20": lambda c, n, s: models.resnet20(n, in_channels=c),
    "resnet56": lambda c, n, s: models.resnet56(n, in_channels=c),
}

OPTIMIZERS = {
    # name: (class, default learning rate)
    "sgd": (optim.SGD, 0.1),
    "adam": (optim.Adam, 1e-3),
    "adamw": (optim.AdamW, 1e-3),
    "rmsprop": (optim.RMSprop, 1e-3),
    "adagrad": (optim.Adagrad, 1e-2),
}


def build_model(name: str, in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    """A model of the zoo by its command-line name, for the dataset's image shape."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    if name in MODEL_IMAGE_SIZES:
        size, which = MODEL_IMAGE_SIZES[name]
        if image_size != size:
            raise ValueError(
                f"--model {name} needs {size}×{size} images ({which}), got "
                f"{image_size}×{image_size}; choose another --model or --dataset"
            )
    return MODELS[name](in_channels, num_classes, image_size)


def load_data(
    name: str,
    root: str,
    train: bool,
    download: bool = False,
    limit: int | None = None,
    strict: bool = False,
) -> tuple[tapegrad.Tensor, tapegrad.Tensor, list[str]]:
    """``(images, targets, class names)`` of a dataset split: images as float32 in
    [0, 1] of shape (N, C, H, W), targets as int64; the first ``limit`` samples only.

    The files are looked for in ``root``, then ``$TAPEGRAD_DATA`` and the system dataset
    folders; with ``strict``, in ``root`` only. With ``download``, a dataset found nowhere
    is downloaded into ``root``. The folder used is printed (on stderr)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    ds = _open_dataset(name, root, train, download, strict)
    split = "training" if train else "test"
    print(f"{name} {split} set: {_dataset_location(DATASETS[name], root, train)}", file=sys.stderr)
    # MNIST's .data is a tensor, CIFAR's a NumPy array (as in torchvision).
    data = np.asarray(ds.data.numpy() if isinstance(ds.data, tapegrad.Tensor) else ds.data)[:limit]
    targets = ds.targets if isinstance(ds.targets, tapegrad.Tensor) else np.asarray(ds.targets)
    targets = np.asarray(targets.numpy() if isinstance(targets, tapegrad.Tensor) else targets)
    # (N, H, W) grey or (N, H, W, C) colour images to (N, C, H, W) floats in [0, 1].
    images = data[:, None] if data.ndim == 3 else data.transpose(0, 3, 1, 2)
    images = tapegrad.from_numpy(np.ascontiguousarray(images, dtype=np.float32) / 255.0)
    labels = tapegrad.from_numpy(targets[:limit].astype(np.int64))
    return images, labels, list(ds.classes)


def _open_dataset(name: str, root: str, train: bool, download: bool, strict: bool):
    # The datasets' errors speak Python (download=True); these speak the command's options.
    cls = DATASETS[name]
    split = "training" if train else "test"
    folder = _dataset_location(cls, root, train)
    if folder is not None and strict and not _is_inside(folder, root):
        raise CommandError(_not_in_data_dir(cls, name, root, train, folder))
    try:
        return cls(root, train=train)
    except DatasetNotFoundError as e:
        if not download:
            where = ", ".join(str(d) for d in e.searched)
            where += _partial_folder(_probe(cls, root, train), e.searched)
            how = f"add --download to fetch it into {root}"
            if getattr(cls, "apt_package", None):
                how += f", or install it: apt-get install -y {cls.apt_package}"
            raise CommandError(
                f"{name} {split} set not found: looked for {e.wanted} in {where}; {how}, "
                "or point --data-dir at the folder that has its files"
            ) from e
    print(f"{name} not found locally: downloading it into {root}", file=sys.stderr)
    try:
        return cls(root, train=train, download=True)
    except DownloadError as e:
        failures = "; ".join(f"{url}: {error}" for url, error in e.failures)
        raise CommandError(
            f"could not download {name} into {root} ({failures}); check the network, or "
            "put its files in a folder and give it as --data-dir DIR"
        ) from e


def _partial_folder(probe, searched: list[Path]) -> str:
    """`` (FOLDER lacks FILES)`` for the first folder with some but not all of the files."""
    every_file = probe._missing_in(Path(os.devnull))  # what a place without files lacks
    for folder in searched:
        missing = probe._missing_in(folder) if folder.is_dir() else every_file
        if 0 < len(missing) < len(every_file):
            return f" ({folder} lacks {', '.join(missing)})"
    return ""


def _is_inside(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return path == folder or folder in path.parents


def _not_in_data_dir(cls, name: str, root: str, train: bool, found: str) -> str:
    """--data-dir was given but lacks the files (found elsewhere): say what is missing."""
    probe = _probe(cls, root, train)
    candidates = [d for d in probe._search_dirs() if _is_inside(d, root)]
    existing = [d for d in candidates if d.is_dir()] or candidates
    closest = min(existing, key=lambda d: len(probe._missing_in(d)))
    split = "training" if train else "test"
    return (
        f"--data-dir {root} has no {name} {split} set: {closest} lacks "
        f"{', '.join(probe._missing_in(closest))} (also looked in "
        f"{', '.join(str(d) for d in candidates if d != closest) or 'nothing else'}); "
        f"{name} was found in {found}: leave out --data-dir to use it"
    )


def _normalisation(images: tapegrad.Tensor) -> tuple[list[float], list[float]]:
    # One mean and standard deviation per channel, over the training images (seed 004).
    mean = images.mean(dim=(0, 2, 3))
    std = images.std(dim=(0, 2, 3))
    return mean.tolist(), std.tolist()


def _normalise(images: tapegrad.Tensor, mean: Sequence[float], std: Sequence[float]):
    shape = (1, len(mean), 1, 1)
    return (images - tapegrad.tensor(mean).reshape(shape)) / tapegrad.tensor(std).reshape(shape)


def _loader(ds, batch_size: int, shuffle: bool = False, seed: int = 0) -> DataLoader:
    if shuffle:
        g = tapegrad.Generator().manual_seed(seed)
        return DataLoader(ds, batch_size=batch_size, shuffle=True, generator=g)
    return DataLoader(ds, batch_size=batch_size)


def _say(args, *parts) -> None:
    # With --json, stdout carries only the JSON line; the rest goes to stderr.
    if not is_main_process():
        return
    print(*parts, file=sys.stderr if args.json else sys.stdout, flush=True)


def _final_weights(checkpoint: dict) -> dict:
    """The weights a finished run ended with: early stopping may restore its best."""
    for key, state in checkpoint.get("callbacks", {}).items():
        if key.startswith("EarlyStopping") and "best_weights" in state:
            return state["best_weights"]
    return checkpoint["model"]


def _check_resume(args, metadata: dict) -> None:
    for key in ("model", "dataset"):
        if metadata.get(key) != getattr(args, key):
            raise CommandError(
                f"--resume {args.resume} was trained with --{key} {metadata.get(key)}, "
                f"not {getattr(args, key)}; resume with --{key} {metadata.get(key)}"
            )


def _read_checkpoint(option: str, path: str):
    """``tapegrad.load(path)``, with one-line errors naming the option."""
    if os.path.isdir(path):
        raise CommandError(
            f"{option} {path} is a folder; give the checkpoint file written by "
            "`tapegrad train --checkpoint FILE`"
        )
    if not os.path.exists(path):
        raise CommandError(
            f"{option} {path}: no such file; write one with `tapegrad train --checkpoint {path}`"
        )
    try:
        return tapegrad.load(path)
    except (RuntimeError, ValueError, OSError, EOFError) as e:
        raise CommandError(f"{option} {path} cannot be read: {e}") from e


def _check_output(option: str, path: str | None) -> None:
    """Outputs go into existing folders: a typo in a path must not create folders."""
    if path is None:
        return
    if os.path.isdir(path):
        raise CommandError(f"{option} {path} is a folder; give a file name in it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CommandError(
            f"{option} {path}: the folder {folder} does not exist; create it first "
            "or choose a path in an existing folder"
        )


def _data_root(args) -> tuple[str, bool]:
    """The dataset folder, and whether it is the only place to look (--data-dir given)."""
    if args.data_dir is None:
        return DEFAULT_DATA_DIR, False
    return args.data_dir, True


def _prepare_data(args) -> dict:
    """The normalised training and test sets, loaded once for all runs."""
    root, strict = _data_root(args)
    splits = [
        load_data(args.dataset, root, split, args.download, args.limit, strict)
        for split in (True, False)
    ]
    (images, targets, classes), (test_images, test_targets, _) = splits
    mean, std = _normalisation(images)
    return {
        "train": TensorDataset(_normalise(images, mean, std), targets),
        "test": TensorDataset(_normalise(test_images, mean, std), test_targets),
        "classes": classes,
        "mean": mean,
        "std": std,
        "in_channels": images.shape[1],
        "image_size": images.shape[-1],
    }


def _train_once(args, data: dict, seed: int, lr: float) -> dict:
    """One run: split, build, fit, then the test error (printed and returned)."""
    dataset = data["train"]
    val_loader = None
    if args.val_fraction > 0:
        train_set, val_set = train.train_val_split(dataset, args.val_fraction, seed=seed)
        val_loader = _loader(val_set, 1000)
    else:
        train_set = Subset(dataset, range(len(dataset)))
    train_loader = _loader(train_set, args.batch_size, shuffle=True, seed=seed)
    test_loader = _loader(data["test"], 1000)
    n_test = len(data["test"])
    if launch.world_size() > 1:  # under mpiexec: shard the data, wrap the model in DDP
        train_loader, val_loader, test_loader = launch.shard_loaders(
            train_set, val_loader, test_loader, args.batch_size, seed
        )

    tapegrad.manual_seed(seed)
    model = build_model(args.model, data["in_channels"], len(data["classes"]), data["image_size"])
    if launch.world_size() > 1:
        model = nn.parallel.DistributedDataParallel(model)
    opt_class = OPTIMIZERS[args.optimizer][0]
    kwargs = {"lr": lr, "weight_decay": args.weight_decay}
    if args.optimizer in ("sgd", "rmsprop"):
        kwargs["momentum"] = args.momentum
    optimizer = opt_class(model.parameters(), **kwargs)
    loss_fn = nn.CrossEntropyLoss()

    checkpoint_path = args.checkpoint or args.resume
    metadata = {
        "model": args.model,
        "dataset": args.dataset,
        "in_channels": data["in_channels"],
        "image_size": data["image_size"],
        "num_classes": len(data["classes"]),
        "mean": data["mean"],
        "std": data["std"],
        "seed": seed,
    }
    callbacks: list = []
    if args.early_stopping is not None:
        callbacks.append(
            train.EarlyStopping("val_loss", patience=args.early_stopping, restore_best_weights=True)
        )
    if checkpoint_path:
        callbacks.append(train.ModelCheckpoint(checkpoint_path, metadata=metadata))
    if args.history:
        callbacks.append(train.HistoryLogger(args.history))
    if args.tensorboard:
        # One TensorBoard run per seed, side by side, when --runs trains several models.
        log_dir = args.tensorboard
        if args.runs > 1:
            log_dir = os.path.join(log_dir, f"seed{seed}")
        callbacks.append(
            train.TensorBoard(log_dir, test_data=test_loader, class_names=data["classes"])
        )
    callbacks.append(train.ProgressBar(bar=not args.no_progress))

    _say(
        args,
        f"training {args.model} on {args.dataset} ({len(train_set)} train"
        + (f", {len(val_loader.dataset)} validation" if val_loader else "")
        + f", {n_test} test images) for {args.epochs} epochs: {args.optimizer} "
        f"lr {lr:g}, batch {args.batch_size}, seed {seed}",
    )
    start = time.perf_counter()
    history = train.fit(
        model, loss_fn, optimizer, train_loader, val_loader, args.epochs,
        callbacks=callbacks, resume=args.resume,
    )  # fmt: skip
    train_seconds = time.perf_counter() - start
    for callback in callbacks:
        if isinstance(callback, train.EarlyStopping):
            _say(args, _early_stopping_report(callback, len(history)))

    scores = train.evaluate(model, test_loader, ["loss", "error"], loss_fn)
    if args.plot and is_main_process():
        _plots(args.plot, history, model, test_loader, data["classes"])
        _say(args, f"plots: {args.plot}, {_misclassified_path(args.plot)}")
    if checkpoint_path:
        _say(args, f"checkpoint: {checkpoint_path}")
    errors = round(scores["error"] * n_test)
    _say(
        args,
        f"test error {100 * scores['error']:.2f}% ({errors}/{n_test}) after "
        f"{len(history)} epochs, {train_seconds:.1f} s of training",
    )
    result = {
        "model": args.model,
        "dataset": args.dataset,
        "epochs": len(history),
        "test_error": scores["error"],
        "test_loss": scores["loss"],
        "train_seconds": round(train_seconds, 3),
        "seed": seed,
        "optimizer": args.optimizer,
        "lr": lr,
        "batch_size": args.batch_size,
        "train_size": len(train_set),
        "test_size": n_test,
    }
    if len(history):
        result["train_error"] = history["error"][-1]
        if val_loader is not None:
            result["val_error"] = history["val_error"][-1]
    return result


def _early_stopping_report(stopper: train.EarlyStopping, epochs: int) -> str:
    """When early stopping stopped, and which epoch's weights the model now has."""
    if stopper.best_weights is None:  # no epoch was validated (e.g. resumed at the end)
        return "early stopping: no validated epoch; the model keeps its last weights"
    if stopper.stopped_epoch:
        what = (
            f"stopped after epoch {stopper.stopped_epoch} ({stopper.monitor} had not "
            f"improved for {stopper.patience} epochs)"
        )
    else:
        what = f"did not stop before the last epoch ({epochs})"
    return (
        f"early stopping: {what}; kept the weights of epoch {stopper.best_epoch}, "
        f"the lowest {stopper.monitor} ({stopper.best:.4f})"
    )


def cmd_train(args) -> int:
    """``tapegrad train``: train a model of the zoo and report its test error; with
    ``--runs N``, N runs over seeds reported as worst / median / best test error."""
    if args.early_stopping is not None and args.val_fraction == 0:
        args.val_fraction = 0.1
        _say(args, "--early-stopping needs a validation split: using --val-fraction 0.1")
    if args.runs > 1 and (args.checkpoint or args.resume):
        raise CommandError(
            "--runs trains several models: it cannot be combined with --checkpoint or --resume"
        )
    for option in ("plot", "history", "checkpoint"):
        _check_output(f"--{option}", getattr(args, option))
    if args.tensorboard:
        try:  # before loading data and training: say now that the package is missing
            importlib.import_module("tapegrad.utils.tensorboard")
        except ImportError as e:
            raise CommandError(f"--tensorboard: {e}") from None
    if args.resume:
        checkpoint = _read_checkpoint("--resume", args.resume)
        _check_resume(args, checkpoint.get("metadata", {}) if isinstance(checkpoint, dict) else {})
    lr = OPTIMIZERS[args.optimizer][1] if args.lr is None else args.lr
    if args.threads is not None:
        tapegrad.set_num_threads(args.threads)
    launch.init_if_launched(args.batch_size)
    data = _prepare_data(args)

    if args.runs == 1:
        result = _train_once(args, data, args.seed, lr)
    else:
        runs: list[dict] = []

        def run(seed: int) -> float:
            runs.append(_train_once(args, data, seed, lr))
            return runs[-1]["test_error"]

        summary = train.repeated_runs(run, range(args.seed, args.seed + args.runs))
        _say(args, str(summary))
        result = {**runs[0], **summary.as_dict(), "test_error": summary.median}
        result["train_seconds"] = round(sum(r["train_seconds"] for r in runs), 3)
        del result["seed"]
    if args.json and is_main_process():
        print(json.dumps(result), flush=True)
    launch.record_finish(launch.rank())
    return 0


def _misclassified_path(path: str) -> str:
    root, ext = os.path.splitext(path)
    return f"{root}-misclassified{ext or '.png'}"


def _plots(path: str, history, model, test_loader, classes) -> None:
    if len(history):
        train.plot_history(history, path, title="training curves")
    try:
        train.plot_misclassified(model, test_loader, _misclassified_path(path), classes)
    except ValueError:  # nothing misclassified: no grid to draw
        pass


def _checkpoint_model(option: str, path: str, verb: str) -> tuple[nn.Module, dict, dict]:
    """The model of a checkpoint written by ``train``, with the weights the run ended with;
    also the checkpoint and its metadata."""
    checkpoint = _read_checkpoint(option, path)
    meta = checkpoint.get("metadata") if isinstance(checkpoint, dict) else None
    if not meta:
        raise CommandError(
            f"{path} has no metadata; {verb} checkpoints written by "
            "`tapegrad train --checkpoint FILE`"
        )
    model = build_model(meta["model"], meta["in_channels"], meta["num_classes"], meta["image_size"])
    model.load_state_dict(_final_weights(checkpoint))
    return model, checkpoint, meta


def cmd_evaluate(args) -> int:
    """``tapegrad evaluate``: the test error of a checkpoint written by ``train``."""
    model, checkpoint, meta = _checkpoint_model("--checkpoint", args.checkpoint, "evaluate")
    root, strict = _data_root(args)
    images, targets, classes = load_data(
        meta["dataset"], root, args.train_split, args.download, args.limit, strict
    )
    images = _normalise(images, meta["mean"], meta["std"])
    metrics = ["loss", "error", train.ConfusionMatrix(meta["num_classes"])]
    if meta["num_classes"] > 5:
        metrics.append("top5_error")
    scores = train.evaluate(
        model, _loader(TensorDataset(images, targets), 1000), metrics, nn.CrossEntropyLoss()
    )
    split = "training" if args.train_split else "test"
    _say(args, f"{meta['model']} on {meta['dataset']} ({split} set, {len(targets)} images)")
    if args.confusion:
        _say(args, "confusion matrix (rows: true class, columns: predicted class):")
        for line in _confusion_lines(scores["confusion_matrix"].tolist(), classes):
            _say(args, line)
    top5 = f", top-5 error {100 * scores['top5_error']:.2f}%" if "top5_error" in scores else ""
    _say(args, f"{split} error {100 * scores['error']:.2f}%{top5}, loss {scores['loss']:.4f}")
    if args.json:
        out = {k: v for k, v in scores.items() if k != "confusion_matrix"}
        out.update(model=meta["model"], dataset=meta["dataset"], epochs=checkpoint.get("epoch"))
        out["confusion_matrix"] = scores["confusion_matrix"].tolist()
        print(json.dumps(out), flush=True)
    return 0


def cmd_export(args) -> int:
    """``tapegrad export``: a checkpoint written by ``train`` as an ONNX model file."""
    _check_output("OUTPUT", args.output)
    model, _, meta = _checkpoint_model("CHECKPOINT", args.checkpoint, "export")
    size = meta["image_size"]
    example = tapegrad.zeros(args.batch_size, meta["in_channels"], size, size)
    dynamic = {"input": {0: "batch"}, "output": {0: "batch"}} if args.batch_dynamic else None
    try:
        tapegrad.onnx.export(
            model, (example,), args.output, input_names=["input"], output_names=["output"],
            opset_version=args.opset, dynamic_axes=dynamic,
        )  # fmt: skip
    except ImportError as e:
        raise CommandError(str(e)) from e
    batch = "batch" if args.batch_dynamic else str(args.batch_size)
    opset = args.opset or tapegrad.onnx.DEFAULT_OPSET
    _say(args, f"{args.output}: {meta['model']} trained on {meta['dataset']}, opset {opset}")
    _say(
        args,
        f"input 'input' ({batch}, {meta['in_channels']}, {size}, {size}), normalised with "
        f"mean {meta['mean']} and std {meta['std']}; output 'output' ({batch}, "
        f"{meta['num_classes']}) logits",
    )
    if args.json:
        keys = ("model", "dataset", "mean", "std")
        print(json.dumps({"output": args.output, **{k: meta[k] for k in keys}}), flush=True)
    return 0


def _confusion_lines(matrix: list[list[int]], classes: Sequence[str]) -> list[str]:
    """The matrix with numbered columns; rows say which class each number is."""
    width = max(5, len(str(max(max(row) for row in matrix))) + 1)
    lines = [" " * 20 + "".join(f"{k:>{width}}" for k in range(len(matrix)))]
    for k, (name, row) in enumerate(zip(classes, matrix)):
        lines.append(f"  {k:>2} {name[:14]:<14} " + "".join(f"{v:>{width}}" for v in row))
    return lines


def _probe(cls, root: str, train: bool):
    # A dataset object that knows where it would look, without reading any file.
    probe = cls.__new__(cls)
    datasets._utils.VisionDataset.__init__(probe, root)
    probe.train = train
    return probe


def _dataset_location(cls, root: str, train: bool = True) -> str | None:
    """Where the dataset's own search (root, $TAPEGRAD_DATA, system folders) finds the
    split's files, without reading them; ``None`` where it finds nothing."""
    try:
        folder = _probe(cls, root, train)._find_folder()
    except OSError:
        return None
    return None if folder is None else str(folder)


# The optional extras of pyproject.toml that add features, and the module each installs.
EXTRAS = {
    "plot": "matplotlib",
    "progress": "tqdm",
    "vision": "PIL",
    "safetensors": "safetensors",
    "distributed": "mpi4py",
    "tensorboard": "tensorboard",
}


def cmd_info(args) -> int:
    """``tapegrad info``: versions, optional extras and which datasets are found."""
    import importlib.util

    print(f"tapegrad {tapegrad.__version__}  (python {platform.python_version()}, ", end="")
    print(f"numpy {np.__version__}, {platform.system()} {platform.machine()})")
    for extra, module in EXTRAS.items():
        found = importlib.util.find_spec(module) is not None
        how = "installed" if found else f"missing: pip install 'tapegrad[{extra}]'"
        print(f"  {module:<11} {how}")
    print(f"  threads     {tapegrad.get_num_threads()} of {os.cpu_count()} CPUs")
    root, strict = _data_root(args)
    where = f"{root!r} only" if strict else f"{root!r}, $TAPEGRAD_DATA, /usr/share/datasets"
    print(f"datasets (searched in {where}):")
    for name, cls in DATASETS.items():
        found = _dataset_location(cls, root)
        if found is not None and strict and not _is_inside(found, root):
            found = None
        print(f"  {name:<14} {found or 'not found'}")
    print("models: " + ", ".join(MODELS))
    return 0


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    # Show "(default: X)" only where there is a default worth reading.
    def _get_help_string(self, action):
        if action.default is None or action.default is False or action.help is None:
            return action.help
        return super()._get_help_string(action)


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


class _Parser(argparse.ArgumentParser):
    """argparse, with "did you mean" for misspelt commands, choices and options."""

    def _check_value(self, action, value):
        # argparse's own check of `choices` (commands, --model, ...), plus a suggestion.
        if action.choices is not None and value not in action.choices:
            raise argparse.ArgumentError(
                action,
                f"invalid choice: {value!r}{_did_you_mean(value, action.choices)} "
                f"(choose from {', '.join(action.choices)})",
            )

    def unrecognized(self, extras: list[str]) -> None:
        """Exit with this (sub)command's usage, naming the unknown arguments."""
        options = [o for a in self._actions for o in a.option_strings]
        hint = "".join(_did_you_mean(e.split("=")[0], options) for e in extras if e[:1] == "-")
        self.error(f"unrecognized arguments: {' '.join(extras)}{hint}")


def _int_at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def _data_dir_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir", metavar="DIR",
        help=f"read the datasets from DIR only (default: ./{DEFAULT_DATA_DIR}, then "
        "$TAPEGRAD_DATA, then /usr/share/datasets)",
    )  # fmt: skip


def _data_options(p: argparse.ArgumentParser) -> None:
    _data_dir_option(p)
    p.add_argument(
        "--download", action="store_true",
        help=f"download the dataset into the data folder (./{DEFAULT_DATA_DIR} or --data-dir) "
        "when it is found nowhere",
    )  # fmt: skip
    p.add_argument(
        "--limit", type=_int_at_least(1), metavar="N",
        help="use only the first N images of each split",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="end with one JSON line of results")


def _model_help() -> str:
    sized = {}
    for name, (size, which) in MODEL_IMAGE_SIZES.items():
        sized.setdefault((size, which), []).append(name)
    needs = "; ".join(
        f"{', '.join(names)} need{'s' if len(names) == 1 else ''} {size}×{size} images ({which})"
        for (size, which), names in sized.items()
    )
    return f"one of {', '.join(MODELS)}; {needs}; the others take any size"


def _add_train(commands) -> None:
    t = commands.add_parser(
        "train", help="train a model and print its test error",
        formatter_class=_HelpFormatter,
        description="Train a model of the zoo (the seed's recipe by default) and print its "
        "test error.",
    )  # fmt: skip
    t.add_argument("--model", default="seed-cnn", choices=list(MODELS), metavar="NAME",
                   help=_model_help())  # fmt: skip
    t.add_argument(
        "--dataset", default="fashion-mnist", choices=list(DATASETS), metavar="NAME",
        help="one of " + ", ".join(DATASETS),
    )  # fmt: skip
    t.add_argument(
        "--epochs", type=_int_at_least(1), default=10, metavar="N",
        help="passes over the training set",
    )  # fmt: skip
    t.add_argument(
        "--lr", type=float, help="learning rate (default: 0.1 for sgd, 1e-2 adagrad, else 1e-3)"
    )
    t.add_argument(
        "--batch-size", type=_int_at_least(1), default=100, metavar="N",
        help="images per SGD step",
    )  # fmt: skip
    t.add_argument(
        "--optimizer", default="sgd", choices=list(OPTIMIZERS), metavar="NAME",
        help="one of " + ", ".join(OPTIMIZERS),
    )  # fmt: skip
    t.add_argument("--momentum", type=float, default=0.0, help="for sgd and rmsprop")
    t.add_argument("--weight-decay", type=float, default=0.0, help="L2 penalty")
    t.add_argument(
        "--seed", type=int, default=0,
        help="seeds the initial weights, the validation split and the shuffling",
    )  # fmt: skip
    t.add_argument(
        "--runs", type=_int_at_least(1), default=1, metavar="N",
        help="train N times (seeds SEED..SEED+N-1) and report worst/median/best test error",
    )  # fmt: skip
    t.add_argument(
        "--val-fraction", type=_fraction, default=0.0,
        help="hold out this fraction of the training set for validation",
    )  # fmt: skip
    t.add_argument(
        "--early-stopping", type=_int_at_least(0), nargs="?", const=3, metavar="PATIENCE",
        help="stop when the validation loss has not improved for PATIENCE (3) epochs, then "
        "keep the weights of the best epoch",
    )  # fmt: skip
    t.add_argument(
        "--checkpoint", metavar="FILE", help="save a resumable checkpoint here after each epoch"
    )
    t.add_argument("--resume", metavar="FILE", help="continue the run saved in this checkpoint")
    t.add_argument(
        "--plot", metavar="FILE",
        help="save training curves (and misclassified images) as PNG; the folder must exist",
    )  # fmt: skip
    t.add_argument("--history", metavar="FILE", help="log per-epoch metrics (.csv or .json)")
    t.add_argument(
        "--tensorboard", metavar="DIR",
        help="log losses, errors, learning rate, weight histograms and misclassified test "
        "images for TensorBoard in this folder (view: tensorboard --logdir DIR)",
    )  # fmt: skip
    t.add_argument("--no-progress", action="store_true", help="no progress bar, one line per epoch")
    t.add_argument(
        "--nproc", type=_int_at_least(1), metavar="N",
        help="data-parallel training on N processes, started with the venv's mpiexec "
        "(--batch-size is the global batch; on a cluster run `mpiexec ... tapegrad train` "
        "instead)",
    )  # fmt: skip
    t.add_argument(
        "--threads", type=_int_at_least(1), metavar="N",
        help="threads for intra-op parallelism (tapegrad.set_num_threads; OpenBLAS then runs 1)",
    )  # fmt: skip
    _data_options(t)
    t.set_defaults(func=cmd_train, parser=t)


def _add_evaluate(commands) -> None:
    e = commands.add_parser(
        "evaluate", help="test error of a checkpoint from `train`",
        formatter_class=_HelpFormatter,
        description="Load a checkpoint written by `tapegrad train --checkpoint FILE` (with "
        "the weights the run ended with, early stopping's best if it was on) and print its "
        "error, top-5 error and loss on the test set of the dataset it was trained on.",
    )  # fmt: skip
    e.add_argument("--checkpoint", required=True, metavar="FILE", help="the checkpoint file")
    e.add_argument("--train-split", action="store_true", help="evaluate on the training set")
    e.add_argument("--confusion", action="store_true", help="print the confusion matrix")
    _data_options(e)
    e.set_defaults(func=cmd_evaluate, parser=e)


def _add_export(commands) -> None:
    x = commands.add_parser(
        "export", help="a checkpoint from `train` as an ONNX model",
        formatter_class=_HelpFormatter,
        description="Write the model of a checkpoint from `tapegrad train --checkpoint FILE` "
        "(the weights the run ended with) as an ONNX file for ONNX Runtime and other tools. "
        "Its input is a batch of images normalised as in training (the command prints the "
        "mean and std). Needs the onnx extra: pip install \"tapegrad[onnx]\".",
    )  # fmt: skip
    x.add_argument("checkpoint", metavar="CHECKPOINT", help="the checkpoint file")
    x.add_argument("output", metavar="OUTPUT", help="the ONNX file to write (e.g. model.onnx)")
    x.add_argument("--opset", type=_int_at_least(14), default=None,
                   help="ONNX opset version, 14 to 20 (default: 20, as PyTorch)")  # fmt: skip
    x.add_argument("--batch-dynamic", action=argparse.BooleanOptionalAction, default=True,
                   help="leave the batch size open (else fixed to --batch-size)")  # fmt: skip
    x.add_argument("--batch-size", type=_int_at_least(1), default=1,
                   help="the example batch traced (fixed with --no-batch-dynamic)")  # fmt: skip
    x.add_argument("--json", action="store_true", help="end with one JSON line of results")
    x.set_defaults(func=cmd_export, parser=x)


def _add_run(commands) -> None:
    # `main` runs `tapegrad run SCRIPT ...` itself (the program's options are its own);
    # this parser serves `tapegrad run --help` and a missing SCRIPT.
    r = commands.add_parser(
        "run", help="run an unchanged PyTorch program on tapegrad",
        description="Run SCRIPT as `python SCRIPT ARGS...` would, with every torch and "
        "torchvision import served by tapegrad (the real PyTorch is never loaded).",
    )  # fmt: skip
    r.add_argument(
        "script", metavar="SCRIPT", help="the Python program (or -m MODULE, as with python -m)"
    )
    r.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="its arguments")
    r.set_defaults(func=lambda args: _torch_shim.run_script(args.script, args.args), parser=r)


def _add_info(commands) -> None:
    i = commands.add_parser(
        "info", help="versions, optional extras and datasets found",
        description="Print the versions, which optional extras are installed and where "
        "each dataset is found.",
    )  # fmt: skip
    _data_dir_option(i)
    i.set_defaults(func=cmd_info, parser=i)


# The subcommands, in the order `tapegrad --help` lists them; each adds its own parser.
SUBCOMMANDS = (_add_train, _add_evaluate, _add_export, _add_run, _add_info)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tapegrad",
        description="Train and evaluate tapegrad's model zoo on standard image datasets.",
        epilog="example: tapegrad train --model seed-cnn --dataset fashion-mnist --epochs 10",
    )
    parser.add_argument("--version", action="version", version=f"tapegrad {tapegrad.__version__}")
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(commands)
    return parser


def _resume_hint(args) -> str:
    """What to tell a user who pressed Ctrl-C: --resume only if there is a file to resume."""
    path = getattr(args, "checkpoint", None) or getattr(args, "resume", None)
    if not path:
        return ""
    if os.path.isfile(path):
        return f"; continue with the same command and --resume {path}"
    return f"; no checkpoint was written to {path} yet (one is saved after each epoch)"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tapegrad`` command."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if len(argv) >= 2 and argv[0] == "run" and not argv[1].startswith("-"):
        # Everything after SCRIPT belongs to the program, options included.
        return _torch_shim.run_script(argv[1], argv[2:])
    if len(argv) >= 3 and argv[0] == "run" and argv[1] == "-m":
        return _torch_shim.run_module(argv[2], argv[3:])
    parser = _parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        # The subcommand's usage, not the top-level one, for an option it does not know.
        getattr(args, "parser", parser).unrecognized(extras)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "nproc", None) and launch.world_size() == 1 and not launch.launched():
        # Start N copies of this command under mpiexec and wait for them.
        return launch.run(args.nproc, launch.without_nproc(sys.argv[1:] if argv is None else argv))
    try:
        return args.func(args)
    except KeyboardInterrupt:
        # Checkpoints are written atomically: the last complete epoch's file is intact.
        print(f"\ntapegrad {args.command}: interrupted{_resume_hint(args)}", file=sys.stderr)
        return 130
    except (CommandError, RuntimeError, ValueError, OSError, pickle.UnpicklingError) as e:
        # Missing files, bad combinations, hostile or unreadable dataset files: one line
        # that says what to do.
        if os.environ.get("TAPEGRAD_DEBUG"):
            raise
        message = " ".join(str(e).split())  # one line, whatever the exception held
        print(f"tapegrad {args.command}: {message}", file=sys.stderr)
        launch.fail(1, f"tapegrad {args.command}: {message}")
        return 1


if __name__ == "__main__":
    sys.exit(main())

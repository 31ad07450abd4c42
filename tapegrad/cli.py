"""The ``tapegrad`` command: train and evaluate the model zoo on the standard datasets.

    tapegrad train --model seed-cnn --dataset fashion-mnist --epochs 10
    tapegrad evaluate --checkpoint run.pt
    tapegrad info

``train`` is the course's recipe (seed 004): inputs normalised by the training set's
mean and standard deviation, SGD with lr 0.1 and batches of 100, cross-entropy, then
the test error, measured once at the end. It is written with ``tapegrad.train`` and can
be read as an example of it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np

import tapegrad

from . import datasets, models, nn, optim, train
from .distributed import launch
from .train.distributed import is_main_process
from .utils.data import DataLoader, Subset, TensorDataset

__all__ = ["main", "build_model", "load_data"]

DATASETS = {
    "mnist": datasets.MNIST,
    "fashion-mnist": datasets.FashionMNIST,
    "kmnist": datasets.KMNIST,
    "cifar10": datasets.CIFAR10,
    "cifar100": datasets.CIFAR100,
}


def _needs_32(name: str, builder: Callable) -> Callable:
    def build(channels: int, classes: int, size: int) -> nn.Module:
        if size != 32:
            raise ValueError(f"--model {name} needs 32×32 images (CIFAR), got {size}×{size}")
        return builder(channels, classes, size)

    return build


def _seed_cnn(channels: int, classes: int, size: int) -> nn.Module:
    if size != 28:
        raise ValueError(f"--model seed-cnn needs 28×28 images (MNIST), got {size}×{size}")
    return models.seed_cnn(channels, classes)


# name -> builder(in_channels, num_classes, image_size)
MODELS: dict[str, Callable[[int, int, int], nn.Module]] = {
    "mlp": lambda c, n, s: models.MLP(c * s * s, (256,), n),
    "lenet5": lambda c, n, s: models.lenet5(c, n, s),
    "seed-cnn": _seed_cnn,
    "alexnet": _needs_32("alexnet", lambda c, n, s: models.alexnet(n, in_channels=c)),
    "vgg11": _needs_32("vgg11", lambda c, n, s: models.vgg11(n, cifar=True, in_channels=c)),
    "vgg11-bn": _needs_32(
        "vgg11-bn", lambda c, n, s: models.vgg11_bn(n, cifar=True, in_channels=c)
    ),
    "vgg16": _needs_32("vgg16", lambda c, n, s: models.vgg16(n, cifar=True, in_channels=c)),
    "vgg16-bn": _needs_32(
        "vgg16-bn", lambda c, n, s: models.vgg16_bn(n, cifar=True, in_channels=c)
    ),
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
    return MODELS[name](in_channels, num_classes, image_size)


def load_data(
    name: str, root: str, train: bool, download: bool = False, limit: int | None = None
) -> tuple[tapegrad.Tensor, tapegrad.Tensor, list[str]]:
    """``(images, targets, class names)`` of a dataset split: images as float32 in
    [0, 1] of shape (N, C, H, W), targets as int64; the first ``limit`` samples only.
    With ``download``, a dataset found nowhere is downloaded into ``root``."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    try:
        ds = DATASETS[name](root, train=train)
    except RuntimeError as e:
        if not download or "not found" not in str(e):
            raise
        print(f"{name} not found locally: downloading it into {root}", file=sys.stderr)
        ds = DATASETS[name](root, train=train, download=True)
    # MNIST's .data is a tensor, CIFAR's a NumPy array (as in torchvision).
    data = np.asarray(ds.data.numpy() if isinstance(ds.data, tapegrad.Tensor) else ds.data)[:limit]
    targets = ds.targets if isinstance(ds.targets, tapegrad.Tensor) else np.asarray(ds.targets)
    targets = np.asarray(targets.numpy() if isinstance(targets, tapegrad.Tensor) else targets)
    # (N, H, W) grey or (N, H, W, C) colour images to (N, C, H, W) floats in [0, 1].
    images = data[:, None] if data.ndim == 3 else data.transpose(0, 3, 1, 2)
    images = tapegrad.from_numpy(np.ascontiguousarray(images, dtype=np.float32) / 255.0)
    labels = tapegrad.from_numpy(targets[:limit].astype(np.int64))
    return images, labels, list(ds.classes)


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
            raise SystemExit(
                f"tapegrad train: --resume {args.resume} was trained with --{key} "
                f"{metadata.get(key)}, not {getattr(args, key)}"
            )


def _prepare_data(args) -> dict:
    """The normalised training and test sets, loaded once for all runs."""
    images, targets, classes = load_data(
        args.dataset, args.data_dir, True, args.download, args.limit
    )
    test_images, test_targets, _ = load_data(
        args.dataset, args.data_dir, False, args.download, args.limit
    )
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


def cmd_train(args) -> int:
    """``tapegrad train``: train a model of the zoo and report its test error; with
    ``--runs N``, N runs over seeds reported as worst / median / best test error."""
    if args.early_stopping is not None and args.val_fraction == 0:
        args.val_fraction = 0.1
        _say(args, "--early-stopping needs a validation split: using --val-fraction 0.1")
    if args.runs > 1 and (args.checkpoint or args.resume):
        raise ValueError("--runs trains several models: it cannot be combined with checkpoints")
    if args.resume:
        if not os.path.exists(args.resume):
            raise SystemExit(f"tapegrad train: --resume {args.resume}: no such file")
        _check_resume(args, tapegrad.load(args.resume).get("metadata", {}))
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


def cmd_evaluate(args) -> int:
    """``tapegrad evaluate``: the test error of a checkpoint written by ``train``."""
    checkpoint = tapegrad.load(args.checkpoint)
    meta = checkpoint.get("metadata") if isinstance(checkpoint, dict) else None
    if not meta:
        raise SystemExit(
            f"tapegrad evaluate: {args.checkpoint} has no metadata; evaluate checkpoints "
            "written by `tapegrad train --checkpoint PATH`"
        )
    model = build_model(meta["model"], meta["in_channels"], meta["num_classes"], meta["image_size"])
    model.load_state_dict(_final_weights(checkpoint))
    images, targets, classes = load_data(
        meta["dataset"], args.data_dir, args.train_split, args.download, args.limit
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
        _say(args, "confusion matrix (rows: true class, columns: predicted):")
        for name, row in zip(classes, scores["confusion_matrix"].tolist()):
            _say(args, f"  {name[:14]:>14} " + " ".join(f"{v:5d}" for v in row))
    top5 = f", top-5 error {100 * scores['top5_error']:.2f}%" if "top5_error" in scores else ""
    _say(args, f"{split} error {100 * scores['error']:.2f}%{top5}, loss {scores['loss']:.4f}")
    if args.json:
        out = {k: v for k, v in scores.items() if k != "confusion_matrix"}
        out.update(model=meta["model"], dataset=meta["dataset"], epochs=checkpoint.get("epoch"))
        out["confusion_matrix"] = scores["confusion_matrix"].tolist()
        print(json.dumps(out), flush=True)
    return 0


def _dataset_location(cls, root: str) -> str | None:
    # The datasets' own search (root, $TAPEGRAD_DATA, system folders), without reading.
    probe = cls.__new__(cls)
    datasets._utils.VisionDataset.__init__(probe, root)
    probe.train = True
    try:
        folder = probe._find_folder()
    except (AttributeError, OSError):
        return None
    return None if folder is None else str(folder)


def cmd_info(args) -> int:
    """``tapegrad info``: versions, optional extras and which datasets are found."""
    import importlib.util

    print(f"tapegrad {tapegrad.__version__}  (python {platform.python_version()}, ", end="")
    print(f"numpy {np.__version__}, {platform.system()} {platform.machine()})")
    for extra, module in (("plot", "matplotlib"), ("progress", "tqdm"), ("gpu", "cupy")):
        found = importlib.util.find_spec(module) is not None
        print(f"  {module:<11} {'installed' if found else 'missing'} (tapegrad[{extra}])")
    print(f"  threads     {tapegrad.get_num_threads()} of {os.cpu_count()} CPUs")
    print(f"datasets (searched in {args.data_dir!r}, $TAPEGRAD_DATA, /usr/share/datasets):")
    for name, cls in DATASETS.items():
        where = _dataset_location(cls, args.data_dir)
        print(f"  {name:<14} {where or 'not found'}")
    print("models: " + ", ".join(MODELS))
    return 0


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    # Show "(default: X)" only where there is a default worth reading.
    def _get_help_string(self, action):
        if action.default is None or action.default is False or action.help is None:
            return action.help
        return super()._get_help_string(action)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tapegrad",
        description="Train and evaluate tapegrad's model zoo on standard image datasets.",
        epilog="example: tapegrad train --model seed-cnn --dataset fashion-mnist --epochs 10",
    )
    parser.add_argument("--version", action="version", version=f"tapegrad {tapegrad.__version__}")
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")

    def data_options(p):
        p.add_argument("--data-dir", default="data", help="dataset root")
        p.add_argument(
            "--download", action=argparse.BooleanOptionalAction, default=True,
            help="download the dataset into --data-dir when it is not found",
        )  # fmt: skip
        p.add_argument("--limit", type=int, help="use only the first N images of each split")
        p.add_argument("--json", action="store_true", help="end with one JSON line of results")

    t = commands.add_parser(
        "train", help="train a model and print its test error",
        formatter_class=_HelpFormatter,
        description="Train a model of the zoo (the seed's recipe by default) and print its "
        "test error.",
    )  # fmt: skip
    t.add_argument(
        "--model", default="seed-cnn", choices=list(MODELS), metavar="NAME",
        help="one of " + ", ".join(MODELS),
    )  # fmt: skip
    t.add_argument(
        "--dataset", default="fashion-mnist", choices=list(DATASETS), metavar="NAME",
        help="one of " + ", ".join(DATASETS),
    )  # fmt: skip
    t.add_argument("--epochs", type=int, default=10, help="passes over the training set")
    t.add_argument(
        "--lr", type=float, help="learning rate (default: 0.1 for sgd, 1e-2 adagrad, else 1e-3)"
    )
    t.add_argument("--batch-size", type=int, default=100, help="images per SGD step")
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
        "--runs", type=int, default=1, metavar="N",
        help="train N times (seeds SEED..SEED+N-1) and report worst/median/best test error",
    )  # fmt: skip
    t.add_argument(
        "--val-fraction", type=float, default=0.0,
        help="hold out this fraction of the training set for validation",
    )  # fmt: skip
    t.add_argument(
        "--early-stopping", type=int, nargs="?", const=3, metavar="PATIENCE",
        help="stop when the validation loss has not improved for PATIENCE (3) epochs",
    )  # fmt: skip
    t.add_argument("--checkpoint", help="save a resumable checkpoint here after each epoch")
    t.add_argument("--resume", help="continue the run saved in this checkpoint")
    t.add_argument("--plot", metavar="PATH", help="save training curves (and errors) as PNG")
    t.add_argument("--history", metavar="PATH", help="log per-epoch metrics (.csv or .json)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar, one line per epoch")
    t.add_argument(
        "--nproc", type=int, metavar="N",
        help="data-parallel training on N processes, started with the venv's mpiexec "
        "(--batch-size is the global batch; on a cluster run `mpiexec ... tapegrad train` "
        "instead)",
    )  # fmt: skip
    t.add_argument(
        "--threads", type=int, metavar="N",
        help="threads for batch-parallel ops (tapegrad.set_num_threads; same numbers for any N)",
    )  # fmt: skip
    data_options(t)
    t.set_defaults(func=cmd_train)

    e = commands.add_parser(
        "evaluate", help="test error of a checkpoint from `train`",
        formatter_class=_HelpFormatter,
    )  # fmt: skip
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--train-split", action="store_true", help="evaluate on the training set")
    e.add_argument("--confusion", action="store_true", help="print the confusion matrix")
    data_options(e)
    e.set_defaults(func=cmd_evaluate)

    i = commands.add_parser("info", help="versions, optional extras and datasets found")
    i.add_argument("--data-dir", default="data")
    i.set_defaults(func=cmd_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tapegrad`` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    for name in ("epochs", "batch_size", "limit", "runs", "threads", "nproc"):
        value = getattr(args, name, None)
        if value is not None and value < (0 if name == "epochs" else 1):
            parser.error(f"--{name.replace('_', '-')} must be positive, got {value}")
    if not 0 <= getattr(args, "val_fraction", 0) < 1:
        parser.error(f"--val-fraction must be in [0, 1), got {args.val_fraction}")
    if getattr(args, "nproc", None) and launch.world_size() == 1 and not launch.launched():
        # Start N copies of this command under mpiexec and wait for them.
        return launch.run(args.nproc, launch.without_nproc(sys.argv[1:] if argv is None else argv))
    try:
        return args.func(args)
    except KeyboardInterrupt:
        # Checkpoints are written atomically: the last complete epoch's file is intact.
        resume = getattr(args, "checkpoint", None) or getattr(args, "resume", None)
        hint = f"; continue with the same command and --resume {resume}" if resume else ""
        print(f"\ntapegrad {args.command}: interrupted{hint}", file=sys.stderr)
        return 130
    except (RuntimeError, ValueError) as e:
        # Missing datasets and bad combinations: the message says what to do.
        if os.environ.get("TAPEGRAD_DEBUG"):
            raise
        print(f"tapegrad {args.command}: {e}", file=sys.stderr)
        launch.fail(1, f"tapegrad {args.command}: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())

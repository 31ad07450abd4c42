"""Callbacks for ``fit``: early stopping, checkpoints, learning-rate schedules, history
logs, TensorBoard and a progress bar (the hooks of Keras' callbacks, on a ``TrainState``).

A callback overrides any of ``on_train_begin``, ``on_epoch_begin``, ``on_batch_end``,
``on_epoch_end`` and ``on_train_end``, each given the ``TrainState``; ``state_dict`` /
``load_state_dict`` carry what it must remember across a resumed run.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import tempfile
import time
from typing import Any

import tapegrad

from .distributed import is_main_process, strip_module_prefix, unwrap
from .loop import TrainState, checkpoint_state
from .plots import misclassified

__all__ = [
    "Callback",
    "EarlyStopping",
    "ModelCheckpoint",
    "LRSchedulerCallback",
    "HistoryLogger",
    "ProgressBar",
    "TensorBoard",
]


class Callback:
    """Base class: every hook does nothing; ``order`` sorts callbacks (low runs first)."""

    order = 0

    def on_train_begin(self, state: TrainState) -> None:
        """Called once before the first epoch.

        Args:
            state: the run's ``TrainState``.
        """

    def on_epoch_begin(self, state: TrainState) -> None:
        """Called before each epoch.

        Args:
            state: the run's ``TrainState``; ``state.epoch`` is the number of epochs done so far.
        """

    def on_batch_end(self, state: TrainState) -> None:
        """Called after each optimizer step; ``state.batch_logs`` holds the batch loss.

        Args:
            state: the run's ``TrainState``; ``state.batch`` counts the epoch's batches from 1.
        """

    def on_epoch_end(self, state: TrainState) -> None:
        """Called after each epoch; ``state.logs`` holds its metrics.

        Args:
            state: the run's ``TrainState``; set ``state.stop_training = True`` to end the run after
                this epoch.
        """

    def on_train_end(self, state: TrainState) -> None:
        """Called once when training ends.

        Args:
            state: the run's ``TrainState``.
        """

    def state_dict(self) -> dict:
        """What a resumed run needs to continue like an uninterrupted one.

        Returns:
            A dict of plain data and tensors, saved in ``checkpoint_state``'s ``"callbacks"``.
        """
        return {}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict`` returned.

        Args:
            state_dict: a dict ``state_dict`` returned.
        """


def _better(mode: str, value: float, best: float | None, min_delta: float) -> bool:
    if best is None:
        return not math.isnan(value)
    if mode == "min":
        return value < best - min_delta
    return value > best + min_delta


def _resolve_mode(mode: str, monitor: str) -> str:
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min', 'max' or 'auto', got {mode!r}")
    return mode


def _monitored(state: TrainState, monitor: str) -> float:
    if monitor not in state.logs:
        available = ", ".join(k for k in state.logs if k != "epoch")
        hint = " (pass val_data to fit for val_* metrics)" if monitor.startswith("val_") else ""
        raise KeyError(f"monitored metric {monitor!r} is not logged{hint}; logged: {available}")
    return float(state.logs[monitor])


def _copy_state_dict(model) -> dict:
    return {k: v.detach().clone() for k, v in unwrap(model).state_dict().items()}


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs (cf. Keras' ``EarlyStopping``); ``restore_best_weights`` puts back the
    weights of the best epoch when training ends.

    Args:
        monitor: the logged metric to watch, e.g. ``"val_loss"``, ``"val_error"``, ``"loss"``.
        patience: the number of epochs without improvement after which training stops.
        min_delta: the least change that counts as an improvement (its absolute value is used).
        mode: ``"min"`` (lower is better), ``"max"``, or ``"auto"`` (``"max"`` for a metric whose
            name contains ``"acc"``, else ``"min"``).
        restore_best_weights: load the best epoch's weights into the model when training ends.
        verbose: print a line to stderr when stopping (rank 0 only).

    Raises:
        ValueError: ``patience`` is negative or ``mode`` is unknown.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
        verbose: bool = False,
    ) -> None:
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = abs(min_delta)
        self.mode = _resolve_mode(mode, monitor)
        self.restore_best_weights = restore_best_weights
        self.verbose = verbose
        self.best: float | None = None
        self.best_epoch = 0
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights: dict | None = None

    def on_epoch_end(self, state: TrainState) -> None:
        value = _monitored(state, self.monitor)
        if _better(self.mode, value, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best_weights:
                self.best_weights = _copy_state_dict(state.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            state.stop_training = True
            self.stopped_epoch = state.epoch
            if self.verbose and is_main_process():
                print(
                    f"early stopping at epoch {state.epoch}: {self.monitor} has not improved "
                    f"since epoch {self.best_epoch} ({self.best:.4g})",
                    file=sys.stderr,
                )

    def on_train_end(self, state: TrainState) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            unwrap(state.model).load_state_dict(strip_module_prefix(self.best_weights))

    def state_dict(self) -> dict:
        out = {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}
        out["stopped_epoch"] = self.stopped_epoch
        if self.best_weights is not None:
            out["best_weights"] = self.best_weights
        return out

    def load_state_dict(self, state_dict: dict) -> None:
        self.best = state_dict["best"]
        self.best_epoch = state_dict["best_epoch"]
        self.wait = state_dict["wait"]
        self.stopped_epoch = state_dict.get("stopped_epoch", 0)
        self.best_weights = state_dict.get("best_weights")


class ModelCheckpoint(Callback):
    """Save a checkpoint with ``tapegrad.save`` (atomically) after every ``every`` epochs.

    The file holds ``checkpoint_state``: model, optimizer, schedulers, epoch, history
    and random states, so ``fit(..., resume=path)`` continues the run exactly;
    ``weights_only=True`` saves just ``model.state_dict()``. ``path`` may contain
    ``{epoch}`` or a logged metric (``"ckpt-{epoch:02d}-{val_error:.4f}.pt"``). With
    ``monitor``, ``save_best_only`` keeps only the best epoch's checkpoint. ``metadata``
    (plain data: names, numbers) is stored under ``"metadata"``, e.g. how to rebuild the
    model.

    Args:
        path: the file to write; ``str.format`` fields are filled from the epoch's logs
            (``{epoch}``, ``{val_loss}``, ...).
        monitor: a logged metric that decides which epoch is best; ``None`` saves every ``every``
            epochs.
        mode: ``"min"``, ``"max"`` or ``"auto"``, as in ``EarlyStopping``.
        save_best_only: save only when ``monitor`` improves (needs ``monitor``).
        weights_only: save ``model.state_dict()`` only, not the whole training state.
        every: save every ``every`` epochs (and at the last epoch, and when training stops early).
        metadata: plain data stored under ``"metadata"`` in full checkpoints.

    Raises:
        ValueError: ``save_best_only`` without ``monitor``, or an unknown ``mode``.
    """

    order = 100  # after the schedulers and early stopping have updated their state

    def __init__(
        self,
        path: str | os.PathLike,
        monitor: str | None = None,
        mode: str = "auto",
        save_best_only: bool = False,
        weights_only: bool = False,
        every: int = 1,
        metadata: dict | None = None,
    ) -> None:
        if save_best_only and monitor is None:
            raise ValueError("save_best_only=True needs a metric to monitor (monitor=...)")
        self.path = os.fspath(path)
        self.monitor = monitor
        self.mode = _resolve_mode(mode, monitor or "")
        self.save_best_only = save_best_only
        self.weights_only = weights_only
        self.every = every
        self.metadata = metadata
        self.best: float | None = None
        self.last_path: str | None = None

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch % self.every and not state.stop_training and state.epoch < state.epochs:
            return
        if self.monitor is not None:
            value = _monitored(state, self.monitor)
            improved = _better(self.mode, value, self.best, 0.0)
            if improved:
                self.best = value
            if self.save_best_only and not improved:
                return
        if not is_main_process():
            return  # one writer: rank 0 (every rank holds the same weights)
        path = self.path.format(**state.logs)
        if self.weights_only:
            obj = unwrap(state.model).state_dict()
        else:
            obj = checkpoint_state(state)
            if self.metadata is not None:
                obj["metadata"] = self.metadata
        tapegrad.save(obj, path)
        self.last_path = path

    def state_dict(self) -> dict:
        return {"best": self.best} if self.best is not None else {}

    def load_state_dict(self, state_dict: dict) -> None:
        self.best = state_dict.get("best")


def _is_plateau(scheduler: Any) -> bool:
    try:
        from ..optim.lr_scheduler import ReduceLROnPlateau
    except ImportError:
        return type(scheduler).__name__ == "ReduceLROnPlateau"
    return isinstance(scheduler, ReduceLROnPlateau)


class LRSchedulerCallback(Callback):
    """Step a learning-rate scheduler after each epoch (``interval="epoch"``) or each
    batch (``"batch"``, e.g. for ``OneCycleLR``). A ``ReduceLROnPlateau`` is stepped
    with ``monitor`` (default ``val_loss`` when validating, else ``loss``).

    Args:
        scheduler: a ``tapegrad.optim.lr_scheduler`` scheduler (or any object with ``step()``,
            ``state_dict()`` and ``load_state_dict()``).
        monitor: the metric given to a ``ReduceLROnPlateau``'s ``step``; by default ``val_loss``
            when logged, else ``loss``.
        interval: ``"epoch"`` or ``"batch"``: when to step.

    Raises:
        ValueError: an unknown ``interval``, or ``"batch"`` with a ``ReduceLROnPlateau``.
    """

    order = 10

    def __init__(self, scheduler: Any, monitor: str | None = None, interval: str = "epoch"):
        if interval not in ("epoch", "batch"):
            raise ValueError(f"interval must be 'epoch' or 'batch', got {interval!r}")
        if interval == "batch" and _is_plateau(scheduler):
            raise ValueError("ReduceLROnPlateau steps on a metric, so interval must be 'epoch'")
        self.scheduler = scheduler
        self.monitor = monitor
        self.interval = interval

    def on_batch_end(self, state: TrainState) -> None:
        if self.interval == "batch":
            self.scheduler.step()

    def on_epoch_end(self, state: TrainState) -> None:
        if self.interval != "epoch":
            return
        if _is_plateau(self.scheduler):
            monitor = self.monitor or ("val_loss" if "val_loss" in state.logs else "loss")
            self.scheduler.step(_monitored(state, monitor))
        else:
            self.scheduler.step()

    def state_dict(self) -> dict:
        return {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state_dict: dict) -> None:
        self.scheduler.load_state_dict(state_dict["scheduler"])


def _plain(value: Any) -> Any:
    """A JSON/CSV-friendly copy: tensors to lists, NaN and infinities to None."""
    if isinstance(value, tapegrad.Tensor):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _write_atomic(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


class HistoryLogger(Callback):
    """Write the history, one row per epoch, to a CSV or JSON file after each epoch
    (cf. Keras' ``CSVLogger``). The format comes from the suffix unless ``format`` is
    given; the file is rewritten atomically, so a resumed run leaves no duplicate rows.

    Args:
        path: the file to write.
        format: ``"csv"`` or ``"json"``; by default ``"json"`` for a ``.json`` suffix, else
            ``"csv"``.

    Raises:
        ValueError: an unknown ``format``.
    """

    order = 90

    def __init__(self, path: str | os.PathLike, format: str | None = None) -> None:  # noqa: A002
        self.path = os.fspath(path)
        fmt = format or ("json" if self.path.lower().endswith(".json") else "csv")
        if fmt not in ("csv", "json"):
            raise ValueError(f"format must be 'csv' or 'json', got {fmt!r}")
        self.format = fmt

    def on_epoch_end(self, state: TrainState) -> None:
        if not is_main_process():
            return
        rows = [{k: _plain(v) for k, v in e.items()} for e in state.history]
        if self.format == "json":
            text = json.dumps(rows, indent=1) + "\n"
        else:
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=state.history.keys(), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            text = buf.getvalue()
        _write_atomic(self.path, text)


def _format_logs(logs: dict) -> str:
    parts = []
    for key, value in logs.items():
        if key == "epoch" or not isinstance(value, (int, float)):
            continue
        if key == "seconds":
            parts.append(f"{value:.1f}s")
        elif "error" in key or "accuracy" in key:
            parts.append(f"{key} {100 * value:.2f}%")
        elif "loss" in key:
            parts.append(f"{key} {value:.4f}")
        else:
            parts.append(f"{key} {value:.4g}")
    return "  ".join(parts)


class ProgressBar(Callback):
    """A progress bar over each epoch's batches with the running loss, and one summary
    line per epoch. Uses ``tqdm`` when installed; otherwise a plain text bar on a
    terminal (only the summary lines when the output is not a terminal, or with
    ``bar=False``). In a distributed job only rank 0 reports.

    Args:
        file: the stream to write to; by default ``sys.stderr``.
        use_tqdm: draw the bar with ``tqdm``; by default when ``tqdm`` is installed.
        bar: draw a bar during each epoch; ``False`` prints only the summary lines.
    """

    order = 80

    def __init__(self, file=None, use_tqdm: bool | None = None, bar: bool = True) -> None:
        self.file = file
        self.bar = bar
        if use_tqdm is None:
            try:
                import tqdm  # noqa: F401

                use_tqdm = True
            except ImportError:
                use_tqdm = False
        self.use_tqdm = use_tqdm
        self._bar = None
        self._loss_sum = 0.0
        self._seen = 0
        self._last_draw = 0.0

    @property
    def _stream(self):
        return self.file if self.file is not None else sys.stderr

    def _prefix(self, state: TrainState) -> str:
        width = len(str(state.epochs))
        return f"epoch {state.epoch + 1:>{width}}/{state.epochs}"

    def on_epoch_begin(self, state: TrainState) -> None:
        if not is_main_process():
            return  # rank 0 reports for the job
        self._loss_sum, self._seen, self._last_draw = 0.0, 0, 0.0
        try:
            self._total = len(state.train_data)
        except TypeError:  # an iterable without a length: no total to show
            self._total = None
        total = self._total
        if self.use_tqdm and self.bar:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=total, desc=self._prefix(state), unit="batch", leave=False,
                file=self._stream, dynamic_ncols=True,
            )  # fmt: skip

    def on_batch_end(self, state: TrainState) -> None:
        if not is_main_process():
            return  # rank 0 reports for the job
        size = state.batch_logs.get("size", 1)
        self._loss_sum += state.batch_logs["loss"] * size
        self._seen += size
        now = time.monotonic()
        if now - self._last_draw < 0.2 and state.batch != self._total:
            if self._bar is not None:
                self._bar.update(1)
            return
        self._last_draw = now
        loss = self._loss_sum / self._seen
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        elif self.bar and self._stream.isatty():
            done = state.batch / self._total if self._total else 0.0
            bar = "#" * int(30 * done) + "." * (30 - int(30 * done))
            print(
                f"\r{self._prefix(state)} [{bar}] {state.batch}/{self._total or '?'} "
                f"loss {loss:.4f}",
                end="", file=self._stream, flush=True,
            )  # fmt: skip

    def on_epoch_end(self, state: TrainState) -> None:
        if not is_main_process():
            return  # rank 0 reports for the job
        width = len(str(state.epochs))
        line = f"epoch {state.epoch:>{width}}/{state.epochs}  {_format_logs(state.logs)}"
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.bar and self._stream.isatty():
            print("\r\033[K", end="", file=self._stream)
        print(line, file=self._stream, flush=True)

    def on_train_end(self, state: TrainState) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _as_images(batch: tapegrad.Tensor) -> tapegrad.Tensor | None:
    """(N, C, H, W) images each stretched to [0, 1] for display, or None when the inputs
    are not images (flat feature vectors, sequences)."""
    if batch.dim() == 3:  # (N, H, W): grey images without a channel axis
        batch = batch.unsqueeze(1)
    if batch.dim() != 4 or batch.shape[1] not in (1, 3):
        return None
    flat = batch.detach().float().flatten(1)
    low = flat.min(dim=1).values.view(-1, 1, 1, 1)
    high = flat.max(dim=1).values.view(-1, 1, 1, 1)
    return (batch.float() - low) / (high - low).clamp(min=1e-5)


class TensorBoard(Callback):
    """Log training to TensorBoard (cf. Keras' ``TensorBoard`` callback), with
    ``tapegrad.utils.tensorboard.SummaryWriter``; view it with ``tensorboard --logdir``.

    After each epoch: every logged metric as a scalar (``loss/train``, ``loss/val``,
    ``error/train``, ``error/val``, ..., and ``lr``) and a histogram of every parameter
    (``weights/<name>``), at step = the epoch number. When training ends: a grid of up to
    ``max_images`` misclassified examples of ``test_data`` (default: the validation
    data), each stretched to [0, 1], tagged ``misclassified``, with their true and
    predicted classes as text. In a distributed job only rank 0 writes. A resumed run
    hides the old run's events after the epoch it resumes from.

    Args:
        log_dir: the run's folder; default ``runs/<date>_<hostname>`` as ``SummaryWriter``.
        test_data: batches of ``(inputs, targets)`` for the misclassified grid.
        histograms: log the parameter histograms.
        max_images: the most misclassified examples to show.
        class_names: names of the classes, for the text.

    Raises:
        ImportError: the ``tensorboard`` package is not installed.
    """

    order = 90  # after schedulers and early stopping: logs what they did this epoch

    def __init__(
        self,
        log_dir: str | os.PathLike | None = None,
        test_data: Any = None,
        histograms: bool = True,
        max_images: int = 64,
        class_names: list[str] | None = None,
    ) -> None:
        from ..utils.tensorboard import SummaryWriter  # fails now, not after training

        self._writer_class = SummaryWriter
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        self.test_data = test_data
        self.histograms = histograms
        self.max_images = max_images
        self.class_names = class_names
        self.writer = None

    def on_train_begin(self, state: TrainState) -> None:
        if not is_main_process():
            return
        purge = state.epoch + 1 if state.epoch else None  # resumed: drop the old tail
        self.writer = self._writer_class(self.log_dir, purge_step=purge)

    def on_epoch_end(self, state: TrainState) -> None:
        if self.writer is None:
            return
        for key, value in state.logs.items():
            if key in ("epoch", "seconds") or not isinstance(value, (int, float)):
                continue
            if key == "lr":
                tag = "lr"
            elif key.startswith("val_"):
                tag = f"{key[4:]}/val"
            else:
                tag = f"{key}/train"
            self.writer.add_scalar(tag, value, state.epoch)
        if self.histograms:
            for name, p in unwrap(state.model).named_parameters():
                self.writer.add_histogram(f"weights/{name}", p, state.epoch)
        self.writer.flush()

    def _label(self, k: int) -> str:
        if self.class_names is not None and 0 <= k < len(self.class_names):
            return self.class_names[k]
        return str(k)

    def on_train_end(self, state: TrainState) -> None:
        if self.writer is None:
            return
        data = self.test_data if self.test_data is not None else state.val_data
        if data is not None and self.max_images > 0:
            # The unwrapped model: rank 0 alone runs it, so no collective may be involved.
            images, labels, predictions = misclassified(unwrap(state.model), data, self.max_images)
            grid = _as_images(tapegrad.stack(images)) if images else None
            if grid is not None:
                self.writer.add_images("misclassified", grid, state.epoch)
                rows = [
                    f"| {i} | {self._label(t)} | {self._label(p)} |"
                    for i, (t, p) in enumerate(zip(labels, predictions))
                ]
                table = "| image | true | predicted |\n|---|---|---|\n" + "\n".join(rows)
                self.writer.add_text("misclassified", table, state.epoch)
        self.writer.close()
        self.writer = None

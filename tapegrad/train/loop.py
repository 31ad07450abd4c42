"""``fit`` and ``evaluate``: the training loop of the course, with callbacks.

The loop is written with the public API only, so it reads like the seed's code and a
user can copy it to write their own:

    for inputs, targets in train_data:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()

Example:

    >>> history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
    ...               train_loader, val_loader, epochs=10, callbacks=[EarlyStopping()])
    >>> evaluate(model, test_loader)["error"]
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import tapegrad

from .. import nn
from .._tensor import Tensor
from .distributed import reduce_metrics, set_sampler_epoch, strip_module_prefix, unwrap, world
from .metrics import Metric, get_metric

__all__ = [
    "History",
    "TrainState",
    "fit",
    "evaluate",
    "predict",
    "train_epoch",
    "checkpoint_state",
    "restore_checkpoint",
]

MetricSpec = str | Metric


class History:
    """The per-epoch logs of ``fit`` (cf. Keras' ``History``): ``history[i]`` is epoch
    ``i``'s dict, ``history["val_error"]`` the list of one value over the epochs.

    Args:
        epochs: the per-epoch dicts to start with (copied), e.g. from a checkpoint's ``"history"``.
    """

    def __init__(self, epochs: Iterable[dict] = ()) -> None:
        self.epochs: list[dict] = [dict(e) for e in epochs]

    def append(self, logs: dict) -> None:
        """Add one epoch's logs, kept as the same dict (not a copy).

        Args:
            logs: the epoch's ``{name: value}`` dict.
        """
        # The same dict, so what callbacks add at the end of the epoch is kept.
        self.epochs.append(logs)

    def keys(self) -> list[str]:
        """Every key logged, in order of first appearance."""
        return list(dict.fromkeys(k for e in self.epochs for k in e))

    def __getitem__(self, key: int | str):
        if isinstance(key, str):
            if key not in self.keys():
                raise KeyError(f"{key!r} was not logged; logged keys are {self.keys()}")
            return [e.get(key) for e in self.epochs]
        return self.epochs[key]

    def __len__(self) -> int:
        return len(self.epochs)

    def __iter__(self):
        return iter(self.epochs)

    def __repr__(self) -> str:
        return f"History({len(self)} epochs, keys={self.keys()})"


@dataclass
class TrainState:
    """Everything a callback may look at or change while ``fit`` runs.

    ``epoch`` counts completed epochs; ``logs`` is the current epoch's metrics (after
    the epoch: ``loss``, ``error``, ``val_loss``, ``val_error``, ``lr``, ``seconds``);
    a callback sets ``stop_training`` to end training after the current epoch.

    Each argument is kept as the attribute of the same name.

    Args:
        model: the module being trained.
        loss_fn: the loss, called as ``loss_fn(outputs, targets)``.
        optimizer: the optimizer stepping ``model``'s parameters.
        train_data: the training batches of ``(inputs, targets)``.
        val_data: the validation batches, or ``None``.
        epochs: the number of epochs to train for.
        callbacks: the callbacks, in the order they run.
        metrics: the metrics computed each epoch (names or ``Metric`` objects).
        device: the device batches are moved to, or ``None`` to leave them.
        epoch: the number of completed epochs.
        history: the logs of the completed epochs.
        logs: the current epoch's metrics.
        batch: the number of batches done in the current epoch.
        num_batches: the number of batches per epoch, ``None`` when ``train_data`` has no length.
        batch_logs: the last batch's ``{"loss": ..., "size": ...}``.
        stop_training: set it to end training after the current epoch.
    """

    model: nn.Module
    loss_fn: Any
    optimizer: Any
    train_data: Iterable
    val_data: Iterable | None
    epochs: int
    callbacks: list = field(default_factory=list)
    metrics: Sequence[MetricSpec] = ("loss", "error")
    device: Any = None
    epoch: int = 0
    history: History = field(default_factory=History)
    logs: dict = field(default_factory=dict)
    batch: int = 0
    num_batches: int | None = None
    batch_logs: dict = field(default_factory=dict)
    stop_training: bool = False

    def callback(self, cls: type):
        """The first callback of type ``cls``, or None.

        Args:
            cls: the callback class to look for (subclasses match).
        """
        return next((c for c in self.callbacks if isinstance(c, cls)), None)


def _to(x, device):
    if device is None:
        return x
    if isinstance(x, Tensor):
        return x.to(device)
    if isinstance(x, (list, tuple)):
        return type(x)(_to(v, device) for v in x)
    return x


def _split_batch(batch) -> tuple[Any, Any]:
    if isinstance(batch, (list, tuple)) and len(batch) == 2:
        return batch[0], batch[1]
    raise ValueError(
        "fit and evaluate expect batches of (inputs, targets), e.g. from a DataLoader over "
        f"a TensorDataset(inputs, targets); got a {type(batch).__name__}"
        + (f" of length {len(batch)}" if isinstance(batch, (list, tuple)) else "")
    )


def _metric_list(metrics: Sequence[MetricSpec]) -> list[Metric]:
    fresh = []
    for m in metrics:
        metric = get_metric(m)
        metric.reset()
        fresh.append(metric)
    return fresh


def _compute(trackers: list[Metric]) -> dict:
    return {m.name: m.compute() for m in trackers}


def train_epoch(state: TrainState) -> dict:
    """One pass over ``state.train_data``; returns the epoch's training metrics.

    Args:
        state: the run's ``TrainState``; its model, optimizer, data, metrics and callbacks are used,
            and ``batch``, ``num_batches`` and ``batch_logs`` are updated.

    Returns:
        ``{name: value}`` of ``state.metrics`` over the epoch's batches (summed over the ranks in a
        distributed job).

    Raises:
        ValueError: a batch is not an ``(inputs, targets)`` pair.
    """
    model, optimizer, loss_fn = state.model, state.optimizer, state.loss_fn
    trackers = _metric_list(state.metrics)
    state.num_batches = _length(state.train_data)
    set_sampler_epoch(state.train_data, state.epoch)
    model.train()
    for i, batch in enumerate(state.train_data):
        inputs, targets = _split_batch(batch)
        inputs, targets = _to(inputs, state.device), _to(targets, state.device)
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
        loss.backward()
        optimizer.step()

        value = loss.item()
        with tapegrad.no_grad():
            for m in trackers:
                m.update(outputs.detach(), targets, value)
        state.batch = i + 1
        state.batch_logs = {"loss": value, "size": len(targets)}
        for cb in state.callbacks:
            cb.on_batch_end(state)
    reduce_metrics(trackers)
    return _compute(trackers)


def _length(data) -> int | None:
    try:
        return len(data)
    except TypeError:
        return None


def evaluate(
    model: nn.Module,
    data: Iterable,
    metrics: Sequence[MetricSpec] | None = None,
    loss_fn: Any = None,
    device: Any = None,
) -> dict:
    """The metrics of ``model`` over ``data`` (batches of ``(inputs, targets)``), in eval
    mode and without gradients. Default metrics: ``loss`` (when ``loss_fn`` is given)
    and ``error``. Returns ``{name: value}``, e.g. ``{"loss": 0.31, "error": 0.112}``.
    In a distributed job every rank calls it on its shard; the metrics cover all shards.

    Args:
        model: the module to evaluate; its training mode is restored afterwards.
        data: batches of ``(inputs, targets)``.
        metrics: metric names (``"loss"``, ``"error"``, ``"accuracy"``, ``"top5_error"``, ...) or
            ``Metric`` objects.
        loss_fn: the loss, needed for the ``"loss"`` metric.
        device: the device to move each batch to.

    Raises:
        ValueError: the ``"loss"`` metric without ``loss_fn``, or a batch that is not a pair.
    """
    if metrics is None:
        metrics = ("loss", "error") if loss_fn is not None else ("error",)
    trackers = _metric_list(metrics)
    needs_loss = any(m.name == "loss" for m in trackers)
    if needs_loss and loss_fn is None:
        raise ValueError("evaluate: the 'loss' metric needs loss_fn=...")
    was_training = model.training
    model.eval()
    try:
        with tapegrad.no_grad():
            for batch in data:
                inputs, targets = _split_batch(batch)
                inputs, targets = _to(inputs, device), _to(targets, device)
                outputs = model(inputs)
                loss = loss_fn(outputs, targets).item() if needs_loss else None
                for m in trackers:
                    m.update(outputs, targets, loss)
    finally:
        model.train(was_training)
    reduce_metrics(trackers)
    return _compute(trackers)


def predict(model: nn.Module, data: Iterable, device: Any = None) -> tuple[Tensor, Tensor]:
    """Concatenated ``(outputs, targets)`` of ``model`` over ``data``, in eval mode.

    Args:
        model: the module; its training mode is restored afterwards.
        data: batches of ``(inputs, targets)``.
        device: the device to move each batch to.

    Returns:
        ``(outputs, targets)``, each concatenated along dim 0.
    """
    was_training = model.training
    model.eval()
    outputs, targets = [], []
    try:
        with tapegrad.no_grad():
            for batch in data:
                inputs, target = _split_batch(batch)
                outputs.append(model(_to(inputs, device)))
                targets.append(_to(target, device))
    finally:
        model.train(was_training)
    return tapegrad.cat(outputs), tapegrad.cat(targets)


# ----------------------------------------------------------------------------------------
# Checkpoints: everything needed to continue a run exactly where it stopped.


def _generators(data) -> list:
    """The random generators a data loader shuffles with (its own and its sampler's)."""
    found: list = []
    candidates = [data, getattr(data, "sampler", None)]
    batch_sampler = getattr(data, "batch_sampler", None)
    candidates.append(getattr(batch_sampler, "sampler", None))
    for obj in candidates:
        g = getattr(obj, "generator", None)
        if g is not None and hasattr(g, "get_state") and all(g is not f for f in found):
            found.append(g)
    return found


def _callback_keys(callbacks: list) -> list[str]:
    # "EarlyStopping", "EarlyStopping#2"...: stable when the same callbacks are passed again.
    seen: dict[str, int] = {}
    keys = []
    for cb in callbacks:
        name = type(cb).__name__
        seen[name] = seen.get(name, 0) + 1
        keys.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return keys


def checkpoint_state(state: TrainState) -> dict:
    """A dict for ``tapegrad.save`` that lets ``fit(..., resume=...)`` continue this run:
    model, optimizer, callbacks (schedulers included), epoch, history and the random
    states (the global generator and the data loader's).

    Args:
        state: the run's ``TrainState``.

    Returns:
        A dict with ``"epoch"``, ``"model"`` (the unwrapped model's state dict), ``"optimizer"``,
        ``"callbacks"``, ``"history"``, ``"stop_training"``, ``"rng_state"``,
        ``"loader_rng_states"`` and ``"world_size"``.
    """
    callbacks = {
        key: cb.state_dict() for key, cb in zip(_callback_keys(state.callbacks), state.callbacks)
    }
    return {
        "epoch": state.epoch,
        # The unwrapped model's weights: the file loads with or without DDP, on any
        # number of processes.
        "model": unwrap(state.model).state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "callbacks": {k: v for k, v in callbacks.items() if v},
        "history": state.history.epochs,
        "stop_training": state.stop_training,
        "rng_state": tapegrad.get_rng_state(),
        "loader_rng_states": [g.get_state() for g in _generators(state.train_data)],
        "world_size": world()[1],
    }


def restore_checkpoint(state: TrainState, checkpoint: dict | str | os.PathLike) -> None:
    """Load a ``checkpoint_state`` dict (or the file it was saved to) into ``state``.

    Args:
        state: the ``TrainState`` to restore into (built with the same model, optimizer, callbacks
            and data loader as the saved run).
        checkpoint: a ``checkpoint_state`` dict, or the path of the file it was saved to.

    Raises:
        KeyError: ``checkpoint`` is not a training checkpoint (e.g. a bare state dict).
        ValueError: the data loader does not have as many random generators as the saved one.
    """
    if not isinstance(checkpoint, dict):
        checkpoint = tapegrad.load(checkpoint)
    missing = {"epoch", "model", "optimizer"} - set(checkpoint)
    if missing:
        raise KeyError(
            f"not a training checkpoint: missing {sorted(missing)} (a bare state dict "
            "loads with model.load_state_dict(tapegrad.load(path)))"
        )
    unwrap(state.model).load_state_dict(strip_module_prefix(checkpoint["model"]))
    state.optimizer.load_state_dict(checkpoint["optimizer"])
    saved = checkpoint.get("callbacks", {})
    for key, cb in zip(_callback_keys(state.callbacks), state.callbacks):
        if key in saved:
            cb.load_state_dict(saved[key])
    state.epoch = int(checkpoint["epoch"])
    state.history = History(checkpoint.get("history", []))
    state.stop_training = bool(checkpoint.get("stop_training", False))
    if "rng_state" in checkpoint:
        tapegrad.set_rng_state(checkpoint["rng_state"])
    generators = _generators(state.train_data)
    saved_states = checkpoint.get("loader_rng_states", [])
    if checkpoint.get("world_size", 1) != world()[1]:
        # Resumed on another number of processes: the data is sharded differently, so the
        # loader's order cannot continue where it stopped; the rest (weights, optimizer,
        # schedules, epoch) does.
        return
    if len(saved_states) != len(generators):
        raise ValueError(
            f"the checkpoint holds {len(saved_states)} data-loader generator states but "
            f"train_data has {len(generators)} generators; pass a DataLoader built the same "
            "way (e.g. DataLoader(..., shuffle=True, generator=tapegrad.Generator()))"
        )
    for g, s in zip(generators, saved_states):
        g.set_state(s)


# ----------------------------------------------------------------------------------------


def fit(
    model: nn.Module,
    loss_fn: Any,
    optimizer: Any,
    train_data: Iterable,
    val_data: Iterable | None = None,
    epochs: int = 1,
    *,
    callbacks: Sequence | None = None,
    scheduler: Any = None,
    metrics: Sequence[MetricSpec] = ("loss", "error"),
    resume: dict | str | os.PathLike | None = None,
    progress: bool = False,
    device: Any = None,
) -> History:
    """Train ``model`` for ``epochs`` epochs over ``train_data`` (batches of
    ``(inputs, targets)``, e.g. a ``DataLoader``) and return the per-epoch ``History``.

    After each epoch ``metrics`` are computed on the training batches (as seen while
    training) and on ``val_data`` (prefixed ``val_``). ``scheduler`` is stepped once per
    epoch (``ReduceLROnPlateau`` on ``val_loss``); use ``LRSchedulerCallback`` for other
    choices. ``resume`` is a checkpoint written by ``ModelCheckpoint`` (or its path):
    training continues after its epoch, with its random states, so the final weights
    are those of an uninterrupted run. ``progress=True`` adds a ``ProgressBar``.

    Distributed (under ``mpiexec``, with ``model`` a ``DistributedDataParallel`` and
    ``train_data`` sharded by a ``DistributedSampler``): every rank calls ``fit``; the
    sampler's epoch is set each epoch, metrics are summed over the ranks, and only
    rank 0 prints, logs and writes checkpoints (of the unwrapped model, so they load
    on any number of processes).

    Args:
        model: the module to train.
        loss_fn: the loss, called as ``loss_fn(outputs, targets)`` and returning a 0-d tensor.
        optimizer: the optimizer over ``model``'s parameters.
        train_data: batches of ``(inputs, targets)``.
        val_data: validation batches, evaluated after each epoch; ``None`` skips validation.
        epochs: the total number of epochs (a resumed run counts those already done).
        callbacks: ``Callback`` objects; they run sorted by their ``order``.
        scheduler: a learning-rate scheduler stepped once per epoch.
        metrics: metric names or ``Metric`` objects computed on the training and validation data.
        resume: a checkpoint (dict or path) written by ``ModelCheckpoint`` or ``checkpoint_state``.
        progress: show a ``ProgressBar``.
        device: the device to move the model and each batch to.

    Returns:
        The ``History`` of the run (including the resumed epochs).

    Raises:
        ValueError: ``epochs`` is not a non-negative int, or a batch is not a pair.
    """
    from .callbacks import LRSchedulerCallback, ProgressBar

    if not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative int, got {epochs!r}")
    callbacks = list(callbacks or [])
    if scheduler is not None:
        callbacks.append(LRSchedulerCallback(scheduler))
    if progress and not any(isinstance(c, ProgressBar) for c in callbacks):
        callbacks.append(ProgressBar())
    # Checkpoints and logs run last, so they see what the other callbacks did this epoch.
    callbacks.sort(key=lambda c: getattr(c, "order", 0))
    if device is not None:
        model.to(device)

    state = TrainState(
        model, loss_fn, optimizer, train_data, val_data, epochs, callbacks, metrics, device
    )
    if resume is not None:
        restore_checkpoint(state, resume)
    for cb in callbacks:
        cb.on_train_begin(state)
    while state.epoch < epochs and not state.stop_training:
        state.logs = {"epoch": state.epoch + 1}
        for cb in callbacks:
            cb.on_epoch_begin(state)
        start = time.perf_counter()
        state.logs.update(train_epoch(state))
        state.logs["lr"] = optimizer.param_groups[0]["lr"]
        if val_data is not None:
            scores = evaluate(model, val_data, metrics, loss_fn, device)
            state.logs.update({f"val_{k}": v for k, v in scores.items()})
        state.logs["seconds"] = time.perf_counter() - start
        state.epoch += 1
        state.history.append(state.logs)
        for cb in callbacks:
            cb.on_epoch_end(state)
    for cb in callbacks:
        cb.on_train_end(state)
    return state.history

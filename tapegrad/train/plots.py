"""Figures a person would rather look at than read, saved as PNG: training curves
(loss and error, train vs validation), a grid of images (samples or misclassified
examples, with labels) and a confusion matrix.

matplotlib is optional: ``pip install tapegrad[plot]``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

import tapegrad

from .. import nn
from .._tensor import Tensor

__all__ = ["plot_history", "plot_images", "plot_misclassified", "plot_confusion_matrix"]


def _figure(**kwargs):
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(
            "plotting needs matplotlib, which is not installed; install it with "
            "`pip install tapegrad[plot]` (or `pip install matplotlib`)"
        ) from e
    # A bare Figure needs no pyplot and no display, so this works on a headless server.
    return Figure(**kwargs)


def _save(fig, path: str | os.PathLike) -> str:
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def plot_history(history, path: str | os.PathLike, title: str | None = None) -> str:
    """Training curves from ``fit``'s history: loss, and error rate in % when logged,
    training vs validation, against the epoch. Returns the path of the PNG.

    Args:
        history: ``fit``'s ``History`` (anything indexable by ``"epoch"``, ``"loss"``, ... with
            ``keys()``).
        path: the PNG file to write; missing folders are created.
        title: a title above the panels.

    Returns:
        The path written, as a string.

    Raises:
        ValueError: the history logs neither loss nor error.
        ImportError: matplotlib is not installed.
    """
    epochs = history["epoch"]
    keys = history.keys()
    panels = [m for m in ("loss", "error") if m in keys or f"val_{m}" in keys]
    if not panels:
        raise ValueError(f"the history logs neither loss nor error (keys: {keys})")
    fig = _figure(figsize=(5 * len(panels), 3.6))
    from matplotlib.ticker import MaxNLocator

    for i, metric in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        scale = 100.0 if metric == "error" else 1.0
        for key, label in ((metric, "train"), (f"val_{metric}", "validation")):
            if key in keys:
                values = [np.nan if v is None else scale * v for v in history[key]]
                ax.plot(epochs, values, marker="o", markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("error (%)" if metric == "error" else "loss")
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _as_images(images) -> np.ndarray:
    """(N, H, W) or (N, C, H, W) tensor/array -> (N, H, W) or (N, H, W, 3) in [0, 1]."""
    a = images.detach().cpu().numpy() if isinstance(images, Tensor) else np.asarray(images)
    a = a.astype(np.float64)
    if a.ndim == 4:
        if a.shape[1] == 1:
            a = a[:, 0]
        elif a.shape[1] == 3:
            a = a.transpose(0, 2, 3, 1)
        else:
            raise ValueError(f"images must have 1 or 3 channels, got shape {a.shape}")
    elif a.ndim != 3:
        raise ValueError(f"images must be (N, H, W) or (N, C, H, W), got shape {a.shape}")
    # Each image stretched to [0, 1]: inputs are usually normalised, not in [0, 1].
    lo = a.min(axis=tuple(range(1, a.ndim)), keepdims=True)
    hi = a.max(axis=tuple(range(1, a.ndim)), keepdims=True)
    return (a - lo) / np.where(hi > lo, hi - lo, 1.0)


def _name(index: int, class_names: Sequence[str] | None) -> str:
    return str(class_names[index]) if class_names is not None else str(index)


def plot_images(
    images,
    path: str | os.PathLike,
    labels: Sequence[int] | Tensor | None = None,
    predictions: Sequence[int] | Tensor | None = None,
    class_names: Sequence[str] | None = None,
    ncols: int = 8,
    title: str | None = None,
) -> str:
    """A grid of images with their labels (and predictions, in red when wrong).

    Args:
        images: an (N, H, W) or (N, C, H, W) tensor or array, C being 1 or 3; each image is
            stretched to [0, 1].
        path: the PNG file to write; missing folders are created.
        labels: the N true classes, shown as captions.
        predictions: the N predicted classes, shown after an arrow.
        class_names: names to show instead of class indices.
        ncols: the number of images per row.
        title: a title above the grid.

    Returns:
        The path written, as a string.

    Raises:
        ValueError: no images, or a shape or channel count that is not an image's.
        ImportError: matplotlib is not installed.
    """
    a = _as_images(images)
    n = len(a)
    if n == 0:
        raise ValueError("plot_images needs at least one image")
    labels = None if labels is None else [int(v) for v in labels]
    predictions = None if predictions is None else [int(v) for v in predictions]
    ncols = min(ncols, n)
    nrows = (n + ncols - 1) // ncols
    fig = _figure(figsize=(1.4 * ncols, 1.6 * nrows))
    for i in range(n):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        ax.imshow(a[i], cmap="gray" if a.ndim == 3 else None, vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        caption, color = [], "black"
        if labels is not None:
            caption.append(_name(labels[i], class_names))
        if predictions is not None:
            caption.append(f"→ {_name(predictions[i], class_names)}")
            if labels is not None and predictions[i] != labels[i]:
                color = "red"
        if caption:
            ax.set_title(" ".join(caption), fontsize=7, color=color)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def misclassified(
    model: nn.Module, data, max_images: int
) -> tuple[list[Tensor], list[int], list[int]]:
    """The first ``max_images`` examples of ``data`` that ``model`` gets wrong (what
    ``plot_misclassified`` draws and the ``TensorBoard`` callback logs).

    Args:
        model: the classifier, run in eval mode without gradients (its mode is restored).
        data: batches of ``(inputs, targets)``.
        max_images: the most examples to return.

    Returns:
        ``(inputs, true classes, predicted classes)``: three lists, in the order of ``data``.
    """
    images, labels, predictions = [], [], []
    was_training = model.training
    model.eval()
    try:
        with tapegrad.no_grad():
            for inputs, targets in data:
                predicted = model(inputs).argmax(dim=1)
                wrong = (predicted != targets).nonzero().flatten().tolist()
                for i in wrong[: max_images - len(images)]:
                    images.append(inputs[i])
                    labels.append(int(targets[i]))
                    predictions.append(int(predicted[i]))
                if len(images) >= max_images:
                    break
    finally:
        model.train(was_training)
    return images, labels, predictions


def plot_misclassified(
    model: nn.Module,
    data,
    path: str | os.PathLike,
    class_names: Sequence[str] | None = None,
    max_images: int = 32,
    ncols: int = 8,
) -> str:
    """A grid of the first ``max_images`` examples of ``data`` that ``model`` gets
    wrong, each titled "true → predicted".

    Args:
        model: the classifier, run in eval mode without gradients (its mode is restored).
        data: batches of ``(inputs, targets)``.
        path: the PNG file to write; missing folders are created.
        class_names: names to show instead of class indices.
        max_images: the most examples to show.
        ncols: the number of images per row.

    Returns:
        The path written, as a string.

    Raises:
        ValueError: the model classifies every example correctly.
        ImportError: matplotlib is not installed.
    """
    images, labels, predictions = misclassified(model, data, max_images)
    if not images:
        raise ValueError("the model classifies every example correctly: nothing to plot")
    title = f"misclassified examples (true → predicted), first {len(images)}"
    return plot_images(tapegrad.stack(images), path, labels, predictions, class_names, ncols, title)


def plot_confusion_matrix(
    matrix: Tensor, path: str | os.PathLike, class_names: Sequence[str] | None = None
) -> str:
    """A confusion matrix (rows: true class, columns: predicted) with its counts.

    Args:
        matrix: the (C, C) counts, e.g. from ``confusion_matrix``, a tensor or an array.
        path: the PNG file to write; missing folders are created.
        class_names: the C names for the axes instead of class indices.

    Returns:
        The path written, as a string.

    Raises:
        ImportError: matplotlib is not installed.
    """
    m = matrix.cpu().numpy() if isinstance(matrix, Tensor) else np.asarray(matrix)
    c = len(m)
    fig = _figure(figsize=(1 + 0.6 * c, 1 + 0.6 * c))
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(m, cmap="Blues")
    names = class_names if class_names is not None else [str(i) for i in range(c)]
    ax.set_xticks(range(c), names, rotation=90, fontsize=7)
    ax.set_yticks(range(c), names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(c):
        for j in range(c):
            color = "white" if m[i, j] > m.max() / 2 else "black"
            ax.text(j, i, str(int(m[i, j])), ha="center", va="center", fontsize=6, color=color)
    return _save(fig, path)

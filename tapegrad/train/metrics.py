"""Classification metrics: loss, accuracy, error rate, top-k error, confusion matrix.

Each metric comes twice: a function on one batch (``error_rate(output, target)``) and
a class that accumulates over batches (``ErrorRate``), which ``fit`` and ``evaluate``
use. ``output`` holds one row of scores (logits or probabilities) per sample and
``target`` the class indices, as for ``nn.CrossEntropyLoss``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import tapegrad

from .._tensor import Tensor

__all__ = [
    "accuracy",
    "error_rate",
    "top_k_error",
    "confusion_matrix",
    "Metric",
    "Loss",
    "Accuracy",
    "ErrorRate",
    "TopKError",
    "ConfusionMatrix",
    "get_metric",
]


def _check_classification(output: Tensor, target: Tensor, k: int = 1) -> None:
    if output.dim() != 2:
        raise ValueError(
            "classification metrics expect output of shape (batch, classes), "
            f"got shape {tuple(output.shape)}; for regression use metrics=('loss',)"
        )
    if target.dim() != 1 or target.dtype.is_floating_point or len(target) != len(output):
        raise ValueError(
            f"classification metrics expect target of shape ({len(output)},) holding class "
            f"indices, got shape {tuple(target.shape)} and dtype {target.dtype}"
        )
    if not 1 <= k <= output.shape[1]:
        raise ValueError(f"k must be between 1 and {output.shape[1]} classes, got k={k}")


def _count_correct(output: Tensor, target: Tensor, k: int = 1) -> int:
    """How many rows have ``target`` among their ``k`` highest scores."""
    _check_classification(output, target, k)
    if k == 1:
        return int((output.argmax(dim=1) == target).sum().item())
    top = output.topk(k, dim=1).indices
    return int((top == target.unsqueeze(1)).any(dim=1).sum().item())


def accuracy(output: Tensor, target: Tensor, k: int = 1) -> float:
    """Fraction of samples whose class is among the ``k`` best scores.

    Args:
        output: the (N, C) scores (logits or probabilities).
        target: the (N,) integer class indices.
        k: count a sample as right when its class is among its ``k`` highest scores.

    Returns:
        A float in [0, 1].

    Raises:
        ValueError: the shapes do not fit, or ``k`` is not between 1 and C.
    """
    return _count_correct(output, target, k) / max(len(target), 1)


def error_rate(output: Tensor, target: Tensor) -> float:
    """Fraction of misclassified samples (1 − accuracy).

    Args:
        output: the (N, C) scores (logits or probabilities).
        target: the (N,) integer class indices.

    Returns:
        A float in [0, 1].

    Raises:
        ValueError: the shapes do not fit.
    """
    return top_k_error(output, target, 1)


def top_k_error(output: Tensor, target: Tensor, k: int = 5) -> float:
    """Fraction of samples whose class is not among the ``k`` best scores.

    Args:
        output: the (N, C) scores (logits or probabilities).
        target: the (N,) integer class indices.
        k: count a sample as wrong when its class is not among its ``k`` highest scores.

    Returns:
        A float in [0, 1].

    Raises:
        ValueError: the shapes do not fit, or ``k`` is not between 1 and C.
    """
    n = max(len(target), 1)
    return (len(target) - _count_correct(output, target, k)) / n


def confusion_matrix(prediction: Tensor, target: Tensor, num_classes: int) -> Tensor:
    """``(num_classes, num_classes)`` int64 counts: row = true class, column = predicted.

    ``prediction`` is either class indices of shape (N,) or scores of shape (N, C).

    Args:
        prediction: the predicted classes (N,), or scores (N, C) whose argmax is taken.
        target: the (N,) true classes.
        num_classes: the number of classes C.

    Raises:
        ValueError: predictions and targets are not of one shape (N,).
    """
    if prediction.dim() == 2:
        prediction = prediction.argmax(dim=1)
    if prediction.shape != target.shape or prediction.dim() != 1:
        raise ValueError(
            "confusion_matrix expects predictions and targets of the same shape (N,), got "
            f"{tuple(prediction.shape)} and {tuple(target.shape)}"
        )
    index = target.long() * num_classes + prediction.long()
    counts = tapegrad.bincount(index, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


class Metric(ABC):
    """A metric accumulated over batches: ``reset()``, ``update(...)`` per batch, then
    ``compute()``. ``name`` is the key it gets in ``fit``'s history."""

    name = "metric"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the batches seen so far (called at the start of each epoch)."""
        self.total = 0.0
        self.count = 0

    @abstractmethod
    def update(self, output: Tensor, target: Tensor, loss: float | None = None) -> None:
        """Add one batch: ``output`` scores, ``target`` classes, ``loss`` its mean loss.

        Args:
            output: the batch's (N, C) scores.
            target: the batch's (N,) class indices.
            loss: the batch's mean loss (``loss_fn``'s value), or ``None`` when there is no loss
                function.
        """

    def compute(self):
        """The metric over the batches seen since the last ``reset``; NaN before any."""
        return self.total / self.count if self.count else float("nan")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Loss(Metric):
    """Mean loss per sample, from the batch means that the loss function returns."""

    name = "loss"

    def update(self, output: Tensor, target: Tensor, loss: float | None = None) -> None:
        if loss is None:
            raise ValueError("the 'loss' metric needs a loss function (pass loss_fn=...)")
        n = len(target)
        self.total += float(loss) * n
        self.count += n


class Accuracy(Metric):
    """Fraction of samples whose class is among the ``k`` best scores.

    Args:
        k: count a sample as right when its class is among its ``k`` highest scores; the name is
            ``"accuracy"`` for 1, else ``"top{k}_accuracy"``.
    """

    def __init__(self, k: int = 1) -> None:
        self.k = k
        self.name = "accuracy" if k == 1 else f"top{k}_accuracy"
        super().__init__()

    def update(self, output: Tensor, target: Tensor, loss: float | None = None) -> None:
        self.total += _count_correct(output, target, self.k)
        self.count += len(target)


class TopKError(Accuracy):
    """Fraction of samples whose class is not among the ``k`` best scores.

    Args:
        k: count a sample as wrong when its class is not among its ``k`` highest scores; the name is
            ``"error"`` for 1, else ``"top{k}_error"``.
    """

    def __init__(self, k: int = 5) -> None:
        super().__init__(k)
        self.name = "error" if k == 1 else f"top{k}_error"

    def compute(self):
        # (count - correct) / count, not 1 - accuracy: 670/2000 is 0.335, not 0.33499...
        return (self.count - self.total) / self.count if self.count else float("nan")


class ErrorRate(TopKError):
    """Fraction of misclassified samples (1 − accuracy)."""

    def __init__(self) -> None:
        super().__init__(1)


class ConfusionMatrix(Metric):
    """Counts of (true class, predicted class) pairs, as a ``(C, C)`` int64 tensor.

    Args:
        num_classes: the number of classes C.
    """

    name = "confusion_matrix"

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes
        super().__init__()

    def reset(self) -> None:
        self.matrix = tapegrad.zeros(self.num_classes, self.num_classes, dtype=tapegrad.int64)

    def update(self, output: Tensor, target: Tensor, loss: float | None = None) -> None:
        _check_classification(output, target)
        self.matrix = self.matrix + confusion_matrix(output, target, self.num_classes)

    def compute(self) -> Tensor:
        return self.matrix


def get_metric(spec: str | Metric, num_classes: int | None = None) -> Metric:
    """A fresh metric from a name: ``"loss"``, ``"accuracy"``, ``"error"``,
    ``"top5_error"`` (any k), ``"top5_accuracy"``, ``"confusion_matrix"``.

    Args:
        spec: a metric name, or a ``Metric`` (returned as is); ``"error_rate"`` is the same as
            ``"error"``.
        num_classes: the number of classes, needed for ``"confusion_matrix"``.

    Raises:
        ValueError: an unknown name, or ``"confusion_matrix"`` without ``num_classes``.
    """
    if isinstance(spec, Metric):
        return spec
    if spec == "loss":
        return Loss()
    if spec == "accuracy":
        return Accuracy()
    if spec in ("error", "error_rate"):
        return ErrorRate()
    if spec == "confusion_matrix":
        if num_classes is None:
            raise ValueError("'confusion_matrix' needs num_classes; pass ConfusionMatrix(C)")
        return ConfusionMatrix(num_classes)
    for suffix, cls in (("_error", TopKError), ("_accuracy", Accuracy)):
        if spec.startswith("top") and spec.endswith(suffix) and spec[3 : -len(suffix)].isdigit():
            return cls(int(spec[3 : -len(suffix)]))
    raise ValueError(
        f"unknown metric {spec!r}; expected 'loss', 'accuracy', 'error', 'topK_error', "
        "'topK_accuracy', 'confusion_matrix' or a Metric"
    )

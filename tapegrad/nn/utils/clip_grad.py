"""Gradient clipping (``torch.nn.utils.clip_grad``): by total norm and by value."""

from __future__ import annotations

import types
import warnings
from collections.abc import Iterable

import numpy as np

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...ops.creation import tensor
from ...ops.elementwise import clamp, isfinite
from ...ops.reduce import vector_norm
from ...ops.shape import stack

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
]

_TensorOrTensors = Tensor | Iterable[Tensor]


def _as_list(tensors: _TensorOrTensors) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


@no_grad()
def get_total_norm(
    tensors: _TensorOrTensors,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """The norm of the norms of ``tensors``, as if concatenated (``nn.utils.get_total_norm``).

    Args:
        tensors: A tensor or an iterable of tensors.
        norm_type: The p of the p-norms (``inf`` for the largest absolute value).
        error_if_nonfinite: Raise if the total norm is ``nan`` or ``inf``.
        foreach: Accepted for PyTorch's signature; no effect.

    Returns:
        A 0-d tensor.

    Raises:
        RuntimeError: If ``error_if_nonfinite`` and the norm is not finite.
    """
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if len(tensors) == 0:
        return tensor(0.0)
    norms = [vector_norm(t, norm_type) for t in tensors]
    total_norm = vector_norm(stack(norms), norm_type)
    if error_if_nonfinite and not bool(isfinite(total_norm)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return total_norm


@no_grad()
def clip_grads_with_norm_(
    parameters: _TensorOrTensors,
    max_norm: float,
    total_norm: Tensor,
    foreach: bool | None = None,
) -> None:
    """Scale the gradients by ``max_norm / (total_norm + 1e-6)`` when below 1
    (``nn.utils.clip_grads_with_norm_``).

    Args:
        parameters: A tensor or an iterable of tensors (usually ``model.parameters()``); those
            without a gradient are skipped.
        max_norm: The largest total norm allowed.
        total_norm: The total norm, as ``get_total_norm`` returns it.
        foreach: Accepted for PyTorch's signature; no effect.
    """
    grads = [p._grad for p in _as_list(parameters) if p._grad is not None]
    if len(grads) == 0:
        return
    # As in PyTorch the coefficient is a tensor and is applied even when it is 1.
    coef = clamp(float(max_norm) / (total_norm + 1e-6), max=1.0)._data
    # A non-finite norm gives NaN gradients, as in PyTorch, without NumPy's warning.
    with np.errstate(invalid="ignore"):
        for g in grads:
            g._data *= coef
            g._version_counter.v += 1


def clip_grad_norm_(
    parameters: _TensorOrTensors,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Rescale the gradients in place so their total norm is at most ``max_norm``; return
    the norm before clipping (``torch.nn.utils.clip_grad_norm_``).

    Example: ``clip_grad_norm_(model.parameters(), max_norm=1.0)``.

    Args:
        parameters: A tensor or an iterable of tensors (usually ``model.parameters()``); those
            without a gradient are skipped.
        max_norm: The largest total norm allowed.
        norm_type: The p of the p-norms (``inf`` for the largest absolute value).
        error_if_nonfinite: Raise if the total norm is ``nan`` or ``inf``.
        foreach: Accepted for PyTorch's signature; no effect.

    Returns:
        The total norm of the gradients before clipping.

    Raises:
        RuntimeError: If ``error_if_nonfinite`` and the norm is not finite.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if is_generator and len(parameters) == 0:
            warnings.warn(
                "`parameters` is an empty generator, no gradient clipping will occur.",
                stacklevel=2,
            )
    grads = [p._grad for p in parameters if p._grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(
    parameters: _TensorOrTensors,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Deprecated alias of ``clip_grad_norm_`` (``torch.nn.utils.clip_grad_norm``).

    Args:
        parameters: A tensor or an iterable of tensors (usually ``model.parameters()``); those
            without a gradient are skipped.
        max_norm: The largest total norm allowed.
        norm_type: The p of the p-norms (``inf`` for the largest absolute value).
        error_if_nonfinite: Raise if the total norm is ``nan`` or ``inf``.
        foreach: Accepted for PyTorch's signature; no effect.

    Returns:
        The total norm of the gradients before clipping.

    Raises:
        RuntimeError: If ``error_if_nonfinite`` and the norm is not finite.
    """
    warnings.warn(
        "`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
        "`torch.nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(
    parameters: _TensorOrTensors, clip_value: float, foreach: bool | None = None
) -> None:
    """Clamp every gradient in place to ``[-clip_value, clip_value]``
    (``torch.nn.utils.clip_grad_value_``).

    Args:
        parameters: A tensor or an iterable of tensors (usually ``model.parameters()``); those
            without a gradient are skipped.
        clip_value: The largest absolute value allowed.
        foreach: Accepted for PyTorch's signature; no effect.
    """
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        g = p._grad
        if g is None:
            continue
        d = g._data
        d.clip(-clip_value, clip_value, out=d)
        g._version_counter.v += 1

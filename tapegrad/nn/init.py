"""Parameter initialisation (``torch.nn.init``).

Every initialiser runs under ``no_grad`` and draws from tapegrad's generator
through ``Tensor.uniform_`` / ``Tensor.normal_`` in PyTorch's order, so the
same seed gives PyTorch's initial weights.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..ops import elementwise as E
from ..ops import random as RND

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "ones_",
    "zeros_",
    "eye_",
    "dirac_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
    "sparse_",
    "uniform",
    "normal",
    "constant",
    "eye",
    "dirac",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
    "sparse",
]

_LINEAR_FNS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (``nn.init.calculate_gain``).

    Args:
        nonlinearity: The nonlinearity's name: ``'linear'``, ``'conv2d'``, ``'sigmoid'``,
            ``'tanh'``, ``'relu'``, ``'leaky_relu'``, ``'selu'``, ...
        param: The negative slope of ``'leaky_relu'`` (default 0.01).

    Returns:
        The gain, a float.
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight: dims 1 and 0 times the receptive field."""
    if tensor.dim() < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.size(1) * receptive, tensor.size(0) * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    valid = ["fan_in", "fan_out"]
    if mode not in valid:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with U(a, b) (``nn.init.uniform_``).

    Args:
        tensor: The tensor to fill, in place.
        a: Lower bound.
        b: Upper bound.
        generator: The generator to draw from (default: the global one).

    Returns:
        ``tensor``.
    """
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with N(mean, std^2) (``nn.init.normal_``).

    Args:
        tensor: The tensor to fill, in place.
        mean: Mean of the normal distribution.
        std: Standard deviation of the normal distribution.
        generator: The generator to draw from (default: the global one).

    Returns:
        ``tensor``.
    """
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val`` (``nn.init.constant_``).

    Args:
        tensor: The tensor to fill, in place.
        val: The fill value.

    Returns:
        ``tensor``.
    """
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones (``nn.init.ones_``).

    Args:
        tensor: The tensor to fill, in place.

    Returns:
        ``tensor``.
    """
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros (``nn.init.zeros_``).

    Args:
        tensor: The tensor to fill, in place.

    Returns:
        ``tensor``.
    """
    with no_grad():
        return tensor.zero_()


def _norm_cdf(x: float) -> float:
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator=None,
) -> Tensor:
    """Fill with N(mean, std^2) truncated to [a, b] by rejection (``nn.init.trunc_normal_``).

    Args:
        tensor: The tensor to fill, in place.
        mean: Mean of the normal distribution.
        std: Standard deviation of the normal distribution.
        a: Lower truncation bound.
        b: Upper truncation bound.
        generator: The generator to draw from (default: the global one).

    Returns:
        ``tensor``.
    """
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution of "
            "values may be incorrect.",
            stacklevel=2,
        )
    with no_grad():
        mass = _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std)
        if mass > 0.3:
            # Enough mass inside: redraw the normals that fall outside.
            lo = np.asarray(a, tensor._data.dtype).item()
            hi = np.asarray(b, tensor._data.dtype).item()
            result = tensor.normal_(mean, std, generator=generator)
            while True:
                mask = (result < lo) | (result > hi)
                if not bool(mask.any()):
                    break
                fresh = Tensor._make(np.empty_like(result._data)).normal_(
                    mean, std, generator=generator
                )
                result = E.where(mask, fresh, result)
            if result is not tensor:
                tensor.copy_(result)
            return tensor
        # Little mass inside: uniform proposals on [a, b], accepted by the density.
        mode = max(a, min(mean, b))
        log_peak = -0.5 * ((mode - mean) / std) ** 2
        candidates = Tensor._make(np.empty_like(tensor._data))
        accept = Tensor._make(np.empty_like(tensor._data))
        tensor.uniform_(a, b, generator=generator)
        candidates.copy_(tensor)
        candidates.sub_(mean).div_(std).pow_(2).mul_(-0.5).sub_(log_peak)
        pending = accept.uniform_(generator=generator).log_().gt(candidates)
        if bool(pending.any()):
            result = tensor
            while True:
                candidates.uniform_(a, b, generator=generator)
                result = E.where(pending, candidates, result)
                candidates.sub_(mean).div_(std).pow_(2).mul_(-0.5).sub_(log_peak)
                pending = E.where(
                    pending, accept.uniform_(generator=generator).log_().gt(candidates), pending
                )
                if not bool(pending.any()):
                    break
            tensor.copy_(result)
        return tensor


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity (``nn.init.eye_``).

    Args:
        tensor: The tensor to fill, in place.

    Returns:
        ``tensor``.
    """
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    with no_grad():
        tensor.copy_(Tensor._make(np.eye(*tensor.shape, dtype=tensor._data.dtype)))
    return tensor


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a conv weight with the Dirac delta (identity convolution) (``nn.init.dirac_``).

    Args:
        tensor: The tensor to fill, in place.
        groups: Number of groups of the convolution (the output channels are split among them).

    Returns:
        ``tensor``.
    """
    nd = tensor.ndim
    if nd not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.shape
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = sizes[0] // groups
    min_dim = min(per_group, sizes[1])
    centre = tuple(s // 2 for s in sizes[2:])
    with no_grad():
        tensor.zero_()
        for g in range(groups):
            for d in range(min_dim):
                tensor[(g * per_group + d, d) + centre] = 1
    return tensor


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)) (``xavier_uniform_``).

    Args:
        tensor: The tensor to fill, in place.
        gain: Scaling factor.
        generator: The generator to draw from (default: the global one).

    Returns:
        ``tensor``.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot normal: N(0, gain^2 * 2 / (fan_in + fan_out)) (``xavier_normal_``).

    Args:
        tensor: The tensor to fill, in place.
        gain: Scaling factor.
        generator: The generator to draw from (default: the global one).

    Returns:
        ``tensor``.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator=None,
) -> Tensor:
    """He uniform: U(-bound, bound), bound = gain * sqrt(3 / fan) (``kaiming_uniform_``).

    Args:
        tensor: The tensor to fill, in place.
        a: The negative slope of the rectifier after this layer (for ``'leaky_relu'``).
        mode: ``'fan_in'`` (keeps the variance of the forward pass) or ``'fan_out'`` (of the
            backward pass).
        nonlinearity: The nonlinearity after this layer (see ``calculate_gain``).
        generator: The generator to draw from (default: the global one).

    Returns:
        ``tensor``.

    Raises:
        ValueError: For an unknown ``mode``.
    """
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator=None,
) -> Tensor:
    """He normal: N(0, gain^2 / fan) (``kaiming_normal_``).

    Args:
        tensor: The tensor to fill, in place.
        a: The negative slope of the rectifier after this layer (for ``'leaky_relu'``).
        mode: ``'fan_in'`` (keeps the variance of the forward pass) or ``'fan_out'`` (of the
            backward pass).
        nonlinearity: The nonlinearity after this layer (see ``calculate_gain``).
        generator: The generator to draw from (default: the global one).

    Returns:
        ``tensor``.

    Raises:
        ValueError: For an unknown ``mode``.
    """
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator=None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR of a Gaussian one (``nn.init.orthogonal_``).

    Args:
        tensor: The tensor to fill, in place.
        gain: Scaling factor.
        generator: The generator to draw from (default: the global one).

    Returns:
        ``tensor``.
    """
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.size(0)
    cols = tensor.numel() // rows
    flat = Tensor._make(np.empty((rows, cols), dtype=tensor._data.dtype))
    flat.normal_(0, 1, generator=generator)
    a = flat._data.T if rows < cols else flat._data
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diagonal(r))
    if rows < cols:
        q = q.T
    with no_grad():
        tensor.copy_(Tensor._make(np.ascontiguousarray(q).reshape(tensor.shape)))
        tensor.mul_(gain)
    return tensor


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """N(0, std^2) with a fraction ``sparsity`` of each column zeroed (``nn.init.sparse_``).

    Args:
        tensor: The tensor to fill, in place.
        sparsity: The fraction of each column set to zero.
        std: Standard deviation of the non-zero values.
        generator: The generator to draw from (default: the global one).

    Returns:
        ``tensor``.
    """
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = int(math.ceil(sparsity * rows))
    with no_grad():
        tensor.normal_(0, std, generator=generator)
        for col in range(cols):
            tensor[RND.randperm(rows)[:num_zeros], col] = 0
    return tensor


def _deprecated(fn):
    new_name = fn.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(
            f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.",
            FutureWarning,
            stacklevel=2,
        )
        return fn(*args, **kwargs)

    deprecated_init.__name__ = old_name
    deprecated_init.__doc__ = f"Deprecated alias of ``{new_name}`` (``nn.init.{old_name}``)."
    return deprecated_init


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)

"""Functional neural-network ops (``torch.nn.functional``).

Activations, dropout, normalisation, embedding, padding, distances,
interpolation and every loss, with PyTorch's signatures, defaults, numbers and
errors. Convolution and pooling come from ``tapegrad.ops.conv`` and
``tapegrad.ops.pool``.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor
from ..amp import autocast_mode as _ac
from ..autograd import _observe
from ..autograd import function as _function
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..ops import creation as C
from ..ops import elementwise as E
from ..ops import index as I
from ..ops import linalg as L
from ..ops import losses as LS
from ..ops import nn_ops as N
from ..ops import reduce as R
from ..ops import shape as S
from ._attention_chunks import attention_chunked

# Convolution and pooling primitives live in their own op families; they are
# resolved on first use so that this module imports on its own.
_CONV_NAMES = (
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "unfold",
    "fold",
)
_POOL_NAMES = (
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "lp_pool1d",
    "lp_pool2d",
)


def __getattr__(name: str):
    if name in _CONV_NAMES or name in _POOL_NAMES:
        from ..ops import conv, pool

        fn = getattr(conv if name in _CONV_NAMES else pool, name, None)
        if fn is not None:
            return fn
    raise AttributeError(f"module 'tapegrad.nn.functional' has no attribute '{name}'")


def __dir__():
    from ..ops import conv, pool

    lazy = {n for n in _CONV_NAMES if hasattr(conv, n)} | {
        n for n in _POOL_NAMES if hasattr(pool, n)
    }
    return sorted(set(globals()) | lazy)


_TYPE_SHORT = {
    "float32": "Float",
    "float64": "Double",
    "float16": "Half",
    "int64": "Long",
    "int32": "Int",
    "int16": "Short",
    "int8": "Char",
    "uint8": "Byte",
    "bool": "Bool",
}


def _short(dt: D.dtype) -> str:
    return _TYPE_SHORT.get(dt.name, dt.name)


# ---------------------------------------------------------------------------
# reductions


class _Reduction:
    """Legacy ``size_average``/``reduce`` handling (``torch.nn._reduction``)."""

    @staticmethod
    def legacy_get_string(size_average, reduce, emit_warning: bool = True) -> str:
        if size_average is None:
            size_average = True
        if reduce is None:
            reduce = True
        if size_average and reduce:
            ret = "mean"
        elif reduce:
            ret = "sum"
        else:
            ret = "none"
        if emit_warning:
            warnings.warn(
                f"size_average and reduce args will be deprecated, please use reduction='{ret}' "
                "instead.",
                UserWarning,
                stacklevel=3,
            )
        return ret

    @staticmethod
    def get_enum(reduction: str) -> int:
        if reduction == "none":
            return 0
        if reduction in ("mean", "elementwise_mean"):
            return 1
        if reduction == "sum":
            return 2
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _resolve(size_average, reduce, reduction: str) -> str:
    if size_average is not None or reduce is not None:
        reduction = _Reduction.legacy_get_string(size_average, reduce)
    _Reduction.get_enum(reduction)
    return "mean" if reduction == "elementwise_mean" else reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    return loss.sum()


def _warn_size(input, target) -> None:
    if target.shape != input.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )


# ---------------------------------------------------------------------------
# linear


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias as one matrix product (``F.linear``).

    Args:
        input: (*, in_features).
        weight: (out_features, in_features).
        bias: (out_features,), optional.
    """
    if _ac.state.active:
        return _ac.autocast_call("linear", linear, input, weight, bias)
    if input.dtype is not weight.dtype or (bias is not None and bias.dtype is not weight.dtype):
        raise RuntimeError(
            f"mat1 and mat2 must have the same dtype, but got {_short(input.dtype)} and "
            f"{_short(weight.dtype)}"
        )
    if weight.ndim != 2 or input.ndim == 0:
        raise RuntimeError(
            f"linear expects a 2-D weight and an input with at least 1 dim, got weight of shape "
            f"{list(weight.shape)} and input of shape {list(input.shape)}"
        )
    if input.shape[-1] != weight.shape[1]:
        rows = int(np.prod(input.shape[:-1])) if input.ndim > 1 else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} and "
            f"{weight.shape[1]}x{weight.shape[0]})"
        )
    if bias is not None and bias.shape not in ((weight.shape[0],), (), (1,)):
        raise RuntimeError(
            f"The size of tensor a ({weight.shape[0]}) must match the size of tensor b "
            f"({bias.shape[-1]}) at non-singleton dimension {max(input.ndim - 1, 0)}"
        )
    if _function._vmap_hook is not None:
        # inside vmap: one primitive, whose batching rule maps it onto the physical batch
        return N.Linear.apply(input, weight, bias)
    col = _observe.collector
    if col is None:
        return _linear_graph(input, weight, bias)
    args = (input, weight) if bias is None else (input, weight, bias)
    ev = col.begin("aten::linear", shapes=args)
    try:
        return _linear_graph(input, weight, bias)
    finally:
        col.end(ev)


def _linear_graph(input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """``F.linear`` as PyTorch's ``at::linear`` decomposes it, node for node: ``addmm(b, x,
    w.t())`` for a matrix (``AddmmBackward0`` with edges bias, input, ``TBackward0``);
    the same on ``x.view(-1, k)`` then a view for a contiguous input with a 1-D bias;
    else ``matmul(x, w.t())`` (``MmBackward0`` for a matrix) plus the bias."""
    wt = S.t(weight)
    nd = input.ndim
    if bias is not None:
        if nd == 2:
            return L.Addmm.apply(bias, input, wt)
        if bias.ndim == 1 and input.is_contiguous():
            k = input.shape[-1]
            rows = math.prod(input.shape[:-1])
            out = L.Addmm.apply(bias, S.view(input, rows, k), wt)
            return S.view(out, *input.shape[:-1], weight.shape[0])
    out = L.matmul(input, wt)
    return out if bias is None else out + bias


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x1^T A x2 + b (``F.bilinear``).

    Args:
        input1: (*, in1_features).
        input2: (*, in2_features).
        weight: (out_features, in1_features, in2_features).
        bias: (out_features,), optional.
    """
    if _ac.state.active:
        return _ac.autocast_call("bilinear", bilinear, input1, input2, weight, bias)
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(
            f"bilinear(): input batch dimensions do not match: got {list(input1.shape[:-1])} and "
            f"{list(input2.shape[:-1])}"
        )
    if (
        weight.ndim != 3
        or input1.shape[-1] != weight.shape[1]
        or input2.shape[-1] != weight.shape[2]
    ):
        raise RuntimeError(
            f"bilinear(): input sizes {input1.shape[-1]} and {input2.shape[-1]} do not match "
            f"the weight of shape {list(weight.shape)}"
        )
    out_features = weight.shape[0]
    lead = input1.shape[:-1]
    x1 = input1.reshape(-1, input1.shape[-1])
    x2 = input2.reshape(-1, input2.shape[-1])
    # (B, i) @ (i, o*j) -> (B, o, j), then contract j with x2.
    t = L.matmul(x1, weight.permute(1, 0, 2).reshape(weight.shape[1], -1))
    t = t.reshape(-1, out_features, weight.shape[2])
    y = L.matmul(t, x2.unsqueeze(-1)).squeeze(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, out_features)


# ---------------------------------------------------------------------------
# activations


def _float_only(input: Tensor, kernel: str) -> None:
    """PyTorch implements these kernels for floating dtypes only."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_short(input.dtype)}'")


def _no_bool(input: Tensor, what: str, name: str) -> None:
    if input.dtype is D.bool_:
        raise RuntimeError(f"{what} inputs not supported for {name}")


def _same_param_dtype(input: Tensor, *params: Tensor | None) -> None:
    if input.dtype in D.LOW_PRECISION and all(p is None or p.dtype is D.float32 for p in params):
        # PyTorch's CPU norms take float16/bfloat16 input with float32 parameters (what
        # autocast makes: a bfloat16 activation into a float32 LayerNorm) and return the
        # input's dtype
        return
    for p in params:
        if p is not None and p.dtype is not input.dtype:
            raise RuntimeError(
                f"mixed dtype (CPU): expect parameter to have scalar type of {_short(input.dtype)}"
            )


def _act(cls, input: Tensor, inplace: bool = False, **attrs) -> Tensor:
    if inplace:
        return input._inplace(lambda t: cls.apply(t, **attrs))
    return cls.apply(input, **attrs)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0) (``F.relu``).

    Args:
        input: The input tensor.
        inplace: Modify ``input`` in place.
    """
    _no_bool(input, "Boolean", "relu")
    return input.relu_() if inplace else E.relu(input)


def relu_(input: Tensor) -> Tensor:
    """In-place ``relu`` (``F.relu_``).

    Args:
        input: The input tensor.
    """
    return input.relu_()


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x if x > threshold else value (``F.threshold``).

    Args:
        input: The input tensor.
        threshold: Elements not greater than this are replaced.
        value: What replaces them.
        inplace: Modify ``input`` in place.
    """
    if input.dtype is D.bool_:
        raise NotImplementedError("\"threshold_cpu\" not implemented for 'Bool'")
    return _act(N.Threshold, input, inplace, threshold=threshold, value=value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place ``threshold`` (``F.threshold_``): ``input`` where above ``threshold``, else
    ``value``.

    Args:
        input: The tensor to modify.
        threshold: The value to compare with.
        value: What replaces the elements not greater than ``threshold``.

    Returns:
        ``input``, modified.
    """
    return _act(N.Threshold, input, True, threshold=threshold, value=value)


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """Clamp to [min_val, max_val] (``F.hardtanh``).

    Args:
        input: The input tensor.
        min_val: Lower end of the linear region.
        max_val: Upper end of the linear region.
        inplace: Modify ``input`` in place.
    """
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    _no_bool(input, "Bool", "hardtanh")
    return _act(N.Hardtanh, input, inplace, min_val=min_val, max_val=max_val)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place ``hardtanh`` (``F.hardtanh_``): clamp ``input`` to ``[min_val, max_val]``.

    Args:
        input: The tensor to modify.
        min_val: The lower end of the range.
        max_val: The upper end of the range.

    Returns:
        ``input``, modified.
    """
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) (``F.relu6``).

    Args:
        input: The input tensor.
        inplace: Modify ``input`` in place.
    """
    _no_bool(input, "Bool", "hardtanh")
    return _act(N.Hardtanh, input, inplace, min_val=0.0, max_val=6.0)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (exp(x) - 1) (``F.elu``).

    Args:
        input: The input tensor.
        alpha: The alpha of the negative part.
        inplace: Modify ``input`` in place.
    """
    _float_only(input, "elu_cpu")
    return _act(N.Elu, input, inplace, alpha=alpha)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``elu`` (``F.elu_``).

    Args:
        input: The tensor to modify (floating point).
        alpha: The scale of the negative part, ``alpha * (exp(x) - 1)``.

    Returns:
        ``input``, modified.
    """
    return elu(input, alpha, inplace=True)


def selu_(input: Tensor) -> Tensor:
    """In-place ``selu`` (``F.selu_``).

    Args:
        input: The tensor to modify (floating point).

    Returns:
        ``input``, modified.
    """
    return selu(input, inplace=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``celu`` (``F.celu_``).

    Args:
        input: The tensor to modify (floating point).
        alpha: The ``alpha`` of ``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``.

    Returns:
        ``input``, modified.
    """
    return celu(input, alpha, inplace=True)


def rrelu_(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False
) -> Tensor:
    """In-place ``rrelu`` (``F.rrelu_``).

    Args:
        input: The tensor to modify (floating point).
        lower: The lower bound of the random negative slope.
        upper: The upper bound of the random negative slope.
        training: Draw a slope per element (training) or use ``(lower + upper) / 2``.

    Returns:
        ``input``, modified.
    """
    return rrelu(input, lower, upper, training, inplace=True)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants (``F.selu``).

    Args:
        input: The input tensor.
        inplace: Modify ``input`` in place.
    """
    _float_only(input, "elu_cpu")
    return _act(N.Elu, input, inplace, alpha=_SELU_ALPHA, scale=_SELU_SCALE)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) (``F.celu``).

    Args:
        input: The input tensor.
        alpha: The alpha of the negative part.
        inplace: Modify ``input`` in place.
    """
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    _float_only(input, "elu_cpu")
    return _act(N.Elu, input, inplace, alpha=alpha, input_scale=1.0 / alpha)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x (``F.leaky_relu``).

    Args:
        input: The input tensor.
        negative_slope: The slope for negative inputs.
        inplace: Modify ``input`` in place.
    """
    _float_only(input, "leaky_relu_cpu")
    return _act(N.LeakyRelu, input, inplace, negative_slope=negative_slope)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place ``leaky_relu`` (``F.leaky_relu_``).

    Args:
        input: The tensor to modify.
        negative_slope: The slope for negative inputs.

    Returns:
        ``input``, modified.
    """
    return leaky_relu(input, negative_slope, inplace=True)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x if x > 0 else weight[c] * x, one weight per channel (``F.prelu``).

    Args:
        input: The input tensor.
        weight: The learned slopes: one, or one per channel (dimension 1).
    """
    if _ac.state.active:
        return _ac.autocast_call("prelu", prelu, input, weight)
    n = weight.numel()
    if input.ndim == 0:
        w = weight.reshape(())
    elif n == 1:
        w = weight.reshape((1,) * input.ndim)
    else:
        channels = input.shape[1] if input.ndim >= 2 else input.shape[0]
        if n != channels:
            raise RuntimeError(
                "Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                f"{n} and channel size = {channels}."
            )
        if input.ndim == 1:
            w = weight.reshape(n)
        else:
            w = weight.reshape((1, n) + (1,) * (input.ndim - 2))
    return N.Prelu.apply(input, w)


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Leaky ReLU with a random slope in [lower, upper] when training (``F.rrelu``).

    Args:
        input: The input tensor.
        lower: Lower bound of the random slope.
        upper: Upper bound of the random slope.
        training: Draw the slopes at random (else use ``(lower + upper) / 2``).
        inplace: Modify ``input`` in place.
    """
    _float_only(input, "leaky_relu_cpu")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    from .. import _random

    x = input._data
    neg = x <= 0
    slopes = np.ones(x.shape, dtype=x.dtype)
    slopes[neg] = _random.default_generator.uniform(
        (int(neg.sum()),), lower, upper, np.float64
    ).astype(x.dtype)
    noise = Tensor._make(slopes)
    if inplace:
        return input.mul_(noise)
    return input * noise


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), exact or with the tanh approximation (``F.gelu``).

    Args:
        input: The input tensor.
        approximate: ``'none'`` (exact) or ``'tanh'``.
    """
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    _float_only(input, "GeluKernelImpl")
    return N.Gelu.apply(input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (``F.silu``).

    Args:
        input: The input tensor.
        inplace: Modify ``input`` in place.
    """
    _float_only(input, "silu_cpu")
    return _act(N.Silu, input, inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x)) (``F.mish``).

    Args:
        input: The input tensor.
        inplace: Modify ``input`` in place.
    """
    _float_only(input, "mish_cpu")
    return _act(N.Mish, input, inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta (``F.softplus``).

    Args:
        input: The input tensor.
        beta: The beta of ``log(1 + exp(beta * x)) / beta``.
        threshold: Above ``beta * x > threshold`` the function is the identity.
    """
    _float_only(input, "softplus_cpu")
    return N.Softplus.apply(input, beta=beta, threshold=threshold)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|) (``F.softsign``).

    Args:
        input: The input tensor.
    """
    return input / (E.abs(input) + 1)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6 (``F.hardsigmoid``).

    Args:
        input: The input tensor.
        inplace: Modify ``input`` in place.
    """
    _float_only(input, "hardsigmoid_cpu")
    return _act(N.Hardsigmoid, input, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6 (``F.hardswish``).

    Args:
        input: The input tensor.
        inplace: Modify ``input`` in place.
    """
    _float_only(input, "hardswish_cpu")
    return _act(N.Hardswish, input, inplace)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), stable (``F.logsigmoid``).

    Args:
        input: The input tensor.
    """
    _float_only(input, "log_sigmoid_cpu")
    return N.LogSigmoid.apply(input)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x) (``F.tanhshrink``).

    Args:
        input: The input tensor.
    """
    return input - E.tanh(input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Shrink towards zero by lambd (``F.softshrink``).

    Args:
        input: The input tensor.
        lambd: The lambda of the shrinkage.
    """
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    _float_only(input, "softshrink_check")
    return N.Softshrink.apply(input, lambd=lambd)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Zero where |x| <= lambd (``F.hardshrink``).

    Args:
        input: The input tensor.
        lambd: The lambda of the shrinkage.
    """
    _float_only(input, "hardshrink_cpu")
    return N.Hardshrink.apply(input, lambd=lambd)


def tanh(input: Tensor) -> Tensor:
    """Elementwise tanh (``F.tanh``).

    Args:
        input: The input tensor.
    """
    return E.tanh(input)


def sigmoid(input: Tensor) -> Tensor:
    """Elementwise logistic sigmoid (``F.sigmoid``).

    Args:
        input: The input tensor.
    """
    return E.sigmoid(input)


def _softmax_dtype_check(input: Tensor, dim, dtype, name: str) -> None:
    if dtype is not None or input.dtype.is_floating_point:
        return
    last = dim is None or input.ndim == 0 or dim in (-1, input.ndim - 1)
    _float_only(input, f"{name}_lastdim_kernel_impl" if last else f"{name}_kernel_impl")


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along dim (``F.softmax``).

    Args:
        input: The input tensor.
        dim: The dimension along which it is computed.
        _stacklevel: Internal (the stack level of the implicit-dim warning).
        dtype: If given, ``input`` is cast to it first.
    """
    _softmax_dtype_check(input, dim, dtype, "softmax")
    return R.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """log(softmax(x)) along dim, stable (``F.log_softmax``).

    Args:
        input: The input tensor.
        dim: The dimension along which it is computed.
        _stacklevel: Internal (the stack level of the implicit-dim warning).
        dtype: If given, ``input`` is cast to it first.
    """
    _softmax_dtype_check(input, dim, dtype, "log_softmax")
    return R.log_softmax(input, dim, dtype=dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along dim (``F.softmin``).

    Args:
        input: The input tensor.
        dim: The dimension along which it is computed.
        _stacklevel: Internal (the stack level of the implicit-dim warning).
        dtype: If given, ``input`` is cast to it first.
    """
    _softmax_dtype_check(input, dim, dtype, "softmax")
    return R.softmax(-input, dim, dtype=dtype)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) for the two halves of ``dim`` (``F.glu``).

    Args:
        input: The input tensor.
        dim: The dimension split in halves.
    """
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    _float_only(input, "glu_cpu")
    d = dim % input.ndim
    if input.shape[d] % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {d} is size {input.shape[d]}"
        )
    a, b = S.chunk(input, 2, d)
    return a * E.sigmoid(b)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(q k^T * scale + mask) v over the last two dims
    (``F.scaled_dot_product_attention``); fully masked rows give zeros, as PyTorch's CPU kernel.

    Args:
        query: Queries, (..., L, E).
        key: Keys, (..., S, E).
        value: Values, (..., S, Ev).
        attn_mask: A boolean mask (``True``: take part) or a float mask added to the scores.
        dropout_p: Dropout probability on the attention weights.
        is_causal: Apply a causal (lower-triangular) mask.
        scale: The factor of the scores (default ``1 / sqrt(E)``).
        enable_gqa: Grouped-query attention: the key/value heads are shared by groups of query
            heads.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "scaled_dot_product_attention",
            scaled_dot_product_attention,
            query,
            key,
            value,
            attn_mask,
            dropout_p,
            is_causal,
            scale,
            enable_gqa,
        )
    if is_causal and attn_mask is not None:
        raise RuntimeError(
            "_scaled_dot_product_attention: Explicit attn_mask should not be set when "
            "is_causal=True"
        )
    n_q, n_k = query.shape[-2], key.shape[-2]
    scale_factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        rep = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(rep, -3)
        value = value.repeat_interleave(rep, -3)
    if dropout_p == 0.0 and query.ndim >= 3:
        got = _sdpa_chunked(query, key, value, attn_mask, is_causal, scale_factor)
        if got is not None:
            return got
    scores = L.matmul(query, key.transpose(-2, -1)) * scale_factor
    if is_causal:
        allowed = np.tril(np.ones((n_q, n_k), dtype=bool))
        scores = I.masked_fill(scores, Tensor._make(~allowed), -math.inf)
    if attn_mask is not None:
        if attn_mask.dtype is D.bool_:
            scores = I.masked_fill(scores, E.logical_not(attn_mask), -math.inf)
        else:
            scores = scores + attn_mask
    weights = R.softmax(scores, -1)
    # a fully masked row is NaN after the softmax: look for one (a row-wise reduction of
    # the scores) only when there is a NaN at all (one sum of the weights)
    if bool(weights.detach().sum().isnan()):
        dead = R.amax(scores.detach(), -1, keepdim=True) == -math.inf
        if bool(dead.any()):
            weights = E.where(dead, C.zeros_like(weights), weights)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    return L.matmul(weights, value)


def _chunkable(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> bool:
    """Whether attention on these heads may run chunked, outside the graph
    (``attention_chunked``): no gradient wanted, float32/float64 NumPy arrays of one
    dtype, scores large enough for softmax's fast path (the graph path's numbers)."""
    ts = (q, k, v) if mask is None else (q, k, v, mask)
    if is_grad_enabled() and any(t.requires_grad for t in ts):
        return False
    dt = q._data.dtype
    if dt not in (np.float32, np.float64) or q.ndim != 4:
        return False
    for t in ts:
        if type(t._data) is not np.ndarray or t._data.dtype != dt:
            return False
    if mask is not None and mask.shape[0] not in (1, q.shape[0]):
        return False
    return q.shape[0] * q.shape[1] * q.shape[2] * k.shape[2] >= R._SOFTMAX_FAST_MIN


def _sdpa_chunked(query, key, value, attn_mask, is_causal, scale) -> Tensor | None:
    """``scaled_dot_product_attention`` by ``attention_chunked`` when nothing needs a
    gradient (its scores kept in cache); None where that does not apply: batch dims that
    differ between q, k and v, or a mask that broadcasts over only some of them."""
    ts = (query, key, value, attn_mask)
    if is_grad_enabled() and any(t is not None and t.requires_grad for t in ts):
        return None
    lead = tuple(query.shape[:-2])
    if tuple(key.shape[:-2]) != lead or tuple(value.shape[:-2]) != lead:
        return None
    n_q, n_k = query.shape[-2], key.shape[-2]
    dt = query._data.dtype
    mask = None
    if is_causal:
        mask = np.where(np.tril(np.ones((n_q, n_k), dtype=bool)), 0, -np.inf).astype(dt)
    elif attn_mask is not None:
        mask = attn_mask._data
        if type(mask) is not np.ndarray:
            return None
        if mask.dtype == np.bool_:
            mask = np.where(mask, 0, -np.inf).astype(dt)
    if mask is not None:
        if mask.ndim > 2 and tuple(mask.shape[:-2]) == lead:
            mask = mask.reshape((-1, 1) + mask.shape[-2:])
        elif mask.ndim <= 2 or (
            mask.ndim <= len(lead) + 2 and all(d == 1 for d in mask.shape[:-2])
        ):
            mask = mask.reshape(mask.shape[-2:]) if mask.ndim > 2 else mask
            mask = np.broadcast_to(mask, (n_q, n_k)).reshape(1, 1, n_q, n_k)
        else:
            return None
    q4 = query.reshape(-1, 1, n_q, query.shape[-1])
    k4 = key.reshape(-1, 1, n_k, key.shape[-1])
    v4 = value.reshape(-1, 1, n_k, value.shape[-1])
    m4 = None if mask is None else Tensor._make(mask)
    if not _chunkable(q4, k4, v4, m4):
        return None
    out = np.empty(lead + (n_q, value.shape[-1]), dt)
    attention_chunked(
        q4._data, k4._data, v4._data, scale, mask, out.reshape(-1, 1, n_q, out.shape[-1]),
        dead_zero=True,
    )  # fmt: skip
    return Tensor._make(out)


def _float_mask(mask: Tensor | None, dtype) -> Tensor | None:
    """A boolean mask (True = masked out) as an additive float mask of -inf and 0."""
    if mask is None or mask.dtype is not D.bool_:
        return mask
    zeros = C.zeros(tuple(mask.shape), dtype=dtype)
    return I.masked_fill(zeros, mask, -math.inf)


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
):
    """Multi-head attention on (L, N, E) inputs (``F.multi_head_attention_forward``).

    Returns the attention output and, with ``need_weights``, the attention weights
    (averaged over heads with ``average_attn_weights``).

    Args:
        query: Queries, (L, N, E).
        key: Keys, (S, N, E).
        value: Values, (S, N, E).
        embed_dim_to_check: E, checked against the query.
        num_heads: Parallel attention heads.
        in_proj_weight: The stacked query, key and value projections (3E, E).
        in_proj_bias: Their biases (3E,).
        bias_k: A bias appended to the key sequence.
        bias_v: A bias appended to the value sequence.
        add_zero_attn: Append a zero step to the key and value sequences.
        dropout_p: Dropout probability on the attention weights.
        out_proj_weight: The output projection (E, E).
        out_proj_bias: Its bias.
        training: Apply dropout.
        key_padding_mask: (N, S): keys to ignore (``True`` or a float added to the scores).
        need_weights: Also return the attention weights.
        attn_mask: A boolean mask (``True``: take part) or a float mask added to the scores.
        use_separate_proj_weight: Use ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``
            instead of ``in_proj_weight``.
        q_proj_weight: The query projection.
        k_proj_weight: The key projection.
        v_proj_weight: The value projection.
        static_k: Precomputed keys to use instead of projecting ``key``.
        static_v: Precomputed values to use instead of projecting ``value``.
        average_attn_weights: Average the returned weights over the heads.
        is_causal: Apply a causal (lower-triangular) mask.
    """
    batched = query.ndim == 3
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise AssertionError(
            f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}"
        )
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
            "module method `generate_square_subsequent_mask` to create this mask."
        )
    head_dim = embed_dim // num_heads
    # self-attention with nothing appended to the keys: the heads of q, k and v are taken
    # straight from the packed product below (one view op, no chunk nor per-tensor split)
    packed_heads = (
        not use_separate_proj_weight
        and query is key
        and key is value
        and bias_k is None
        and static_k is None
        and static_v is None
    )
    # a batch-first input (MultiheadAttention(batch_first=True) passes the (L, N, E)
    # transpose of an (N, L, E) array) is projected and given back in its own order: no
    # copy of it into (L, N, E) rows before the products, none of the output after
    batch_major = packed_heads and bsz > 1 and query.transpose(0, 1).is_contiguous()
    if packed_heads:
        if batch_major:
            qkv = linear(query.transpose(0, 1), in_proj_weight, in_proj_bias)
            qkv = qkv.reshape(bsz, tgt_len, 3, num_heads, head_dim).permute(2, 0, 3, 1, 4)
        else:
            qkv = linear(query, in_proj_weight, in_proj_bias)
            qkv = qkv.reshape(tgt_len, bsz, 3, num_heads, head_dim).permute(2, 1, 3, 0, 4)
        # (3, N, H, L, head_dim): three strided views that the batched products below
        # take as they are (PyTorch copies them to (N * H, L, head_dim))
        q, k, v = S.unbind(qkv)
    elif not use_separate_proj_weight and key is value:
        # PyTorch's packed in-projection: one GEMM for q, k and v in self-attention, one
        # for k and v in encoder-decoder attention (fewer, larger products; same numbers)
        if query is key:
            q, k, v = S.chunk(linear(query, in_proj_weight, in_proj_bias), 3, -1)
        else:
            w_q, w_kv = S.split(in_proj_weight, [embed_dim, 2 * embed_dim])
            b_q = b_kv = None
            if in_proj_bias is not None:
                b_q, b_kv = S.split(in_proj_bias, [embed_dim, 2 * embed_dim])
            q = linear(query, w_q, b_q)
            k, v = S.chunk(linear(key, w_kv, b_kv), 2, -1)
    else:
        if use_separate_proj_weight:
            w_q, w_k, w_v = q_proj_weight, k_proj_weight, v_proj_weight
        else:
            w_q, w_k, w_v = S.chunk(in_proj_weight, 3)
        b_q = b_k = b_v = None
        if in_proj_bias is not None:
            b_q, b_k, b_v = S.chunk(in_proj_bias, 3)
        q, k, v = linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)
    attn_mask = _float_mask(attn_mask, q.dtype)
    if attn_mask is not None and attn_mask.ndim == 2:
        if tuple(attn_mask.shape) != (tgt_len, src_len):
            raise RuntimeError(
                f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but should be "
                f"{(tgt_len, src_len)}."
            )
        attn_mask = attn_mask.unsqueeze(0)
    elif attn_mask is not None and tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
        raise RuntimeError(
            f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but should be "
            f"{(bsz * num_heads, tgt_len, src_len)}."
        )
    key_padding_mask = _float_mask(key_padding_mask, q.dtype)
    if bias_k is not None and bias_v is not None:
        k = S.cat([k, bias_k.repeat(1, bsz, 1)])
        v = S.cat([v, bias_v.repeat(1, bsz, 1)])
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))

    def heads(t: Tensor) -> Tensor:
        # (S, N, E) -> (N, H, S, head_dim) as a view: the batched products below take
        # the strided heads as they are (PyTorch copies them to (N * H, S, head_dim))
        return t.reshape(t.shape[0], bsz, num_heads, head_dim).permute(1, 2, 0, 3)

    def static(t: Tensor, name: str) -> Tensor:
        if t.shape[0] != bsz * num_heads:
            raise AssertionError(
                f"expecting static_{name}.size(0) of {bsz * num_heads}, but got {t.shape[0]}"
            )
        if t.shape[2] != head_dim:
            raise AssertionError(
                f"expecting static_{name}.size(2) of {head_dim}, but got {t.shape[2]}"
            )
        return t.reshape(bsz, num_heads, t.shape[1], head_dim)

    if not packed_heads:
        q = heads(q)
        k = heads(k) if static_k is None else static(static_k, "k")
        v = heads(v) if static_v is None else static(static_v, "v")
    if add_zero_attn:
        k = S.cat([k, C.zeros((bsz, num_heads, 1, head_dim), dtype=k.dtype)], 2)
        v = S.cat([v, C.zeros((bsz, num_heads, 1, head_dim), dtype=v.dtype)], 2)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    src_len = k.shape[2]
    if attn_mask is not None and attn_mask.shape[0] != 1:
        attn_mask = attn_mask.reshape(bsz, num_heads, tgt_len, src_len)
    if key_padding_mask is not None:
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    if dropout_p == 0.0 and _chunkable(q, k, v, attn_mask):
        # nothing to differentiate: the attention chunk by chunk, scores kept in cache; the
        # output is written straight in the (L, N, H, head_dim) order the projection takes
        dt = q._data.dtype
        lead = (bsz, tgt_len) if batch_major else (tgt_len, bsz)
        out_np = np.empty(lead + (num_heads, head_dim), dt)
        w_np = None
        if need_weights:
            w_shape = (bsz,) if average_attn_weights else (bsz, num_heads)
            w_np = np.empty(w_shape + (tgt_len, src_len), dt)
        attention_chunked(
            q._data,
            k._data,
            v._data,
            math.sqrt(1.0 / head_dim),
            None if attn_mask is None else attn_mask._data,
            out_np.transpose(0, 2, 1, 3) if batch_major else out_np.transpose(1, 2, 0, 3),
            w_np,
            average_attn_weights,
        )
        out = Tensor._make(out_np.reshape(tgt_len * bsz, embed_dim))
        weights = None if w_np is None else Tensor._make(w_np)
        if need_weights and average_attn_weights:
            weights.div_(num_heads)  # the head sum divided in place, as below
            average_attn_weights = False
    else:
        # the queries scaled before the product, as PyTorch does: the same rounding, and
        # head_dim / S times fewer multiplications than scaling the (N, H, L, S) scores
        scores = L.matmul(q * math.sqrt(1.0 / head_dim), k.transpose(-2, -1))
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = R.softmax(scores, -1)
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        out = L.matmul(weights, v)  # (N, H, L, head_dim)
        out = out.permute((0, 2, 1, 3) if batch_major else (2, 0, 1, 3))
        out = out.reshape(tgt_len * bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias)
    if batch_major:
        out = out.reshape(bsz, tgt_len, embed_dim).transpose(0, 1)
    else:
        out = out.reshape(tgt_len, bsz, embed_dim)
    if not batched:
        out = out.squeeze(1)
    if not need_weights:
        return out, None
    if average_attn_weights:
        # a sum over the heads, then one division in place: as PyTorch's mean computes it
        weights = weights.sum(1).div_(num_heads)
    if not batched:
        weights = weights.squeeze(0)
    return out, weights


def gumbel_softmax(
    logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1
) -> Tensor:
    """Samples from the Gumbel-softmax distribution (``F.gumbel_softmax``).

    Args:
        logits: Unnormalized log-probabilities.
        tau: The temperature.
        hard: Return one-hot samples, with the soft sample's gradient (straight-through).
        eps: Deprecated: no effect (a warning when changed), as in PyTorch.
        dim: The dimension along which it is computed.
    """
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    gumbels = -E.log(C.empty_like(logits).exponential_())
    y_soft = R.softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = R.max(y_soft, dim, keepdim=True)[1]
    y_hard = I.scatter(C.zeros_like(logits), dim, index, value=1.0)
    return y_hard - y_soft.detach() + y_soft


# ---------------------------------------------------------------------------
# dropout


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _noise(input: Tensor, p: float, feature: bool) -> Tensor:
    """A Bernoulli(1 - p) keep mask in the input's dtype, per element or per channel."""
    if feature:
        if input.ndim < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    else:
        shape = tuple(input.shape)
    return Tensor._make(np.empty(shape, dtype=input._data.dtype)).bernoulli_(1 - p)


def _dropout_impl(
    input: Tensor, p: float, train: bool, inplace: bool, feature: bool, alpha: bool
) -> Tensor:
    if p == 0 or not train or input.numel() == 0:
        return input
    if p == 1:
        zero = Tensor._make(np.zeros((), dtype=input._data.dtype))
        return input.mul_(zero) if inplace else input * zero
    noise = _noise(input, p, feature)
    if alpha:
        alpha_c = 1.7580993408473766
        a = 1.0 / math.sqrt((alpha_c * alpha_c * p + 1) * (1 - p))
        b = noise.add(-1).mul_(alpha_c * a).add_(alpha_c * a * p)
        noise.mul_(a)
        if inplace:
            return input.mul_(noise).add_(b)
        return input * noise + b
    noise.div_(1 - p)
    return input.mul_(noise) if inplace else input * noise


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero elements with probability p and scale the rest by 1/(1-p) (``F.dropout``).

    Args:
        input: The input tensor.
        p: Probability of an element being zeroed.
        training: Apply it (``False``: return the input unchanged).
        inplace: Modify ``input`` in place.
    """
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, feature=False, alpha=False)


def _feature_dropout(input, p, training, inplace, batched: bool):
    """Channel dropout; an unbatched input gets a batch dimension for the mask's shape."""
    if not batched:
        input = input.unsqueeze_(0) if inplace else input.unsqueeze(0)
    out = _dropout_impl(input, p, training, inplace, feature=True, alpha=False)
    if not batched:
        out = out.squeeze_(0) if inplace else out.squeeze(0)
    return out


def dropout1d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) inputs (``F.dropout1d``).

    Args:
        input: The input tensor.
        p: Probability of an element being zeroed.
        training: Apply it (``False``: return the input unchanged).
        inplace: Modify ``input`` in place.
    """
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
            "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, "
            "a channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs)."
        )
    return _feature_dropout(input, p, training, inplace, batched=input.ndim == 3)


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of (N, C, H, W) inputs (``F.dropout2d``).

    Args:
        input: The input tensor.
        p: Probability of an element being zeroed.
        training: Apply it (``False``: return the input unchanged).
        inplace: Modify ``input`` in place.
    """
    _check_p(p)
    nd = input.ndim
    if nd not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {nd}-D input to dropout2d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, and "
            "an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2,
        )
    if nd == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
    return _dropout_impl(input, p, training, inplace, feature=True, alpha=False)


def dropout3d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) inputs (``F.dropout3d``).

    Args:
        input: The input tensor.
        p: Probability of an element being zeroed.
        training: Apply it (``False``: return the input unchanged).
        inplace: Modify ``input`` in place.
    """
    _check_p(p)
    nd = input.ndim
    if nd not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {nd}-D input to dropout3d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout3d exists to provide "
            "channel-wise dropout on inputs with 3 spatial dimensions, a channel dimension, and "
            "an optional batch dimension (i.e. 4D or 5D inputs).",
            stacklevel=2,
        )
    return _feature_dropout(input, p, training, inplace, batched=nd == 5)


def alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Dropout that keeps SELU's self-normalising mean and variance (``F.alpha_dropout``).

    Args:
        input: The input tensor.
        p: Probability of an element being zeroed.
        training: Apply it (``False``: return the input unchanged).
        inplace: Modify ``input`` in place.
    """
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, feature=False, alpha=True)


def feature_alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Channel-wise alpha dropout (``F.feature_alpha_dropout``).

    Args:
        input: The input tensor.
        p: Probability of an element being zeroed.
        training: Apply it (``False``: return the input unchanged).
        inplace: Modify ``input`` in place.
    """
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, feature=True, alpha=True)


# ---------------------------------------------------------------------------
# normalisation


def _channel_view(t: Tensor | None, ndim: int) -> Tensor | None:
    if t is None:
        return None
    return t.reshape((1, -1) + (1,) * (ndim - 2))


def _check_stat(t: Tensor | None, name: str, channels: int) -> None:
    if t is not None and t.numel() != channels:
        raise RuntimeError(f"{name} should contain {channels} elements not {t.numel()}")


def _update_running(running: Tensor | None, stat, momentum: float) -> None:
    """running = (1 - momentum) * running + momentum * stat, computed in float64."""
    if running is None:
        return
    d = running._data
    new = (1.0 - momentum) * d.astype(np.float64) + momentum * stat
    if type(d) is np.ndarray and d.flags.writeable and not running._requires_grad:
        # in place on the buffer's array, as copy_ does, without building tensors (this
        # runs twice per batch-norm call)
        np.copyto(d, new.reshape(d.shape), casting="unsafe")
        running._version_counter.v += 1
        return
    with no_grad():
        running.copy_(Tensor._make(new.astype(running._data.dtype).reshape(running.shape)))


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the batch and spatial dims per channel (``F.batch_norm``).

    Args:
        input: The input tensor.
        running_mean: Running mean per channel, updated in training.
        running_var: Running variance per channel, updated in training.
        weight: Scale per channel (optional).
        bias: Shift per channel (optional).
        training: Normalize with the batch's statistics (and update the running ones) instead of
            the running ones.
        momentum: Weight of the batch statistics in the running averages.
        eps: Added to the variance for numerical stability.
    """
    _float_only(input, "batch_norm")
    _same_param_dtype(input, running_mean, running_var, weight, bias)
    size = list(input.shape)
    if training:
        prod = size[0]
        for s in size[2:]:
            prod *= s
        if prod == 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size "
                f"{input.shape}"
            )
        if eps <= 0.0:
            raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    elif eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    if input.ndim < 2:
        raise ValueError(f"batch_norm expects an input with at least 2 dims, got {input.ndim}")
    channels = size[1]
    for t, name in (
        (running_mean, "running_mean"),
        (running_var, "running_var"),
        (weight, "weight"),
        (bias, "bias"),
    ):
        _check_stat(t, name, channels)
    nd = input.ndim
    if training or running_mean is None or running_var is None:
        axes = (0,) + tuple(range(2, nd))
        y, mean, var = N.Normalize.apply(
            input, _channel_view(weight, nd), _channel_view(bias, nd), axes=axes, eps=eps
        )
        if training and (running_mean is not None or running_var is not None):
            n = input.numel() // channels
            _update_running(running_mean, mean._data.reshape(-1), momentum)
            unbiased = var._data.reshape(-1) * (n / max(n - 1, 1))
            _update_running(running_var, unbiased, momentum)
        return y
    scale = E.rsqrt(running_var + eps)
    if weight is not None:
        scale = scale * weight
    shift = -running_mean * scale
    if bias is not None:
        shift = shift + bias
    return input * _channel_view(scale, nd) + _channel_view(shift, nd)


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each (sample, channel) over its spatial dims (``F.instance_norm``).

    Args:
        input: The input tensor.
        running_mean: Running mean per channel, updated in training.
        running_var: Running variance per channel, updated in training.
        weight: Scale per channel (optional).
        bias: Shift per channel (optional).
        use_input_stats: Normalize with each instance's statistics (else the running ones).
        momentum: Weight of the batch statistics in the running averages.
        eps: Added to the variance for numerical stability.
    """
    _float_only(input, "batch_norm")
    _same_param_dtype(input, running_mean, running_var, weight, bias)
    nd = input.ndim
    if use_input_stats:
        spatial = 1
        for s in input.shape[2:]:
            spatial *= s
        if spatial == 1:
            raise ValueError(
                f"Expected more than 1 spatial element when training, got input size {input.shape}"
            )
        axes = tuple(range(2, nd))
        y, mean, var = N.Normalize.apply(
            input, _channel_view(weight, nd), _channel_view(bias, nd), axes=axes, eps=eps
        )
        n_c = input.shape[:2]
        if running_mean is not None:
            _update_running(running_mean, mean._data.reshape(n_c).mean(0), momentum)
        if running_var is not None:
            unbiased = var._data.reshape(n_c) * (spatial / max(spatial - 1, 1))
            _update_running(running_var, unbiased.mean(0), momentum)
        return y
    return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)


def layer_norm(
    input: Tensor,
    normalized_shape,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims (``F.layer_norm``).

    Args:
        input: The input tensor.
        normalized_shape: The trailing shape over which to normalize.
        weight: Scale, of shape ``normalized_shape`` (optional).
        bias: Shift, of shape ``normalized_shape`` (optional).
        eps: Added to the variance for numerical stability.
    """
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    shape = tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if k == 0 or tuple(input.shape[input.ndim - k :]) != shape or input.ndim < k:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(map(str, shape))}], but got input of size{list(input.shape)}"
        )
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {list(t.shape)} and normalized_shape = {list(shape)}"
            )
    _float_only(input, "LayerNormKernelImpl")
    _same_param_dtype(input, weight, bias)
    axes = tuple(range(input.ndim - k, input.ndim))
    return N.LayerNormalize.apply(input, weight, bias, axes=axes, eps=eps)[0]


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over groups of channels (``F.group_norm``).

    Args:
        input: The input tensor.
        num_groups: Groups the channels are split into.
        weight: Scale per channel (optional).
        bias: Shift per channel (optional).
        eps: Added to the variance for numerical stability.
    """
    if input.ndim < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {input.ndim}"
        )
    c = input.shape[1]
    if c % num_groups:
        raise RuntimeError(
            f"Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {list(input.shape)} and num_groups={num_groups}"
        )
    _float_only(input, "GroupNormKernelImpl")
    _same_param_dtype(input, weight, bias)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {list(t.shape)} and input of shape "
                f"{list(input.shape)}"
            )
    return N.GroupNormalize.apply(input, weight, bias, groups=num_groups, eps=eps)[0]


def rms_norm(
    input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None
) -> Tensor:
    """x / sqrt(mean(x^2) + eps) * weight over the trailing dims (``F.rms_norm``).

    Args:
        input: The input tensor.
        normalized_shape: The trailing shape over which to normalize.
        weight: Scale, of shape ``normalized_shape`` (optional).
        eps: Added to the mean square (default: the dtype's eps).
    """
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    k = len(normalized_shape)
    if tuple(input.shape[input.ndim - k :]) != tuple(normalized_shape):
        raise RuntimeError(
            f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
            f"[*, {', '.join(map(str, normalized_shape))}], but got input of size"
            f"{list(input.shape)}"
        )
    _float_only(input, "rms_norm")
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(input.ndim - k, input.ndim))
    y = input * E.rsqrt(R.mean(input * input, dims, keepdim=True) + eps)
    return y * weight if weight is not None else y


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """Normalise by the squared activity of neighbouring channels (``F.local_response_norm``).

    Args:
        input: The input tensor.
        size: Neighbouring channels used for the normalization.
        alpha: Multiplicative factor.
        beta: Exponent.
        k: Additive constant.
    """
    if input.ndim < 3:
        raise ValueError(
            f"Expected 3D or higher dimensionality                          input (got "
            f"{input.ndim} dimensions)"
        )
    if input.numel() == 0:
        return input
    channels = input.shape[1]
    sq = input * input
    pads = [(0, 0)] * input.ndim
    pads[1] = (size // 2, (size - 1) // 2)
    padded = N.ConstantPad.apply(sq, pads=tuple(pads), value=0.0)
    total = S.narrow(padded, 1, 0, channels)
    for j in range(1, size):
        total = total + S.narrow(padded, 1, j, channels)
    div = total / size
    div = (div * alpha + k) ** beta
    return input / div


def normalize(
    input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None
) -> Tensor:
    """x / max(||x||_p, eps) along dim (``F.normalize``).

    Args:
        input: The input tensor.
        p: The norm degree.
        dim: The dimension along which vectors are normalized.
        eps: Lower bound of the norm.
        out: Output tensor (optional).
    """
    denom = R.norm(input, p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    res = input / denom
    if out is not None:
        return S.copy_into_out(out, res)
    return res


# ---------------------------------------------------------------------------
# distances


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between x1 and x2 along dim (``F.cosine_similarity``).

    Args:
        x1: First input.
        x2: Second input, broadcastable to the first.
        dim: The dimension of the vectors.
        eps: Lower bound of the norms.
    """
    a, b = S.broadcast_tensors(x1, x2)
    na = R.vector_norm(a, 2, dim, keepdim=True).clone()
    nb = R.vector_norm(b, 2, dim, keepdim=True).clone()
    with no_grad():
        na.clamp_min_(eps)
        nb.clamp_min_(eps)
    return R.sum((a / na) * (b / nb), dim)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim (``F.pairwise_distance``).

    Args:
        x1: First input.
        x2: Second input, broadcastable to the first.
        p: The norm degree.
        eps: Added to the differences, against a zero norm.
        keepdim: Keep the reduced dimension.
    """
    dim = max(x1.ndim, x2.ndim) - 1
    return R.norm(x1 - x2 + eps, p, dim, keepdim=keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """p-norm distances between all pairs of rows, upper triangle (``F.pdist``).

    Args:
        input: (N, M): N row vectors.
        p: The norm degree.
    """
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    n = input.shape[0]
    rows, cols = np.triu_indices(n, 1)
    a = I.index_select(input, 0, Tensor._make(rows.astype(np.int64)))
    b = I.index_select(input, 0, Tensor._make(cols.astype(np.int64)))
    return R.norm(a - b, p, 1)


# ---------------------------------------------------------------------------
# embedding, one-hot, padding


def _check_indices(input: Tensor, name: str = "embedding") -> None:
    if input.dtype not in (D.int64, D.int32):
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {input.type()} instead (while checking arguments for "
            f"{name})"
        )


def _embedding_renorm(weight: Tensor, input: Tensor, max_norm: float, norm_type: float) -> None:
    rows = np.unique(input._data.reshape(-1))
    w = weight._data
    sel = w[rows].astype(np.float64)
    if norm_type == math.inf:
        norms = np.abs(sel).max(axis=1)
    else:
        norms = (np.abs(sel) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    w[rows] = (w[rows] * scale[:, None].astype(w.dtype)).astype(w.dtype)
    weight._version_counter.v += 1


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Look up rows of ``weight`` by index (``F.embedding``).

    Args:
        input: Indices, of any shape.
        weight: The embedding matrix (num_embeddings, embedding_dim).
        padding_idx: An index whose vector gets no gradient.
        max_norm: Renormalize, in place, looked-up vectors whose norm exceeds this.
        norm_type: The p of the p-norm for ``max_norm``.
        scale_grad_by_freq: Scale the gradients by the inverse frequency of the indices in the
            batch.
        sparse: Accepted; the gradient is dense (tapegrad has no sparse tensors).
    """
    _check_indices(input)
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    num = weight.shape[0]
    if padding_idx is not None:
        if padding_idx > 0 and padding_idx >= num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            if padding_idx < -num:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = num + padding_idx
    idx = input._data
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        with no_grad():
            _embedding_renorm(weight, input, max_norm, norm_type)
    return N.Embedding.apply(
        weight,
        indices=idx.astype(np.int64, copy=False),
        padding_idx=padding_idx,
        scale_grad_by_freq=scale_grad_by_freq,
    )


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """Sums, means or maxes of bags of embeddings (``F.embedding_bag``).

    Args:
        input: Indices: a 2-D batch of bags, or a 1-D list split by ``offsets``.
        weight: The embedding matrix (num_embeddings, embedding_dim).
        offsets: With a 1-D ``input``: where each bag starts.
        max_norm: Renormalize, in place, looked-up vectors whose norm exceeds this.
        norm_type: The p of the p-norm for ``max_norm``.
        scale_grad_by_freq: Scale the gradients by the inverse frequency of the indices in the
            batch.
        mode: ``'sum'``, ``'mean'`` or ``'max'`` over each bag.
        sparse: Accepted; the gradient is dense (tapegrad has no sparse tensors).
        per_sample_weights: A weight per index (``mode='sum'`` only).
        include_last_offset: ``offsets`` has one more element, the end of the last bag.
        padding_idx: An index whose vector gets no gradient.
    """
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, but got {mode}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub."
        )
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a "
                "mini-batch of fixed length sequences. However, found offsets of type "
                f"{type(offsets)}"
            )
        b, length = input.shape
        starts = np.arange(0, b * length, length, dtype=np.int64)
        ends = starts + length
        flat = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        offs = offsets._data.astype(np.int64)
        flat = input
        if include_last_offset:
            starts, ends = offs[:-1], offs[1:]
        else:
            starts, ends = offs, np.append(offs[1:], input.shape[0])
    else:
        raise ValueError(
            f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}"
        )
    if padding_idx is not None and padding_idx < 0:
        padding_idx = weight.shape[0] + padding_idx
    emb = embedding(
        flat,
        weight,
        padding_idx=padding_idx,
        max_norm=max_norm,
        norm_type=norm_type,
        scale_grad_by_freq=scale_grad_by_freq,
    )
    if per_sample_weights is not None:
        emb = emb * per_sample_weights.unsqueeze(1)
    idx = flat._data
    outs = []
    for s, e in zip(starts.tolist(), ends.tolist()):
        keep = np.arange(s, e)
        if padding_idx is not None:
            keep = keep[idx[s:e] != padding_idx]
        if keep.size == 0:
            outs.append(C.zeros(weight.shape[1], dtype=weight.dtype))
            continue
        rows = I.index_select(emb, 0, Tensor._make(keep.astype(np.int64)))
        if mode == "sum":
            outs.append(R.sum(rows, 0))
        elif mode == "mean":
            outs.append(R.mean(rows, 0))
        else:
            outs.append(R.amax(rows, 0))
    if not outs:
        return C.zeros(0, weight.shape[1], dtype=weight.dtype)
    return S.stack(outs, 0)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Int64 one-hot encoding along a new last dim (``F.one_hot``).

    Args:
        tensor: Class indices (int64).
        num_classes: Number of classes (-1: the largest index plus one).
    """
    if tensor.dtype is not D.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    a = tensor._data
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    if a.size:
        if a.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if a.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    out = np.zeros(a.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, a[..., None], 1, axis=-1)
    return Tensor._make(out)


def _pad_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    i = np.arange(-before, n + after)
    if mode == "reflect":
        period = 2 * (n - 1)
        i = np.abs(i) % period if period else np.zeros_like(i)
        return np.where(i >= n, period - i, i)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    # circular: negative pads crop first, and the wrap-around copies from the cropped part
    lo, hi = max(-before, 0), n - max(-after, 0)
    return np.arange(-max(before, 0), hi - lo + max(after, 0)) % (hi - lo) + lo


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last dims by (left, right, top, bottom, ...) amounts (``F.pad``).

    Args:
        input: The input tensor.
        pad: Amounts (left, right, top, bottom, front, back), from the last dimension backwards.
        mode: ``'constant'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        value: The fill value of ``'constant'`` padding (default 0).
    """
    pad = [int(p) for p in pad]
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    k = len(pad) // 2
    if k > input.ndim:
        raise RuntimeError(
            f"Padding length should be less than or equal to two times the input dimension but "
            f"got padding length {len(pad)} and input of dimension {input.ndim}"
        )
    pairs = [(0, 0)] * (input.ndim - k) + [(pad[2 * i], pad[2 * i + 1]) for i in reversed(range(k))]
    if mode == "constant":
        return N.ConstantPad.apply(input, pads=tuple(pairs), value=0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if k > 3 or input.ndim < k + 1 or input.ndim > k + 2:
        raise NotImplementedError(
            f"Only 2D, 3D, 4D, 5D padding with non-constant padding are supported for now "
            f"(got a {input.ndim}D input with padding of length {len(pad)})"
        )
    index = []
    for d in range(input.ndim - k, input.ndim):
        a, b = pairs[d]
        if a == 0 and b == 0:
            continue
        n = input.shape[d]
        if mode == "reflect" and (a >= n or b >= n):
            raise RuntimeError(
                f"Argument #4: Padding size should be less than the corresponding input "
                f"dimension, but got: padding ({a}, {b}) at dimension {d} of input "
                f"{list(input.shape)}"
            )
        if mode == "circular" and (a > n or b > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        index.append((d, _pad_index(n, a, b, mode)))
    if not index:
        return input.clone()
    return N.IndexPad.apply(input, index=tuple(index))


# ---------------------------------------------------------------------------
# interpolation


def _interp_sizes(input: Tensor, size, scale_factor, dims: int):
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        sizes = [int(size)] * dims if isinstance(size, numbers.Integral) else [int(s) for s in size]
        if len(sizes) != dims:
            raise ValueError(
                f"Input and output must have the same number of spatial dimensions, but got "
                f"input with spatial dimensions of {list(input.shape[2:])} and output size of "
                f"{sizes}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                "output size in (o1, o2, ...,oK) format."
            )
        return sizes, None
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    scales = (
        [float(scale_factor)] * dims
        if isinstance(scale_factor, numbers.Number)
        else [float(s) for s in scale_factor]
    )
    if len(scales) != dims:
        raise ValueError(
            f"Input and scale_factor must have the same number of spatial dimensions, but got "
            f"input with spatial dimensions of {list(input.shape[2:])} and scale_factor of shape "
            f"{scales}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
            "scale_factor in (s1, s2, ...,sK) format."
        )
    sizes = [int(math.floor(float(input.shape[i + 2]) * scales[i])) for i in range(dims)]
    return sizes, scales


def interpolate(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims: nearest, nearest-exact, (bi/tri)linear, bicubic, area
    (``F.interpolate``).

    Args:
        input: The input tensor.
        size: The output spatial size.
        scale_factor: Multiplier of the spatial size (or one per dimension).
        mode: ``'nearest'``, ``'nearest-exact'``, ``'linear'``, ``'bilinear'``, ``'bicubic'``,
            ``'trilinear'`` or ``'area'``.
        align_corners: Align the corner pixels of input and output (linear and bicubic modes).
        recompute_scale_factor: Compute the output size from ``scale_factor`` and interpolate to
            it.
        antialias: Not supported (must be ``False``).
    """
    linear_modes = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
    if mode in ("nearest", "nearest-exact", "area"):
        if align_corners is not None:
            raise ValueError(
                "align_corners option can only be set with the interpolating modes: "
                "linear | bilinear | bicubic | trilinear"
            )
    elif mode in linear_modes:
        if input.ndim != linear_modes[mode]:
            raise NotImplementedError(
                f"Got {input.ndim}D input, but {mode} mode needs {linear_modes[mode]}D input"
            )
        align_corners = bool(align_corners)
    else:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for the "
            f"modes: nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact "
            f"(got {mode})"
        )
    if antialias:
        raise NotImplementedError("Anti-alias option is not supported by tapegrad's interpolate")
    dims = input.ndim - 2
    if dims < 1:
        raise ValueError(f"interpolate expects an input with at least 3 dims, got {input.ndim}")
    sizes, scales = _interp_sizes(input, size, scale_factor, dims)
    if recompute_scale_factor:
        scales = None
    if mode == "area":
        from ..ops import pool

        fn = {1: "adaptive_avg_pool1d", 2: "adaptive_avg_pool2d", 3: "adaptive_avg_pool3d"}[dims]
        return getattr(pool, fn)(input, sizes)
    out = input
    for i in range(dims):
        axis = i + 2
        n_in, n_out = input.shape[axis], sizes[i]
        scale = None if scales is None else scales[i]
        if mode in ("nearest", "nearest-exact"):
            idx = _nearest_index(n_in, n_out, scale, mode == "nearest-exact")
            out = I.index_select(out, axis, Tensor._make(idx))
        elif mode == "bicubic":
            out = _cubic_along(out, axis, n_in, n_out, scale, align_corners)
        else:
            out = _linear_along(out, axis, n_in, n_out, scale, align_corners)
    return out


def _nearest_index(n_in: int, n_out: int, scale, exact: bool) -> np.ndarray:
    s = np.float32(1.0 / scale if scale is not None and scale > 0 else n_in / n_out)
    dst = np.arange(n_out, dtype=np.float32)
    src = np.floor((dst + np.float32(0.5)) * s if exact else dst * s).astype(np.int64)
    return np.minimum(src, n_in - 1)


def _source_coords(x: Tensor, n_in: int, n_out: int, scale, align_corners: bool):
    """(dtype, source coordinate of each output position) along one axis, as PyTorch's
    interpolation computes them (half-pixel centres unless ``align_corners``)."""
    dt = x._data.dtype if x._data.dtype.kind == "f" else np.dtype(np.float32)
    dst = np.arange(n_out).astype(dt)
    if align_corners:
        s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        return dt, dst * np.asarray(s, dtype=dt)
    s = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
    return dt, (dst + np.asarray(0.5, dt)) * np.asarray(s, dt) - np.asarray(0.5, dt)


def _cubic_along(x: Tensor, axis: int, n_in: int, n_out: int, scale, align_corners: bool):
    """Keys' cubic convolution (A = -0.75) along one axis, edges clamped, as PyTorch."""
    if x.dtype is D.bfloat16:  # computed in float32 (PyTorch's opmath), rounded once
        return _cubic_along(x.float(), axis, n_in, n_out, scale, align_corners).to(x.dtype)
    # unlike linear, cubic does not clamp negative source coordinates
    dt, src = _source_coords(x, n_in, n_out, scale, align_corners)
    base = np.floor(src)
    t = (src - base).astype(dt)
    a = np.asarray(-0.75, dt)

    def near(v):  # |v| <= 1
        return ((a + 2) * v - (a + 3)) * v * v + 1

    def far(v):  # 1 < |v| < 2
        return ((a * v - 5 * a) * v + 8 * a) * v - 4 * a

    weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
    shape = [1] * x.ndim
    shape[axis] = n_out
    out = None
    for k, w in enumerate(weights):
        idx = np.clip(base.astype(np.int64) - 1 + k, 0, n_in - 1)
        term = I.index_select(x, axis, Tensor._make(idx)) * Tensor._make(w.reshape(shape))
        out = term if out is None else out + term
    return out


def _linear_along(x: Tensor, axis: int, n_in: int, n_out: int, scale, align_corners: bool):
    if x.dtype is D.bfloat16:  # computed in float32 (PyTorch's opmath), rounded once
        return _linear_along(x.float(), axis, n_in, n_out, scale, align_corners).to(x.dtype)
    dt, src = _source_coords(x, n_in, n_out, scale, align_corners)
    if not align_corners:
        src = np.maximum(src, np.asarray(0, dt))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = np.clip(src - i0.astype(dt), 0, 1).astype(dt)
    shape = [1] * x.ndim
    shape[axis] = n_out
    lam_t = Tensor._make(lam.reshape(shape))
    a = I.index_select(x, axis, Tensor._make(i0))
    b = I.index_select(x, axis, Tensor._make(i1))
    return a * (1 - lam_t) + b * lam_t


def upsample(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """Deprecated alias of ``interpolate`` (``F.upsample``).

    Args:
        input: The input tensor.
        size: The output spatial size.
        scale_factor: Multiplier of the spatial size (or one per dimension).
        mode: As for ``interpolate``.
        align_corners: Align the corner pixels of input and output (linear and bicubic modes).
    """
    warnings.warn(
        "`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated nearest-neighbour ``interpolate`` (``F.upsample_nearest``).

    Args:
        input: The input tensor.
        size: The output spatial size.
        scale_factor: Multiplier of the spatial size (or one per dimension).
    """
    warnings.warn(
        "`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated bilinear ``interpolate`` with aligned corners (``F.upsample_bilinear``).

    Args:
        input: The input tensor.
        size: The output spatial size.
        scale_factor: Multiplier of the spatial size (or one per dimension).
    """
    warnings.warn(
        "`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, g * k, *) -> channels interleaved across the g groups (``F.channel_shuffle``).

    Args:
        input: The input tensor.
        groups: Number of groups the channels are shuffled across.
    """
    if input.ndim <= 2:
        raise RuntimeError(
            f"channel_shuffle expects input with > 2 dims, but got input with sizes "
            f"{list(input.shape)}"
        )
    if groups <= 0:
        raise RuntimeError(
            f"Number of groups to divide channels in must be positive. Value of groups:{groups}"
        )
    n, c = input.shape[0], input.shape[1]
    if c % groups:
        raise RuntimeError(
            f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups."
        )
    rest = tuple(input.shape[2:])
    x = input.reshape(n, groups, c // groups, *rest).transpose(1, 2)
    return x.reshape(input.shape)


native_channel_shuffle = channel_shuffle


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r) (``F.pixel_shuffle``).

    Args:
        input: The input tensor.
        upscale_factor: The factor r by which the spatial size grows.
    """
    r = upscale_factor
    if input.ndim < 3:
        raise RuntimeError(
            "pixel_shuffle expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s)"
        )
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(
            f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
            f"of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}"
        )
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    n = len(lead)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r^2, H, W) (``F.pixel_unshuffle``).

    Args:
        input: The input tensor.
        downscale_factor: The factor r by which the spatial size shrinks.
    """
    r = downscale_factor
    if input.ndim < 3:
        raise RuntimeError(
            "pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s)"
        )
    *lead, c, h, w = input.shape
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    n = len(lead)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


# ---------------------------------------------------------------------------
# losses: regression


def _broadcast_pair(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """``broadcast_tensors(a, b)``, without the two expand nodes when the shapes agree
    (the usual case: they were a third of a small ``mse_loss``'s time)."""
    if a.shape == b.shape:
        return a, b
    return S.broadcast_tensors(a, b)


def _pointwise_loss(
    loss: Tensor,
    reduction: str,
    weight: Tensor | None,
    input: Tensor,
    weighted_mean_by_weight: bool = True,
) -> Tensor:
    if weight is None:
        return _reduce(loss, reduction)
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / weight.sum() if weighted_mean_by_weight else loss.mean()


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean squared error (``F.mse_loss``).

    Args:
        input: The input tensor.
        target: The target, of the input's shape.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
        weight: Weights of the elements (optional).
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "mse_loss", mse_loss, input, target, size_average, reduce, reduction, weight
        )
    _warn_size(input, target)
    _float_only(input, "mse_cpu")
    reduction = _resolve(size_average, reduce, reduction)
    a, b = _broadcast_pair(input, target)
    if weight is None and a.dtype is b.dtype and a.dtype in (D.float32, D.float64):
        return LS.MseLoss.apply(a, b, reduction=reduction)
    d = a - b
    return _pointwise_loss(d * d, reduction, weight, input)


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean absolute error (``F.l1_loss``).

    Args:
        input: The input tensor.
        target: The target, of the input's shape.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
        weight: Weights of the elements (optional).
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "l1_loss", l1_loss, input, target, size_average, reduce, reduction, weight
        )
    _warn_size(input, target)
    reduction = _resolve(size_average, reduce, reduction)
    a, b = _broadcast_pair(input, target)
    return _pointwise_loss(E.abs(a - b), reduction, weight, input)


def _smooth_l1(d: Tensor, beta: float) -> Tensor:
    ad = E.abs(d)
    return E.where(ad < beta, 0.5 * d * d / beta, ad - 0.5 * beta)


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """Quadratic below beta, linear above (``F.smooth_l1_loss``).

    Args:
        input: The input tensor.
        target: The target, of the input's shape.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
        beta: Where the loss turns from quadratic to linear.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "smooth_l1_loss", smooth_l1_loss, input, target, size_average, reduce, reduction, beta
        )
    _warn_size(input, target)
    reduction = _resolve(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _float_only(input, "smooth_l1_cpu")
    a, b = _broadcast_pair(input, target)
    d = a - b
    loss = E.abs(d) if beta == 0.0 else _smooth_l1(d, beta)
    return _reduce(loss, reduction)


def huber_loss(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Tensor | None = None,
) -> Tensor:
    """delta * smooth_l1(beta=delta) (``F.huber_loss``).

    Args:
        input: The input tensor.
        target: The target, of the input's shape.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
        delta: Where the loss turns from quadratic to linear.
        weight: Weights of the elements (optional).
    """
    if _ac.state.active:
        return _ac.autocast_call("huber_loss", huber_loss, input, target, reduction, delta, weight)
    _warn_size(input, target)
    _Reduction.get_enum(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _float_only(input, "huber_cpu")
    if target.dtype is not input.dtype:
        target = target.to(input.dtype)  # PyTorch's huber_loss keeps the input's dtype
    a, b = _broadcast_pair(input, target)
    d = a - b
    ad = E.abs(d)
    loss = E.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))
    return _pointwise_loss(loss, reduction, weight, input, weighted_mean_by_weight=False)


def _xlogy(x: Tensor, y: Tensor) -> Tensor:
    zero = x == 0
    safe = E.where(zero, C.ones_like(y), y)
    return E.where(zero, C.zeros_like(x), x * E.log(safe))


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL(target || exp(input)) with input as log-probabilities (``F.kl_div``).

    Args:
        input: Log-probabilities.
        target: Probabilities (log-probabilities with ``log_target``).
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
        log_target: The target is given as log-probabilities.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "kl_div", kl_div, input, target, size_average, reduce, reduction, log_target
        )
    if not input.dtype.is_floating_point and not target.dtype.is_floating_point:
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if size_average is not None or reduce is not None:
        reduction = _Reduction.legacy_get_string(size_average, reduce)
    else:
        if reduction == "mean":
            warnings.warn(
                "reduction: 'mean' divides the total loss by both the batch size and the support "
                "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
                "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
                "major release.",
                UserWarning,
                stacklevel=2,
            )
        if reduction != "batchmean":
            _Reduction.get_enum(reduction)
    if log_target:
        loss = E.exp(target) * (target - input)
    else:
        loss = _xlogy(target, target) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim != 0 else total
    return _reduce(loss, reduction)


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average=None,
    eps: float = 1e-8,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of a Poisson target (``F.poisson_nll_loss``).

    Args:
        input: The input tensor.
        target: The target, of the input's shape.
        log_input: The input is the log of the rate.
        full: Add the Stirling approximation term.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        eps: Added to the rate inside the log when ``log_input`` is false.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "poisson_nll_loss",
            poisson_nll_loss,
            input,
            target,
            log_input,
            full,
            size_average,
            eps,
            reduce,
            reduction,
        )
    reduction = _resolve(size_average, reduce, reduction)
    if log_input:
        loss = E.exp(input) - target * input
    else:
        loss = input - target * E.log(input + eps)
    if full:
        safe_t = E.where(target > 1, target, C.ones_like(target))
        stirling = safe_t * E.log(safe_t) - safe_t + 0.5 * E.log(2 * math.pi * safe_t)
        loss = loss + I.masked_fill(stirling, target <= 1, 0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of a Gaussian with predicted variance (``F.gaussian_nll_loss``).

    Args:
        input: Predicted means.
        target: The target, of the input's shape.
        var: Predicted variances (positive).
        full: Add the constant ``0.5 * log(2 * pi)``.
        eps: Lower bound of the variance.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * C.ones_like(input)
    elif bool(R.any(var < 0)):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)
        elif (
            input.ndim == var.ndim and sum(y for x, y in zip(input.shape, var.shape) if x != y) == 1
        ):
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var.clone()
    with no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (E.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------------
# losses: classification


def _check_weight(weight: Tensor | None, n_classes: int) -> None:
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != n_classes):
        raise RuntimeError(
            f"weight tensor should be defined either for all {n_classes} classes or no classes "
            f"but got weight tensor of shape: {list(weight.shape)}"
        )


def _class_index_args(input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int):
    """Validate (input, class-index target) and bring them to (N, C, *) / (N, *)."""
    if input.ndim == 0:
        raise RuntimeError("input tensor should be 1D or 2D")
    if input.ndim == 1:
        if target.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        x, squeeze = input.unsqueeze(0), target.ndim == 0
        t = target._data.reshape(-1)
    else:
        n = input.shape[0]
        if target.ndim == 0:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        if target.shape[0] != n:
            raise ValueError(
                f"Expected input batch_size ({n}) to match target batch_size ({target.shape[0]})."
            )
        if input.ndim == 2 and target.ndim != 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        expected = (n,) + tuple(input.shape[2:])
        if input.ndim > 2 and tuple(target.shape) != expected:
            raise RuntimeError(f"Expected target size {list(expected)}, got {list(target.shape)}")
        x, squeeze, t = input, False, target._data
    if target.dtype not in (D.int64, D.uint8):
        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got {_short(target.dtype)}"
        )
    n_classes = x.shape[1]
    _check_weight(weight, n_classes)
    t = t.astype(np.int64, copy=False)
    bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(f"Target {int(t[bad].reshape(-1)[0])} is out of bounds.")
    return x, t, squeeze


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of class indices given log-probabilities (``F.nll_loss``).

    Args:
        input: Log-probabilities, (N, C) or (N, C, d1, ...).
        target: Class indices, (N) or (N, d1, ...).
        weight: A weight per class (optional).
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        ignore_index: A target value that is ignored and does not count in the mean.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "nll_loss",
            nll_loss,
            input,
            target,
            weight,
            size_average,
            ignore_index,
            reduce,
            reduction,
        )
    reduction = _resolve(size_average, reduce, reduction)
    x, t, squeeze = _class_index_args(input, target, weight, ignore_index)
    out = N.NllLoss.apply(x, weight, target=t, ignore_index=ignore_index, reduction=reduction)
    return out.reshape(()) if squeeze and reduction == "none" else out


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """log_softmax + nll over dim 1, class indices or probabilities (``F.cross_entropy``).

    Args:
        input: Unnormalized logits, (N, C) or (N, C, d1, ...).
        target: Class indices, or class probabilities of the input's shape.
        weight: A weight per class (optional).
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        ignore_index: A target value that is ignored and does not count in the mean.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
        label_smoothing: In [0, 1]: the targets become a mix with the uniform distribution.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "cross_entropy_loss",
            cross_entropy,
            input,
            target,
            weight,
            size_average,
            ignore_index,
            reduce,
            reduction,
            label_smoothing,
        )
    reduction = _resolve(size_average, reduce, reduction)
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            f"\"log_softmax_lastdim_kernel_impl\" not implemented for '{_short(input.dtype)}'"
        )
    if tuple(input.shape) == tuple(target.shape):
        if not target.dtype.is_floating_point:
            raise RuntimeError(
                "Expected floating point type for target with class probabilities, got "
                f"{_short(target.dtype)}"
            )
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        if not 0.0 <= label_smoothing <= 1.0:
            raise RuntimeError(
                f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}"
            )
        one_d = input.ndim == 1
        x = input.unsqueeze(0) if one_d else input
        t = target.unsqueeze(0) if one_d else target
        dt = D.promote_types(x.dtype, t.dtype)
        x, t = x.to(dt), t.to(dt)
        _check_weight(weight, x.shape[1])
        out = N.CrossEntropyProbs.apply(
            x, t, weight, reduction=reduction, smoothing=float(label_smoothing)
        )
        return out.reshape(()) if one_d and reduction == "none" else out
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    x, t, squeeze = _class_index_args(input, target, weight, ignore_index)
    out = N.CrossEntropy.apply(
        x,
        weight,
        target=t,
        ignore_index=ignore_index,
        reduction=reduction,
        smoothing=float(label_smoothing),
    )
    return out.reshape(()) if squeeze and reduction == "none" else out


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross-entropy of probabilities, logs clamped at -100 (``F.binary_cross_entropy``).

    Args:
        input: Probabilities in [0, 1].
        target: The target, of the input's shape.
        weight: A weight per element, broadcast to the input (optional).
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "binary_cross_entropy",
            binary_cross_entropy,
            input,
            target,
            weight,
            size_average,
            reduce,
            reduction,
        )
    reduction = _resolve(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size."
        )
    _float_only(input, "binary_cross_entropy")
    for t in (target, weight):
        if t is not None and t.dtype is not input.dtype:
            raise RuntimeError(f"Found dtype {_short(t.dtype)} but expected {_short(input.dtype)}")
    x = input._data
    if x.size and not ((x >= 0) & (x <= 1)).all():
        raise RuntimeError("all elements of input should be between 0 and 1")
    t = target._data
    if t.size and not ((t >= 0) & (t <= 1)).all():
        raise RuntimeError("all elements of target should be between 0 and 1")
    if weight is not None:
        shape = S.broadcast_shapes(target.shape, weight.shape)
        weight = weight.expand(shape)
    loss = N.BinaryCrossEntropy.apply(input, target, weight)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Sigmoid + binary cross-entropy fused stably (``F.binary_cross_entropy_with_logits``).

    Args:
        input: Logits.
        target: The target, of the input's shape.
        weight: A weight per element, broadcast to the input (optional).
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
        pos_weight: A weight of the positive examples, per class.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "binary_cross_entropy_with_logits",
            binary_cross_entropy_with_logits,
            input,
            target,
            weight,
            size_average,
            reduce,
            reduction,
            pos_weight,
        )
    reduction = _resolve(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    _float_only(input, "log_sigmoid_cpu")
    if not target.dtype.is_floating_point:
        raise RuntimeError(
            f"result type {_short(input.dtype)} can't be cast to the desired output type "
            f"{_short(target.dtype)}"
        )
    log_sig = N.LogSigmoid.apply(input)
    if pos_weight is not None:
        log_sig = log_sig * ((pos_weight - 1) * target + 1)
    loss = (1 - target) * input - log_sig
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge loss (``F.multi_margin_loss``).

    Args:
        input: The input tensor.
        target: Class indices (N,).
        p: 1 or 2: the power of the hinge.
        margin: The margin.
        weight: A weight per class (optional).
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "multi_margin_loss",
            multi_margin_loss,
            input,
            target,
            p,
            margin,
            weight,
            size_average,
            reduce,
            reduction,
        )
    reduction = _resolve(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    one_d = input.ndim <= 1
    x = input.reshape(1, -1) if one_d else input
    if x.ndim != 2:
        raise RuntimeError(
            f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
            f"{list(input.shape)}"
        )
    n, c = x.shape
    if target.dtype is not D.int64:
        raise RuntimeError(f"expected scalar type Long but found {_short(target.dtype)}")
    t = target._data.reshape(-1).astype(np.int64)
    if t.shape[0] != n:
        raise RuntimeError(f"inconsistent target size, expected {n} but got {list(target.shape)}")
    if t.size and (t.min() < 0 or t.max() >= c):
        raise RuntimeError("target out of range")
    # PyTorch's fused kernel has no double backward: differentiating the gradient raises
    x = N.OnceDifferentiable.apply(x, name="multi_margin_loss_backward")
    tt = Tensor._make(t[:, None])
    picked = I.gather(x, 1, tt)
    z = E.clamp_min(margin - picked + x, 0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * I.index_select(weight, 0, Tensor._make(t)).unsqueeze(1)
    mask = np.ones((n, c), dtype=x._data.dtype)
    mask[np.arange(n), t] = 0
    loss = R.sum(z * Tensor._make(mask), 1) / c
    if reduction == "none":
        loss = loss.reshape(target.shape)  # PyTorch's output takes the target's shape
    return _reduce(loss, reduction)


def multilabel_margin_loss(
    input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """Multi-label hinge loss; targets end at the first -1 (``F.multilabel_margin_loss``).

    Args:
        input: The input tensor.
        target: Class indices of each sample, padded with -1 after the last.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "multilabel_margin_loss",
            multilabel_margin_loss,
            input,
            target,
            size_average,
            reduce,
            reduction,
        )
    reduction = _resolve(size_average, reduce, reduction)
    one_d = input.ndim <= 1
    x = input.reshape(1, -1) if one_d else input
    if target.numel() != x.numel() or (not one_d and tuple(target.shape) != tuple(x.shape)):
        raise RuntimeError(
            f"inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}"
        )
    t = target._data.reshape(x.shape).astype(np.int64)
    n, c = x.shape
    if ((t < -1) | (t >= c)).any():
        raise RuntimeError("multilabel_margin_loss: target out of range")
    ends = np.where((t < 0).any(1), np.argmax(t < 0, axis=1), c)
    slot = np.arange(c)[None, :] < ends[:, None]
    safe = np.where(slot, t, 0)
    is_target = np.zeros((n, c), dtype=bool)
    rows = np.repeat(np.arange(n), c)[slot.reshape(-1)]
    is_target[rows, safe[slot]] = True
    # PyTorch's fused kernel has no double backward: differentiating the gradient raises
    x = N.OnceDifferentiable.apply(x, name="multilabel_margin_loss_backward")
    xt = I.gather(x, 1, Tensor._make(safe))
    z = E.clamp_min(1 - xt.unsqueeze(2) + x.unsqueeze(1), 0)
    mask = (slot[:, :, None] & ~is_target[:, None, :]).astype(x._data.dtype)
    loss = R.sum(z * Tensor._make(mask), (1, 2)) / c
    if one_d and reduction == "none":
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Per-class logistic loss averaged over classes (``F.multilabel_soft_margin_loss``).

    Args:
        input: The input tensor.
        target: The target, of the input's shape.
        weight: A weight per class (optional).
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """
    if size_average is not None or reduce is not None:
        reduction = _Reduction.legacy_get_string(size_average, reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = R.sum(loss, class_dim) / input.shape[class_dim]
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    return _reduce(loss, reduction)


def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1 (``F.hinge_embedding_loss``).

    Args:
        input: The input tensor.
        target: 1 or -1.
        margin: The margin.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "hinge_embedding_loss",
            hinge_embedding_loss,
            input,
            target,
            margin,
            size_average,
            reduce,
            reduction,
        )
    reduction = _resolve(size_average, reduce, reduction)
    zeros = C.zeros_like(input)
    margin_clamp = E.clamp_min(margin - input, 0)
    out_margin = E.where(target != 1, margin_clamp, zeros)
    out_self = E.where(target != -1, input, zeros)
    return _reduce(out_margin + out_self, reduction)


def soft_margin_loss(
    input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """log(1 + exp(-y x)), stable (``F.soft_margin_loss``).

    Args:
        input: The input tensor.
        target: 1 or -1.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "soft_margin_loss", soft_margin_loss, input, target, size_average, reduce, reduction
        )
    reduction = _resolve(size_average, reduce, reduction)
    if not (input.dtype.is_floating_point or target.dtype.is_floating_point):
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type {_short(input.dtype)}"
        )
    return _reduce(-N.LogSigmoid.apply(input * target), reduction)


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, -y (x1 - x2) + margin) (``F.margin_ranking_loss``).

    Args:
        input1: First input.
        input2: Second input.
        target: 1 (``input1`` should rank higher) or -1.
        margin: The margin.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "margin_ranking_loss",
            margin_ranking_loss,
            input1,
            input2,
            target,
            margin,
            size_average,
            reduce,
            reduction,
        )
    reduction = _resolve(size_average, reduce, reduction)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(
            f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} "
        )
    return _reduce(E.clamp_min(-target * (input1 - input2) + margin, 0), reduction)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos - margin) where y = -1
    (``F.cosine_embedding_loss``).

    Args:
        input1: First input.
        input2: Second input.
        target: 1 (similar pair) or -1 (dissimilar).
        margin: The margin.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "cosine_embedding_loss",
            cosine_embedding_loss,
            input1,
            input2,
            target,
            margin,
            size_average,
            reduce,
            reduction,
        )
    reduction = _resolve(size_average, reduce, reduction)
    tdim = target.ndim
    if tdim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if tdim == 1 and (input1.ndim != 2 or input2.ndim != 2):
        raise RuntimeError(
            f"1D target tensor expects 2D input tensors, but found inputs with sizes "
            f"{list(input1.shape)} and {list(input2.shape)}."
        )
    if tdim == 0 and (input1.ndim != 1 or input2.ndim != 1):
        raise RuntimeError(
            f"0D target tensor expects 1D input tensors, but found inputs with sizes "
            f"{list(input1.shape)} and {list(input2.shape)}."
        )
    eps = 1e-12
    d = tdim
    prod_sum = R.sum(input1 * input2, d)
    mag1 = R.sum(input1 * input1, d) + eps
    mag2 = R.sum(input2 * input2, d) + eps
    cos = prod_sum / E.sqrt(mag1 * mag2)
    zeros = C.zeros_like(cos)
    pos = 1 - cos
    neg = E.clamp_min(cos - margin, 0)
    out = E.where(target == 1, pos, zeros) + E.where(target == -1, neg, zeros)
    return _reduce(out, reduction)


def _lengths(v, name: str) -> np.ndarray:
    a = v._data if isinstance(v, Tensor) else np.asarray(v)
    if a.dtype.kind not in "iu":
        raise RuntimeError(f"{name} must be integral")
    return a.astype(np.int64).reshape(-1)


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths,
    target_lengths,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """Connectionist temporal classification loss of (T, N, C) log-probabilities
    (``F.ctc_loss``); targets padded (N, S) or concatenated (sum(target_lengths),).

    Args:
        log_probs: (T, N, C) log-probabilities.
        targets: Target labels, (N, S) padded or concatenated 1-D.
        input_lengths: The length of each input sequence.
        target_lengths: The length of each target sequence.
        blank: The blank label.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
        zero_infinity: Zero infinite losses (impossible alignments) and their gradients.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "ctc_loss",
            ctc_loss,
            log_probs,
            targets,
            input_lengths,
            target_lengths,
            blank,
            reduction,
            zero_infinity,
        )
    from ..ops.ctc import CtcLoss

    _Reduction.get_enum(reduction)
    unbatched = log_probs.ndim == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp.ndim != 3:
        raise RuntimeError(
            f"ctc_loss expects log_probs of shape (T, N, C) or (T, C), got {list(log_probs.shape)}"
        )
    t_max, n, c = lp.shape
    il = _lengths(input_lengths, "input_lengths")
    tl = _lengths(target_lengths, "target_lengths")
    if il.size != n:
        raise RuntimeError("input_lengths must be of size batch_size")
    if tl.size != n:
        raise RuntimeError("target_lengths must be of size batch_size")
    if not 0 <= blank < c:
        raise RuntimeError("blank must be in label range")
    if il.size and il.max() > t_max:
        raise RuntimeError(
            f"Expected input_lengths to have value at most {t_max}, but got value {il.max()} "
            "(while checking arguments for ctc_loss_allocate_outputs)"
        )
    tg = targets._data.astype(np.int64)
    if unbatched:
        if targets.ndim == 1 and targets.shape[0] != tl[0]:
            raise RuntimeError(
                f"Expected tensor to have size {tl[0]} at dimension 0, but got size "
                f"{targets.shape[0]} for argument #2 'targets' (while checking arguments for "
                "ctc_loss_allocate_outputs)"
            )
        tg = tg.reshape(1, -1)
    if tg.ndim == 2 and not (unbatched and targets.ndim == 1):
        if tl.size and tl.max() > tg.shape[1]:
            raise RuntimeError(
                f"Expected tensor to have size at least {tl.max()} at dimension 1, but got size "
                f"{tg.shape[1]} for argument #2 'targets' (while checking arguments for "
                "ctc_loss_allocate_outputs)"
            )
        rows = [tg[b, : tl[b]] for b in range(n)]
    else:
        flat = tg.reshape(-1)
        if tl.sum() > flat.size:
            raise RuntimeError(
                f"Expected tensor to have size at least {tl.sum()} at dimension 0, but got size "
                f"{flat.size} for argument #2 'targets' (while checking arguments for "
                "ctc_loss_allocate_outputs)"
            )
        ends = np.cumsum(tl)
        rows = [flat[e - k : e] for e, k in zip(ends, tl)]
    labels = np.full((n, 2 * (int(tl.max()) if tl.size else 0) + 1), blank, np.int64)
    for b, row in enumerate(rows):
        labels[b, 1 : 2 * len(row) : 2] = row
    nll = CtcLoss.apply(
        lp, labels=labels, input_lengths=il, target_lengths=tl, zero_infinity=zero_infinity
    )
    if reduction == "none":
        return nll.squeeze(0) if unbatched else nll
    if reduction == "sum":
        return nll.sum()
    denom = Tensor._make(np.maximum(tl, 1).astype(nll._data.dtype))
    return (nll / denom).mean()


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, d(a, p) - d(a, n) + margin) (``F.triplet_margin_loss``).

    Args:
        anchor: Anchor embeddings.
        positive: Embeddings of the same class.
        negative: Embeddings of another class.
        margin: The margin.
        p: The norm degree of the distance.
        eps: Added to the differences, against a zero norm.
        swap: Use the distance swap.
        size_average: Deprecated (use ``reduction``), as in PyTorch.
        reduce: Deprecated (use ``reduction``), as in PyTorch.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """
    if _ac.state.active:
        return _ac.autocast_call(
            "triplet_margin_loss",
            triplet_margin_loss,
            anchor,
            positive,
            negative,
            margin,
            p,
            eps,
            swap,
            size_average,
            reduce,
            reduction,
        )
    reduction = _resolve(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a_dim, p_dim, n_dim = anchor.ndim, positive.ndim, negative.ndim
    if not (a_dim == p_dim == n_dim):
        raise RuntimeError(
            f"The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {a_dim}D, positive {p_dim}D, and negative {n_dim}D "
            "inputs"
        )
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = E.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(E.clamp_min(margin + d_pos - d_neg, 0), reduction)


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function=None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """Triplet loss with a custom distance (``F.triplet_margin_with_distance_loss``).

    Args:
        anchor: Anchor embeddings.
        positive: Embeddings of the same class.
        negative: Embeddings of another class.
        distance_function: Distances between two batches (default: the pairwise Euclidean
            distance).
        margin: The margin.
        swap: Use the distance swap.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``: how the per-element losses are combined.
    """
    _Reduction.get_enum(reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = E.minimum(d_neg, dist(positive, negative))
    return _reduce(E.clamp_min(margin + d_pos - d_neg, 0), reduction)

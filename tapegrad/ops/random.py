"""Random sampling (``torch.rand``, ``randn``, ``Tensor.normal_``...).

The numbers come from ``tapegrad._random``, which reproduces PyTorch's CPU
generator, so the same seed gives the same numbers as PyTorch.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .. import _random as R
from . import _util as U
from .creation import _dt, _finish


def _gen(generator):
    return R.default_generator if generator is None else generator


def rand(
    *size, generator=None, dtype=None, device=None, requires_grad=False, out=None, layout=None
):
    """Uniform samples in [0, 1) (``torch.rand``).

    Args:
        generator: optional ``Generator`` to draw from instead of the global one.
        dtype: the floating dtype of the result; ``None`` means the default dtype.
        device: the device of the result; tapegrad computes on the CPU.
        requires_grad: whether autograd records operations on the result.
        out: the tensor to write the result into (resized; it keeps its dtype).
        layout: accepted for signature compatibility; only the strided layout exists.
    """
    shape = U.check_size(U.size_args(size))
    return _finish(_gen(generator).uniform(shape, 0.0, 1.0, _dt(dtype)), requires_grad, device)


def randn(
    *size, generator=None, dtype=None, device=None, requires_grad=False, out=None, layout=None
):
    """Standard normal samples (``torch.randn``).

    Args:
        generator: optional ``Generator`` to draw from instead of the global one.
        dtype: the floating dtype of the result; ``None`` means the default dtype.
        device: the device of the result; tapegrad computes on the CPU.
        requires_grad: whether autograd records operations on the result.
        out: the tensor to write the result into (resized; it keeps its dtype).
        layout: accepted for signature compatibility; only the strided layout exists.
    """
    shape = U.check_size(U.size_args(size))
    return _finish(_gen(generator).normal(shape, 0.0, 1.0, _dt(dtype)), requires_grad, device)


def randint(
    low, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False
):
    """Integers uniform in [low, high) (``torch.randint``); int64 by default.

    Args:
        low: the lowest value (inclusive); when ``high`` is omitted, this is the exclusive upper
            bound and the lowest value is 0.
        high: one above the highest value.
        size: the output shape, a tuple.
        generator: optional ``Generator`` to draw from instead of the global one.
        dtype: the dtype of the result; ``None`` means int64.
        device: the device of the result; tapegrad computes on the CPU.
        requires_grad: whether autograd records operations on the result.
    """
    if size is None:
        if high is None or isinstance(high, (tuple, list)):
            size, high, low = high, low, 0
        else:
            raise TypeError("randint() missing required argument 'size'")
    if high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    shape = U.check_size(U.size_args((size,)))
    return _finish(
        _gen(generator).randint(low, high, shape, _dt(dtype, D.int64)), requires_grad, device
    )


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0..n-1 (``torch.randperm``).

    Args:
        n: the length of the permutation.
        generator: optional ``Generator`` to draw from instead of the global one.
        dtype: the dtype of the result; ``None`` means int64.
        device: the device of the result; tapegrad computes on the CPU.
        requires_grad: whether autograd records operations on the result.
    """
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    return _finish(_gen(generator).randperm(n, _dt(dtype, D.int64)), requires_grad, device)


def rand_like(input, *, dtype=None, generator=None, requires_grad=False, device=None):
    """Uniform samples in [0, 1) shaped like ``input`` (``torch.rand_like``).

    Args:
        input: the tensor whose shape (and, by default, dtype) the result takes.
        dtype: the dtype of the result; ``None`` means ``input.dtype``.
        generator: optional ``Generator`` to draw from instead of the global one.
        requires_grad: whether autograd records operations on the result.
        device: accepted for signature compatibility; the result is on the CPU.
    """
    return rand(
        tuple(input.shape),
        dtype=dtype or input.dtype,
        generator=generator,
        requires_grad=requires_grad,
    )


def randn_like(input, *, dtype=None, generator=None, requires_grad=False, device=None):
    """Standard normal samples shaped like ``input`` (``torch.randn_like``).

    Args:
        input: the tensor whose shape (and, by default, dtype) the result takes.
        dtype: the dtype of the result; ``None`` means ``input.dtype``.
        generator: optional ``Generator`` to draw from instead of the global one.
        requires_grad: whether autograd records operations on the result.
        device: accepted for signature compatibility; the result is on the CPU.
    """
    return randn(
        tuple(input.shape),
        dtype=dtype or input.dtype,
        generator=generator,
        requires_grad=requires_grad,
    )


def randint_like(input, low, high=None, *, dtype=None, generator=None, requires_grad=False):
    """Integers uniform in [low, high) shaped like ``input`` (``torch.randint_like``).

    Args:
        input: the tensor whose shape (and, by default, dtype) the result takes.
        low: the lowest value (inclusive); when ``high`` is omitted, this is the exclusive upper
            bound and the lowest value is 0.
        high: one above the highest value.
        dtype: the dtype of the result; ``None`` means ``input.dtype``.
        generator: optional ``Generator`` to draw from instead of the global one.
        requires_grad: record operations on the result for autograd (floating dtypes only).
    """
    if high is None:
        low, high = 0, low
    t = randint(low, high, tuple(input.shape), dtype=dtype or input.dtype, generator=generator)
    return t.requires_grad_(True) if requires_grad else t


def normal(
    mean=0.0,
    std=1.0,
    size=None,
    *,
    generator=None,
    dtype=None,
    out=None,
    device=None,
    requires_grad=False,
):
    """Normal samples with given mean/std, scalars or tensors (``torch.normal``).

    Args:
        mean: the mean: a number or a tensor.
        std: the standard deviation (>= 0): a number or a tensor.
        size: the output shape; required when ``mean`` and ``std`` are both numbers, unused
            otherwise (the result then has their broadcast shape).
        generator: optional ``Generator`` to draw from instead of the global one.
        dtype: the floating dtype of the result; ``None`` means the default dtype.
        out: the tensor to write the result into (resized; it keeps its dtype).
        device: the device of the result; tapegrad computes on the CPU.
        requires_grad: whether autograd records operations on the result.
    """
    g = _gen(generator)
    mt, st = isinstance(mean, U.Tensor), isinstance(std, U.Tensor)
    if not mt and not st:
        if size is None:
            raise TypeError("normal() missing required argument 'size'")
        shape = U.check_size(U.size_args((size,)))
        return _finish(g.normal(shape, float(mean), float(std), _dt(dtype)), requires_grad, device)
    ref = mean if mt else std
    shape = U.broadcast_shapes(mean.shape if mt else (), std.shape if st else ())
    dt = ref._data.dtype
    z = g.normal(shape, 0.0, 1.0, dt)
    m = mean._data if mt else mean
    s = std._data if st else std
    if st and np.any(s < 0):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    return U.Tensor._make((z * s + m).astype(dt))


def bernoulli(input, p=None, *, generator=None, out=None):
    """Bernoulli samples with probabilities ``input`` (``torch.bernoulli``).

    Args:
        input: probabilities in [0, 1]; the result has its shape and dtype.
        p: optional single probability used for every element instead of ``input``'s values.
        generator: optional ``Generator`` to draw from instead of the global one.
        out: the tensor to write the result into (resized; it keeps its dtype).
    """
    # a Python p draws double uniforms like PyTorch's bernoulli_(float)
    probs = input._data if p is None else np.full(input.shape, float(p))
    if np.any((probs < 0) | (probs > 1)):
        raise RuntimeError("bernoulli_ expects p to be in [0, 1]")
    return U.Tensor._make(_gen(generator).bernoulli(probs, input._data.dtype))


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Indices sampled from rows of probabilities (``torch.multinomial``).

    Args:
        input: a 1-D or 2-D tensor of non-negative weights (one distribution per row).
        num_samples: number of indices to draw per row.
        replacement: whether an index can be drawn more than once.
        generator: optional ``Generator`` to draw from instead of the global one.

    Returns:
        an int64 tensor of sampled indices.
    """
    a = input._data
    if a.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not replacement and num_samples > a.shape[-1]:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    if np.any(a < 0) or np.any(~np.isfinite(a)):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    return U.Tensor._make(_gen(generator).multinomial(a, num_samples, replacement))


def poisson(input, generator=None):
    """Poisson samples with rates ``input`` (``torch.poisson``).

    Args:
        input: the non-negative rates; the result has the same dtype.
        generator: optional ``Generator`` to draw from instead of the global one.
    """
    rng = np.random.default_rng(int(_gen(generator).randint(0, 2**62, (), np.int64)))
    return U.Tensor._make(rng.poisson(input._data).astype(input._data.dtype))


# in-place fillers -----------------------------------------------------------


def _fill(t, arr):
    t._check_inplace()
    data = t._data
    if data.flags.c_contiguous:
        np.copyto(data, arr, casting="unsafe")
    else:
        # PyTorch's serial kernels draw in memory order: the k-th number goes to the k-th
        # element of the storage, whatever the view's dim order.
        target = data.transpose(_memory_perm(data))
        np.copyto(target, np.asarray(arr).reshape(-1).reshape(target.shape), casting="unsafe")
    t._version_counter.v += 1
    return t


def _memory_perm(a) -> tuple:
    """The dim order that walks ``a`` by decreasing stride (memory order)."""
    return tuple(sorted(range(a.ndim), key=lambda d: -abs(a.strides[d])))


def uniform_(t, a=0.0, b=1.0, *, generator=None):
    """Fill with uniform samples in [a, b) (``Tensor.uniform_``)."""
    if a > b:
        raise RuntimeError(
            f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}"
        )
    return _fill(t, _gen(generator).uniform(t._data.shape, float(a), float(b), t._data.dtype))


def normal_(t, mean=0.0, std=1.0, *, generator=None):
    """Fill with normal samples (``Tensor.normal_``)."""
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    g = _gen(generator)
    # non-contiguous tensors take PyTorch's one-at-a-time path, in memory order
    scalar = not t._data.flags.c_contiguous
    return _fill(t, g.normal(t._data.shape, float(mean), float(std), t._data.dtype, scalar=scalar))


def random_(t, from_=None, to=None, *, generator=None):
    """Fill with integers in [from, to) (``Tensor.random_``)."""
    if from_ is not None and to is None:
        from_, to = 0, from_
    return _fill(t, _gen(generator).random_(t._data.shape, from_, to, t._data.dtype))


def bernoulli_(t, p=0.5, *, generator=None):
    """Fill with Bernoulli(p) samples (``Tensor.bernoulli_``)."""
    if isinstance(p, U.Tensor):
        probs = np.broadcast_to(p._data, t._data.shape)
        if not t._data.flags.c_contiguous:
            probs = probs.transpose(_memory_perm(t._data))  # drawn in t's memory order
    else:
        return _fill(t, _gen(generator).bernoulli_scalar(t._data.shape, float(p), t._data.dtype))
    return _fill(t, _gen(generator).bernoulli(probs, t._data.dtype))


def exponential_(t, lambd=1.0, *, generator=None):
    """Fill with exponential samples (``Tensor.exponential_``)."""
    return _fill(t, _gen(generator).exponential(t._data.shape, float(lambd), t._data.dtype))


def geometric_(t, p, *, generator=None):
    return _fill(t, _gen(generator).geometric(t._data.shape, float(p), t._data.dtype))


def cauchy_(t, median=0.0, sigma=1.0, *, generator=None):
    return _fill(
        t, _gen(generator).cauchy(t._data.shape, float(median), float(sigma), t._data.dtype)
    )


def log_normal_(t, mean=1.0, std=2.0, *, generator=None):
    return _fill(
        t, _gen(generator).log_normal(t._data.shape, float(mean), float(std), t._data.dtype)
    )


# ``out=`` for the functions above that do not handle it themselves
rand = U.with_out(rand, factory=True)
randn = U.with_out(randn, factory=True)
normal = U.with_out(normal)
bernoulli = U.with_out(bernoulli)

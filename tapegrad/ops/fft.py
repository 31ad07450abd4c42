"""Discrete Fourier transforms: the primitives behind ``tapegrad.fft``.

As in PyTorch (``aten/src/ATen/native/SpectralOps.cpp``), every public transform is
built from three primitives plus a zero-pad/trim:

- ``FFTC2C``: complex to complex over some dims, forward or inverse;
- ``FFTR2C``: real to complex, full or one-sided (the Hermitian half in the last dim);
- ``FFTC2R``: one-sided complex to real (inverse direction).

Each carries a *scale* independent of the direction ("none", "sqrt" for 1/sqrt(n),
"n" for 1/n), so the adjoint of a transform is the opposite direction with the same
scale: that is its backward (PyTorch's complex-autograd convention). The kernels are
NumPy's ``numpy.fft`` (pocketfft), which keeps float32/complex64 precision.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from ..autograd.function import Function
from .complex import complex_dtype_of, conj, scalar_type_name
from .elementwise import _to_out

# numpy.fft's norm string that applies ``scale`` in each direction
_NP_NORM = {
    (True, "none"): "backward",
    (True, "n"): "forward",
    (True, "sqrt"): "ortho",
    (False, "none"): "forward",
    (False, "n"): "backward",
    (False, "sqrt"): "ortho",
}


class FFTC2C(Function):
    """Complex-to-complex DFT over ``dims`` (``aten::_fft_c2c``)."""

    def forward(ctx, x, dims=(-1,), scale="none", forward=True):
        ctx.dims, ctx.scale, ctx.fwd = dims, scale, forward
        fn = np.fft.fftn if forward else np.fft.ifftn
        return fn(x, axes=dims, norm=_NP_NORM[forward, scale])

    def backward(ctx, g):
        # the adjoint of a DFT is the opposite direction with the same scale
        return ctx.op(FFTC2C, g, dims=ctx.dims, scale=ctx.scale, forward=not ctx.fwd)


class FFTR2C(Function):
    """Real-to-complex DFT over ``dims``, all of it or the one-sided half of the last dim."""

    def forward(ctx, x, dims=(-1,), scale="none", forward=True, onesided=True):
        ctx.dims, ctx.scale, ctx.fwd, ctx.onesided = dims, scale, forward, onesided
        ctx.n_last = x.shape[dims[-1]]
        if not onesided:
            fn = np.fft.fftn if forward else np.fft.ifftn
            return fn(x, axes=dims, norm=_NP_NORM[forward, scale])
        y = np.fft.rfftn(x, axes=dims, norm=_NP_NORM[True, scale])
        # the inverse DFT of a real signal is the conjugate of the forward one
        return y if forward else np.conj(y)

    def backward(ctx, g):
        if ctx.onesided:
            # the dropped half of the spectrum had no gradient: zeros, then the full adjoint
            shape = list(g.shape)
            shape[ctx.dims[-1]] = ctx.n_last
            g = ctx.op(Resize, g, shape=tuple(shape))
        y = ctx.op(FFTC2C, g, dims=ctx.dims, scale=ctx.scale, forward=not ctx.fwd)
        return ctx.xp.real(y)


class FFTC2R(Function):
    """One-sided complex-to-real inverse DFT over ``dims`` (``aten::_fft_c2r``).

    The input holds ``last_size // 2 + 1`` entries of the last dim; the other half of
    the spectrum is implied by Hermitian symmetry.
    """

    def forward(ctx, x, dims=(-1,), scale="none", last_size=2):
        ctx.dims, ctx.scale, ctx.last_size = dims, scale, last_size
        s = [x.shape[d] for d in dims[:-1]] + [last_size]
        return np.fft.irfftn(x, s=s, axes=dims, norm=_NP_NORM[False, scale])

    def backward(ctx, g):
        gi = ctx.op(FFTR2C, g, dims=ctx.dims, scale=ctx.scale, forward=True, onesided=True)
        last = ctx.dims[-1]
        half = gi.shape[last]
        # each bin whose mirror image lies outside the one-sided range stood for two
        # entries of the full spectrum: bins 1 .. last_size - half get a double gradient
        double = ctx.last_size - half
        if double <= 0:
            return gi
        w = np.ones(half, dtype=_real_np(gi))
        w[1 : 1 + double] = 2
        w = w.reshape((-1,) + (1,) * (len(gi.shape) - 1 - last % len(gi.shape)))
        return gi * ctx.xp.asarray(w)


def _real_np(a):
    dt = a.dtype if isinstance(a, np.ndarray) else a.dtype.np
    return np.float64 if dt == np.complex128 else np.float32


class Resize(Function):
    """Zero-pad or trim each dim to ``shape`` (PyTorch's ``resize_fft_input``)."""

    def forward(ctx, x, shape=()):
        ctx.in_shape = x.shape
        out = np.zeros(shape, dtype=x.dtype)
        common = tuple(slice(0, min(a, b)) for a, b in zip(x.shape, shape))
        out[common] = x[common]
        return out

    def backward(ctx, g):
        return ctx.op(Resize, g, shape=ctx.in_shape)


# ---------------------------------------------------------------------------
# argument handling, mirroring SpectralOps.cpp


def norm_scale(norm: str | None, forward: bool) -> str:
    """The scale a ``norm`` string means for a transform of the given direction."""
    if norm is None or norm == "backward":
        return "none" if forward else "n"
    if norm == "forward":
        return "n" if forward else "none"
    if norm == "ortho":
        return "sqrt"
    raise RuntimeError(f'Invalid normalization mode: "{norm}"')


def promote(x, require_complex: bool = False):
    """``x`` in a dtype the FFT supports: integers to the default float, complex if asked."""
    dt = x.dtype
    if not dt.is_complex:
        if not dt.is_floating_point:
            dt = D.get_default_dtype()
        if dt is not D.float32 and dt is not D.float64:
            raise RuntimeError(f"Unsupported dtype {scalar_type_name(dt)}")
        if require_complex:
            dt = complex_dtype_of(dt)
    return x if x.dtype is dt else x.to(dt)


def wrap_dim(dim: int, ndim: int) -> int:
    """A non-negative dim (PyTorch's ``maybe_wrap_dim`` without wrapping scalars)."""
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    if not -ndim <= dim < ndim:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but "
            f"got {dim})"
        )
    return dim % ndim


def check_n(n: int) -> None:
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")


def resize(x, dims, sizes):
    """``x`` zero-padded or trimmed to ``sizes`` along ``dims`` (a no-op when it fits)."""
    shape = list(x.shape)
    for d, n in zip(dims, sizes):
        shape[d] = n
    shape = tuple(shape)
    return x if shape == tuple(x.shape) else Resize.apply(x, shape=shape)


def shape_and_dims(x, s, dim):
    """Transform sizes and dims of an n-dim transform (``canonicalize_fft_shape_and_dim_args``)."""
    nd = x.ndim
    dims = None
    if dim is not None:
        dims = [wrap_dim(int(d), nd) for d in ((dim,) if isinstance(dim, int) else dim)]
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
    if s is not None:
        s = [int(v) for v in ((s,) if isinstance(s, int) else s)]
        if dims is not None and len(dims) != len(s):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
        if len(s) > nd:
            raise RuntimeError(
                f"Got shape with {len(s)} values but input tensor only has {nd} dimensions."
            )
        if dims is None:
            dims = list(range(nd - len(s), nd))
        sizes = [x.shape[d] if n == -1 else n for d, n in zip(dims, s)]
    elif dims is None:
        dims = list(range(nd))
        sizes = list(x.shape)
    else:
        sizes = [x.shape[d] for d in dims]
    for n in sizes:
        check_n(n)
    return sizes, dims


def c2c_or_r2c(x, dims, sizes, norm, forward):
    """A full complex transform of ``x`` (complex input, or real input given to r2c)."""
    x = resize(x, dims, sizes)
    scale = norm_scale(norm, forward)
    dims = tuple(dims)
    if not dims:
        return x.clone()
    if x.dtype.is_complex:
        return FFTC2C.apply(x, dims=dims, scale=scale, forward=forward)
    return FFTR2C.apply(x, dims=dims, scale=scale, forward=forward, onesided=False)


def check_real(fname: str, x, what: str = "real") -> None:
    """PyTorch's error for a complex input to a real-input transform."""
    if x.dtype.is_complex:
        raise RuntimeError(
            f"{fname} expects a {what} input tensor, but got {scalar_type_name(x.dtype)}"
        )


def r2c(x, dims, sizes, norm, forward):
    """A one-sided transform of real ``x`` (rfft, ihfft)."""
    x = resize(promote(x), dims, sizes)
    return FFTR2C.apply(
        x, dims=tuple(dims), scale=norm_scale(norm, forward), forward=forward, onesided=True
    )


def c2r(x, dims, last_size, norm, forward):
    """A one-sided-to-real transform (irfft, hfft): the output's last dim has ``last_size``."""
    scale = norm_scale(norm, forward)
    if forward:
        x = conj(x)  # hfft is irfft of the conjugate, with the forward direction's scale
    return FFTC2R.apply(x, dims=tuple(dims), scale=scale, last_size=last_size)


def c2r_shape_and_dims(fname, x, s, dim):
    """Sizes, dims and output length for irfftn/hfftn (canonicalize_fft_c2r_shape_and_dim_args)."""
    sizes, dims = shape_and_dims(x, s, dim)
    if not sizes:
        raise RuntimeError(f"{fname} must transform at least one axis")
    if s is None or list((s,) if isinstance(s, int) else s)[-1] == -1:
        last_size = 2 * (x.shape[dims[-1]] - 1)
    else:
        last_size = sizes[-1]
    check_n(last_size)
    sizes[-1] = last_size // 2 + 1
    return sizes, dims, last_size


def check_out(fname, out, want_complex: bool) -> None:
    if out is None:
        return
    if want_complex and not out.dtype.is_complex:
        raise RuntimeError(
            f"{fname} expects a complex output tensor, but got {scalar_type_name(out.dtype)}"
        )
    if not want_complex and not out.dtype.is_floating_point:
        raise RuntimeError(
            f"{fname} expects a floating point output tensor, but got {scalar_type_name(out.dtype)}"
        )


def frequencies(n: int, d: float, out, dtype, device, requires_grad: bool, onesided: bool):
    """The sample frequencies of fftfreq/rfftfreq (in ``out``'s dtype when it is given)."""
    from .creation import tensor

    if dtype is None:
        dtype = D.get_default_dtype() if out is None else out.dtype
    dt = D.to_dtype(dtype)
    name = "rfftfreq" if onesided else "fftfreq"
    if not dt.is_floating_point and not dt.is_complex:
        raise RuntimeError(f"{name} requires a floating point or complex dtype")
    if dt.is_complex:
        raise NotImplementedError(f"\"arange_cpu\" not implemented for '{scalar_type_name(dt)}'")
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    if onesided:
        k = np.arange(n // 2 + 1, dtype=dt.np)
    else:
        # 0, 1, ..., ceil(n/2) - 1, -floor(n/2), ..., -1 (computed in the output dtype)
        k = np.arange(n, dtype=dt.np)
        k[(n + 1) // 2 :] -= n
    with np.errstate(divide="ignore", invalid="ignore"):
        # n == 0: rfftfreq gives [nan] (0 * inf), as PyTorch's does
        res = k * np.asarray(np.divide(1.0, n * d), dtype=dt.np)
    return _to_out(tensor(res, dtype=dt, device=device, requires_grad=requires_grad), out)


def shift(x, dim, inverse: bool):
    """fftshift/ifftshift: roll each dim by half its length (rounded down or up)."""
    from .shape import roll

    dims = list(range(x.ndim)) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    if not dims:
        raise RuntimeError("`shifts` required")  # torch.roll's error for a 0-d input
    shifts = []
    for d in dims:
        n = x.shape[wrap_dim(int(d), x.ndim)]
        shifts.append((n + 1) // 2 if inverse else n // 2)
    return roll(x, shifts, dims)

"""Complex numbers: parts, conjugate, angle, and the real/complex views.

Gradients follow PyTorch's convention for complex autograd: the gradient of a real
loss ``L`` with respect to a complex ``z = x + iy`` is ``dL/dx + i dL/dy`` (the
conjugate Wirtinger derivative, scaled by 2). A real input that fed a complex
result receives the real part of its gradient; the engine takes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from ..amp import autocast_mode as _ac
from ..autograd.function import Function, _type_name
from .elementwise import _to_out

if TYPE_CHECKING:
    from .._tensor import Tensor

_REAL_OF = {np.dtype(np.complex64): np.float32, np.dtype(np.complex128): np.float64}
_COMPLEX_OF = {np.dtype(np.float32): np.complex64, np.dtype(np.float64): np.complex128}


def scalar_type_name(dt: D.dtype) -> str:
    """PyTorch's ScalarType name of a dtype ("Float", "ComplexFloat"), used in messages."""
    return _type_name(dt.np)[6:-6]


def complex_dtype_of(dt: D.dtype) -> D.dtype:
    """The complex dtype with ``dt``'s precision (float32 -> complex64)."""
    return dt if dt.is_complex else D.from_numpy_dtype(_COMPLEX_OF[dt.np])


class Real(Function):
    """The real part as a view (``torch.real``); its gradient enters as ``g + 0i``."""

    is_view = True

    def forward(ctx, x):
        return x.real

    def view_fn(ctx, a, xp=np):
        return xp.real(a)

    def backward(ctx, g):
        return g  # the engine casts the real gradient to the complex input's dtype


class Imag(Function):
    """The imaginary part as a view (``torch.imag``); its gradient enters as ``i g``."""

    is_view = True

    def forward(ctx, x):
        ctx.cdt = x.dtype
        return x.imag

    def view_fn(ctx, a, xp=np):
        return xp.imag(a)

    def backward(ctx, g):
        xp = ctx.xp
        return g * xp.asarray(1j, dtype=ctx.cdt)


class Conj(Function):
    """The complex conjugate, materialised (``torch.conj_physical``)."""

    def forward(ctx, x):
        return np.conj(x)

    def backward(ctx, g):
        return ctx.xp.conj(g)


class Angle(Function):
    """The argument ``atan2(imag, real)`` (``torch.angle``)."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.asarray(np.angle(x))

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        if not xp.iscomplexobj(x):
            return xp.zeros_like(g)  # 0 or pi: piecewise constant
        # d(angle) = (-y dx + x dy) / |z|^2, i.e. i z / |z|^2 in PyTorch's convention
        r = xp.abs(x)
        with xp.errstate(divide="ignore", invalid="ignore"):
            gz = g * x / (r * r) * xp.asarray(1j, dtype=x.dtype)
        return xp.where(x == 0, xp.zeros((), x.dtype), gz)


class Sgn(Function):
    """``z / |z|`` (0 at 0) of a complex tensor (``torch.sgn``)."""

    def forward(ctx, x):
        m = np.abs(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(m == 0, np.zeros((), x.dtype), x / m)
        ctx.save_for_backward(x, y)
        return y

    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xp = ctx.xp
        # d(z/|z|) = (dz - s Re(conj(s) dz)) / |z|: PyTorch's sgn_backward
        m = xp.abs(x)
        with xp.errstate(divide="ignore", invalid="ignore"):
            gz = (g - y * xp.real(xp.conj(y) * g)) / m
        return xp.where(m == 0, xp.zeros((), x.dtype), gz)


class ViewAsReal(Function):
    """A complex tensor seen as real pairs in a new last dimension (``torch.view_as_real``)."""

    is_view = True

    def forward(ctx, x):
        return x[..., np.newaxis].view(_REAL_OF[x.dtype])

    def view_fn(ctx, a, xp=np):
        return ViewAsReal.forward(ctx, a) if xp is np else view_as_real(a)

    def backward(ctx, g):
        return ctx.op(ViewAsComplex, g)


class ViewAsComplex(Function):
    """Real pairs in the last dimension seen as complex numbers (``torch.view_as_complex``)."""

    is_view = True

    def forward(ctx, x):
        if x.strides[-1] != x.itemsize or any(s % (2 * x.itemsize) for s in x.strides[:-1]):
            x = np.ascontiguousarray(x)  # a gradient (the public function checks user input)
        return x.view(_COMPLEX_OF[x.dtype])[..., 0]

    def view_fn(ctx, a, xp=np):
        return ViewAsComplex.forward(ctx, a) if xp is np else view_as_complex(a)

    def backward(ctx, g):
        return ctx.op(ViewAsReal, g)


class Complex(Function):
    """``real + i imag`` from two real tensors (``torch.complex``)."""

    def forward(ctx, re, im):
        out = np.empty(np.broadcast_shapes(re.shape, im.shape), _COMPLEX_OF[re.dtype])
        out.real = re
        out.imag = im
        return out

    def backward(ctx, g):
        xp = ctx.xp
        nr, ni = ctx.needs_input_grad
        return (xp.real(g) if nr else None), (xp.imag(g) if ni else None)


class Polar(Function):
    """``abs * exp(i angle)`` (``torch.polar``)."""

    def forward(ctx, r, theta):
        out = np.empty(np.broadcast_shapes(r.shape, theta.shape), _COMPLEX_OF[r.dtype])
        out.real = r * np.cos(theta)
        out.imag = r * np.sin(theta)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        xp = ctx.xp
        nr, nt = ctx.needs_input_grad
        gc = xp.conj(g)
        gr = gt = None
        if nr:
            # PyTorch's polar_backward: Re(conj(g) sgn(y)), 0 where abs is 0
            m = xp.abs(y)
            with xp.errstate(divide="ignore", invalid="ignore"):
                sgn = xp.where(m == 0, xp.zeros((), y.dtype), y / m)
            gr = xp.real(gc * sgn)
        if nt:
            gt = xp.real(gc * y * xp.asarray(1j, dtype=y.dtype))
        return gr, gt


# ---------------------------------------------------------------------------
# public functions


def real(input: Tensor) -> Tensor:
    """The real part of a tensor, as a view (``torch.real``); real tensors pass unchanged.

    Args:
        input: A tensor.

    Returns:
        A real tensor sharing ``input``'s storage.
    """
    return Real.apply(input) if input.dtype.is_complex else input


def imag(input: Tensor) -> Tensor:
    """The imaginary part of a complex tensor, as a view (``torch.imag``).

    Args:
        input: A complex tensor.

    Returns:
        A real tensor sharing ``input``'s storage.

    Raises:
        RuntimeError: ``input`` is not complex.
    """
    if not input.dtype.is_complex:
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return Imag.apply(input)


def conj_physical(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The complex conjugate, computed into new memory (``torch.conj_physical``).

    Args:
        input: A tensor; a real one is returned as is.
        out: Optional output tensor.

    Returns:
        ``input`` with the sign of its imaginary part flipped.
    """
    res = Conj.apply(input) if input.dtype.is_complex else input
    return _to_out(res, out)


def conj(input: Tensor) -> Tensor:
    """The complex conjugate (``torch.conj``).

    PyTorch returns a lazy view with the conjugate bit set; tapegrad computes the
    conjugate at once (a copy), so in-place writes to the result do not reach ``input``.

    Args:
        input: A tensor; a real one is returned as is.

    Returns:
        The conjugated tensor.
    """
    return Conj.apply(input) if input.dtype.is_complex else input


def resolve_conj(input: Tensor) -> Tensor:
    """``input`` with its conjugation materialised (``torch.resolve_conj``): itself here.

    Args:
        input: the input tensor.
    """
    return input


def is_conj(input: Tensor) -> bool:
    """Whether ``input`` is a lazily conjugated view (``torch.is_conj``): never in tapegrad.

    Args:
        input: the input tensor.
    """
    return False


def angle(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The element-wise argument in radians (``torch.angle``).

    Args:
        input: A tensor; integers are promoted to the default float dtype. The angle of a
            real number is 0 or pi.
        out: Optional output tensor.

    Returns:
        A real tensor of the angles.
    """
    x = input
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        x = x.to(D.get_default_dtype())
    res = Angle.apply(x)
    return _to_out(res, out)


def view_as_real(input: Tensor) -> Tensor:
    """A complex tensor as a real one with a last dimension of size 2 (``torch.view_as_real``).

    Args:
        input: A complex tensor.

    Returns:
        A real view of shape ``(*input.shape, 2)`` holding (real, imag) pairs.

    Raises:
        RuntimeError: ``input`` is not complex.
    """
    if not input.dtype.is_complex:
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return ViewAsReal.apply(input)


def view_as_complex(input: Tensor) -> Tensor:
    """A real tensor with a last dimension of 2 seen as complex (``torch.view_as_complex``).

    Args:
        input: A float32 or float64 tensor of shape ``(..., 2)`` whose last dimension has
            stride 1 and whose other strides are even.

    Returns:
        A complex view of shape ``input.shape[:-1]``.

    Raises:
        RuntimeError: The dtype, the last dimension or the strides do not allow the view.
    """
    dt = input.dtype
    if not dt.is_floating_point:
        raise RuntimeError(
            "view_as_complex is only supported for half, float and double tensors, but got "
            f"a tensor of scalar type: {scalar_type_name(dt)}"
        )
    if input.ndim == 0 or input.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    a = input._data
    if a.strides[-1] != a.itemsize:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % (2 * a.itemsize) for s, n in zip(a.strides[:-1], a.shape[:-1]) if n > 1):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    return ViewAsComplex.apply(input)


def _check_parts(a, b) -> None:
    if not (a.dtype.is_floating_point and b.dtype.is_floating_point):
        raise RuntimeError(
            "Expected both inputs to be Half, Float or Double tensors but got "
            f"{scalar_type_name(a.dtype)} and {scalar_type_name(b.dtype)}"
        )
    if a.dtype is not b.dtype:
        raise RuntimeError(
            f"Expected object of scalar type {scalar_type_name(a.dtype)} but got scalar type "
            f"{scalar_type_name(b.dtype)} for second argument"
        )


def complex(real: Tensor, imag: Tensor, *, out: Tensor | None = None) -> Tensor:  # noqa: A001 - mirrors torch.complex
    """A complex tensor from its real and imaginary parts (``torch.complex``).

    Args:
        real: A float32 or float64 tensor.
        imag: A tensor of the same dtype (the two broadcast).
        out: Optional output tensor.

    Returns:
        ``real + i imag``, complex64 or complex128.

    Raises:
        RuntimeError: The parts are not floating point or differ in dtype.
    """
    _check_parts(real, imag)
    res = Complex.apply(real, imag)
    return _to_out(res, out)


def polar(abs: Tensor, angle: Tensor, *, out: Tensor | None = None) -> Tensor:  # noqa: A002 - mirrors torch.polar
    """A complex tensor from magnitude and phase, ``abs * exp(i angle)`` (``torch.polar``).

    Args:
        abs: The magnitudes, float32 or float64.
        angle: The phases in radians, of the same dtype (the two broadcast).
        out: Optional output tensor.

    Returns:
        A complex64 or complex128 tensor.

    Raises:
        RuntimeError: The inputs are not floating point or differ in dtype.
    """
    if _ac.state.active:
        return _ac.autocast_call("polar", polar, abs, angle, out=out)
    _check_parts(abs, angle)
    res = Polar.apply(abs, angle)
    return _to_out(res, out)

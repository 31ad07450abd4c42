"""Discrete Fourier transforms (``torch.fft``), differentiable.

``import tapegrad as torch`` then ``torch.fft.rfft(x)`` gives PyTorch's numbers, dtypes
and errors: real float32/float64 inputs give complex64/complex128 spectra, integer and
bool inputs are promoted to the default float dtype, float16 is refused as on PyTorch's
CPU. ``norm`` is ``"backward"`` (the default: no scaling forward, 1/n inverse),
``"forward"`` (the reverse) or ``"ortho"`` (1/sqrt(n) both ways). Gradients follow
PyTorch's complex-autograd convention, so a real loss built from ``.abs()``, ``.real``,
``.imag`` or ``view_as_real`` of a spectrum backpropagates as it does in PyTorch.

Example::

    >>> x = torch.tensor([1.0, 2.0, 3.0, 4.0])
    >>> torch.fft.rfft(x)
    tensor([10.+0.j, -2.+2.j, -2.+0.j])
"""

from __future__ import annotations

from collections.abc import Sequence

from .._tensor import Tensor
from ..amp import autocast_mode as _ac
from ..ops import fft as F
from ..ops.elementwise import _to_out

__all__ = [
    "fft",
    "fft2",
    "fftfreq",
    "fftn",
    "fftshift",
    "hfft",
    "hfft2",
    "hfftn",
    "ifft",
    "ifft2",
    "ifftn",
    "ifftshift",
    "ihfft",
    "ihfft2",
    "ihfftn",
    "irfft",
    "irfft2",
    "irfftn",
    "rfft",
    "rfft2",
    "rfftfreq",
    "rfftn",
]

_Dims = int | Sequence[int] | None
_Sizes = int | Sequence[int] | None


# ---------------------------------------------------------------------------
# one-dimensional


def _c2c_1d(fname, input, n, dim, norm, out, forward):
    F.check_out(fname, out, want_complex=True)
    x = F.promote(input)
    d = F.wrap_dim(dim, x.ndim)
    n = x.shape[d] if n is None else n
    F.check_n(n)
    return _to_out(F.c2c_or_r2c(x, [d], [n], norm, forward), out)


def fft(
    input: Tensor,
    n: int | None = None,
    dim: int = -1,
    norm: str | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """The one-dimensional discrete Fourier transform (``torch.fft.fft``).

    Args:
        input: A real or complex tensor; integers are promoted to the default float dtype.
        n: Signal length: ``input`` is zero-padded or trimmed to ``n`` along ``dim``.
        dim: The dimension to transform.
        norm: ``"backward"`` (default, no scaling), ``"forward"`` (1/n) or ``"ortho"``.
        out: Optional complex output tensor.

    Returns:
        The complex spectrum (complex64 for float32 input, complex128 for float64).

    Raises:
        RuntimeError: Unsupported dtype (float16), ``n < 1``, bad ``norm`` or ``out``.
        IndexError: ``dim`` out of range.
    """
    if _ac.state.active:
        return _ac.autocast_call("fft_fft", fft, input, n, dim, norm, out=out)
    return _c2c_1d("fft", input, n, dim, norm, out, True)


def ifft(
    input: Tensor,
    n: int | None = None,
    dim: int = -1,
    norm: str | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """The one-dimensional inverse discrete Fourier transform (``torch.fft.ifft``).

    Args:
        input: A real or complex tensor; integers are promoted to the default float dtype.
        n: Signal length: ``input`` is zero-padded or trimmed to ``n`` along ``dim``.
        dim: The dimension to transform.
        norm: ``"backward"`` (default, 1/n), ``"forward"`` (no scaling) or ``"ortho"``.
        out: Optional complex output tensor.

    Returns:
        The complex signal.

    Raises:
        RuntimeError: Unsupported dtype (float16), ``n < 1``, bad ``norm`` or ``out``.
        IndexError: ``dim`` out of range.
    """
    if _ac.state.active:
        return _ac.autocast_call("fft_ifft", ifft, input, n, dim, norm, out=out)
    return _c2c_1d("ifft", input, n, dim, norm, out, False)


def _r2c_1d(fname, input, n, dim, norm, out, forward):
    F.check_real(fname, input)
    F.check_out(fname, out, want_complex=True)
    x = F.promote(input)
    d = F.wrap_dim(dim, x.ndim)
    n = x.shape[d] if n is None else n
    F.check_n(n)
    return _to_out(F.r2c(x, [d], [n], norm, forward), out)


def rfft(
    input: Tensor,
    n: int | None = None,
    dim: int = -1,
    norm: str | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """The one-dimensional Fourier transform of a real signal (``torch.fft.rfft``).

    Only the non-negative frequencies are returned (``n // 2 + 1`` of them): the rest
    follow by Hermitian symmetry.

    Args:
        input: A real tensor; integers are promoted to the default float dtype.
        n: Signal length: ``input`` is zero-padded or trimmed to ``n`` along ``dim``.
        dim: The dimension to transform.
        norm: ``"backward"`` (default, no scaling), ``"forward"`` (1/n) or ``"ortho"``.
        out: Optional complex output tensor.

    Returns:
        The one-sided complex spectrum.

    Raises:
        RuntimeError: Complex or float16 input, ``n < 1``, bad ``norm`` or ``out``.
        IndexError: ``dim`` out of range.
    """
    if _ac.state.active:
        return _ac.autocast_call("fft_rfft", rfft, input, n, dim, norm, out=out)
    return _r2c_1d("rfft", input, n, dim, norm, out, True)


def ihfft(
    input: Tensor,
    n: int | None = None,
    dim: int = -1,
    norm: str | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """The inverse of ``hfft``, a one-sided inverse transform of real input (``torch.fft.ihfft``).

    Args:
        input: A real tensor; integers are promoted to the default float dtype.
        n: Signal length: ``input`` is zero-padded or trimmed to ``n`` along ``dim``.
        dim: The dimension to transform.
        norm: ``"backward"`` (default, 1/n), ``"forward"`` (no scaling) or ``"ortho"``.
        out: Optional complex output tensor.

    Returns:
        The ``n // 2 + 1`` non-negative-frequency terms of ``ifft(input)``.

    Raises:
        RuntimeError: Complex or float16 input, ``n < 1``, bad ``norm`` or ``out``.
        IndexError: ``dim`` out of range.
    """
    if _ac.state.active:
        return _ac.autocast_call("fft_ihfft", ihfft, input, n, dim, norm, out=out)
    return _r2c_1d("ihfft", input, n, dim, norm, out, False)


def _c2r_1d(fname, input, n, dim, norm, out, forward):
    F.check_out(fname, out, want_complex=False)
    x = F.promote(input, require_complex=True)
    d = F.wrap_dim(dim, x.ndim)
    last = 2 * (x.shape[d] - 1) if n is None else n
    F.check_n(last)
    if n is not None:
        x = F.resize(x, [d], [last // 2 + 1])
    return _to_out(F.c2r(x, [d], last, norm, forward), out)


def irfft(
    input: Tensor,
    n: int | None = None,
    dim: int = -1,
    norm: str | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """The inverse of ``rfft``: a real signal from its one-sided spectrum (``torch.fft.irfft``).

    Args:
        input: The one-sided spectrum (complex; real inputs are promoted).
        n: Output length along ``dim`` (default ``2 * (input.size(dim) - 1)``); the
            input is trimmed or zero-padded to ``n // 2 + 1`` entries.
        dim: The dimension to transform.
        norm: ``"backward"`` (default, 1/n), ``"forward"`` (no scaling) or ``"ortho"``.
        out: Optional real output tensor.

    Returns:
        The real signal (float32 for complex64 input, float64 for complex128).

    Raises:
        RuntimeError: Unsupported dtype, an output length below 1, bad ``norm`` or ``out``.
        IndexError: ``dim`` out of range.
    """
    if _ac.state.active:
        return _ac.autocast_call("fft_irfft", irfft, input, n, dim, norm, out=out)
    return _c2r_1d("irfft", input, n, dim, norm, out, False)


def hfft(
    input: Tensor,
    n: int | None = None,
    dim: int = -1,
    norm: str | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """The transform of a Hermitian-symmetric signal given by its first half (``torch.fft.hfft``).

    Args:
        input: The one-sided half of a Hermitian signal (complex; real is promoted).
        n: Output length along ``dim`` (default ``2 * (input.size(dim) - 1)``).
        dim: The dimension to transform.
        norm: ``"backward"`` (default, no scaling), ``"forward"`` (1/n) or ``"ortho"``.
        out: Optional real output tensor.

    Returns:
        The real spectrum.

    Raises:
        RuntimeError: Unsupported dtype, an output length below 1, bad ``norm`` or ``out``.
        IndexError: ``dim`` out of range.
    """
    if _ac.state.active:
        return _ac.autocast_call("fft_hfft", hfft, input, n, dim, norm, out=out)
    return _c2r_1d("hfft", input, n, dim, norm, out, True)


# ---------------------------------------------------------------------------
# n-dimensional


def _c2c_nd(fname, input, s, dim, norm, out, forward):
    F.check_out(fname, out, want_complex=True)
    sizes, dims = F.shape_and_dims(input, s, dim)
    x = F.promote(input, require_complex=True)
    return _to_out(F.c2c_or_r2c(x, dims, sizes, norm, forward), out)


def fftn(
    input: Tensor,
    s: _Sizes = None,
    dim: _Dims = None,
    norm: str | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """The N-dimensional discrete Fourier transform (``torch.fft.fftn``).

    Args:
        input: A real or complex tensor; integers are promoted to the default float dtype.
        s: Signal sizes along the transformed dims (-1 keeps a size); ``input`` is
            zero-padded or trimmed to them. Without ``dim``, the last ``len(s)`` dims.
        dim: The dims to transform (default: all, or the last ``len(s)``).
        norm: ``"backward"`` (default, no scaling), ``"forward"`` or ``"ortho"``.
        out: Optional complex output tensor.

    Returns:
        The complex spectrum.

    Raises:
        RuntimeError: Repeated dims, ``s`` and ``dim`` of different lengths, a size below 1,
            unsupported dtype, bad ``norm`` or ``out``.
        IndexError: A dim out of range.
    """
    if _ac.state.active:
        return _ac.autocast_call("fft_fftn", fftn, input, s, dim, norm, out=out)
    return _c2c_nd("fftn", input, s, dim, norm, out, True)


def ifftn(
    input: Tensor,
    s: _Sizes = None,
    dim: _Dims = None,
    norm: str | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """The N-dimensional inverse discrete Fourier transform (``torch.fft.ifftn``).

    Args:
        input: A real or complex tensor; integers are promoted to the default float dtype.
        s: Signal sizes along the transformed dims (-1 keeps a size).
        dim: The dims to transform (default: all, or the last ``len(s)``).
        norm: ``"backward"`` (default, 1/n), ``"forward"`` or ``"ortho"``.
        out: Optional complex output tensor.

    Returns:
        The complex signal.

    Raises:
        RuntimeError: Repeated dims, mismatched ``s``/``dim``, a size below 1, unsupported
            dtype, bad ``norm`` or ``out``.
        IndexError: A dim out of range.
    """
    if _ac.state.active:
        return _ac.autocast_call("fft_ifftn", ifftn, input, s, dim, norm, out=out)
    return _c2c_nd("ifftn", input, s, dim, norm, out, False)


def fft2(
    input: Tensor,
    s: _Sizes = None,
    dim: _Dims = (-2, -1),
    norm: str | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """The two-dimensional discrete Fourier transform (``torch.fft.fft2``): ``fftn`` over ``dim``.

    Args:
        input: A real or complex tensor.
        s: Signal sizes along ``dim`` (-1 keeps a size).
        dim: The two dims to transform (default the last two).
        norm: ``"backward"`` (default), ``"forward"`` or ``"ortho"``.
        out: Optional complex output tensor.

    Returns:
        The complex spectrum.
    """
    if _ac.state.active:
        return _ac.autocast_call("fft_fft2", fft2, input, s, dim, norm, out=out)
    return _c2c_nd("fft2", input, s, dim, norm, out, True)


def ifft2(
    input: Tensor,
    s: _Sizes = None,
    dim: _Dims = (-2, -1),
    norm: str | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """The two-dimensional inverse discrete Fourier transform (``torch.fft.ifft2``).

    Args:
        input: A real or complex tensor.
        s: Signal sizes along ``dim`` (-1 keeps a size).
        dim: The two dims to transform (default the last two).
        norm: ``"backward"`` (default, 1/n), ``"forward"`` or ``"ortho"``.
        out: Optional complex output tensor.

    Returns:
        The complex signal.
    """
    if _ac.state.active:
        return _ac.autocast_call("fft_ifft2", ifft2, input, s, dim, norm, out=out)
    return _c2c_nd("ifft2", input, s, dim, norm, out, False)


def _r2c_nd(fname, input, s, dim, norm, out, forward):
    if forward:
        F.check_real("rfftn", input, "real-valued")  # rfft2 reports itself as rfftn
    F.check_out(fname, out, want_complex=True)
    sizes, dims = F.shape_and_dims(input, s, dim)
    if not sizes:
        raise RuntimeError(f"{fname} must transform at least one axis")
    if input.dtype.is_complex:
        raise RuntimeError(
            f"Only supports floating-point dtypes, but found: {F.scalar_type_name(input.dtype)}"
        )
    x = F.promote(input)
    if forward:
        return _to_out(F.r2c(x, dims, sizes, norm, True), out)
    # ihfftn: the one-sided inverse over the last dim, then the full inverse over the others
    y = F.r2c(x, dims[-1:], sizes[-1:], norm, False)
    if len(dims) > 1:
        y = F.c2c_or_r2c(y, dims[:-1], sizes[:-1], norm, False)
    return _to_out(y, out)


def rfftn(
    input: Tensor,
    s: _Sizes = None,
    dim: _Dims = None,
    norm: str | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """The N-dimensional Fourier transform of a real signal (``torch.fft.rfftn``).

    The last transformed dim keeps only its ``s[-1] // 2 + 1`` non-negative frequencies.

    Args:
        input: A real tensor; integers are promoted to the default float dtype.
        s: Signal sizes along the transformed dims (-1 keeps a size).
        dim: The dims to transform (default: all, or the last ``len(s)``).
        norm: ``"backward"`` (default, no scaling), ``"forward"`` or ``"ortho"``.
        out: Optional complex output tensor.

    Returns:
        The one-sided complex spectrum.

    Raises:
        RuntimeError: Complex input, no dims to transform, repeated dims, mismatched
            ``s``/``dim``, a size below 1, bad ``norm`` or ``out``.
        IndexError: A dim out of range.
    """
    if _ac.state.active:
        return _ac.autocast_call("fft_rfftn", rfftn, input, s, dim, norm, out=out)
    return _r2c_nd("rfftn", input, s, dim, norm, out, True)


def rfft2(
    input: Tensor,
    s: _Sizes = None,
    dim: _Dims = (-2, -1),
    norm: str | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """The two-dimensional Fourier transform of a real signal (``torch.fft.rfft2``).

    Args:
        input: A real tensor.
        s: Signal sizes along ``dim`` (-1 keeps a size).
        dim: The two dims to transform (default the last two).
        norm: ``"backward"`` (default), ``"forward"`` or ``"ortho"``.
        out: Optional complex output tensor.

    Returns:
        The one-sided complex spectrum (the last dim halved).
    """
    if _ac.state.active:
        return _ac.autocast_call("fft_rfft2", rfft2, input, s, dim, norm, out=out)
    return _r2c_nd("rfft2", input, s, dim, norm, out, True)


def ihfftn(
    input: Tensor,
    s: _Sizes = None,
    dim: _Dims = None,
    norm: str | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """The inverse of ``hfftn`` for a real signal (``torch.fft.ihfftn``).

    Args:
        input: A real tensor; integers are promoted to the default float dtype.
        s: Signal sizes along the transformed dims (-1 keeps a size).
        dim: The dims to transform (default: all, or the last ``len(s)``).
        norm: ``"backward"`` (default, 1/n), ``"forward"`` or ``"ortho"``.
        out: Optional complex output tensor.

    Returns:
        The one-sided (last dim) part of ``ifftn(input)``.

    Raises:
        RuntimeError: Complex input, no dims to transform, repeated dims, a size below 1.
        IndexError: A dim out of range.
    """
    return _r2c_nd("ihfftn", input, s, dim, norm, out, False)


def ihfft2(
    input: Tensor,
    s: _Sizes = None,
    dim: _Dims = (-2, -1),
    norm: str | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """The two-dimensional inverse of ``hfft2`` for a real signal (``torch.fft.ihfft2``).

    Args:
        input: A real tensor.
        s: Signal sizes along ``dim`` (-1 keeps a size).
        dim: The two dims to transform (default the last two).
        norm: ``"backward"`` (default, 1/n), ``"forward"`` or ``"ortho"``.
        out: Optional complex output tensor.

    Returns:
        The one-sided (last dim) part of ``ifft2(input)``.
    """
    return _r2c_nd("ihfft2", input, s, dim, norm, out, False)


def _c2r_nd(fname, input, s, dim, norm, out, forward):
    F.check_out(fname, out, want_complex=False)
    sizes, dims, last = F.c2r_shape_and_dims(fname, input, s, dim)
    x = F.resize(F.promote(input, require_complex=True), dims, sizes)
    if forward and len(dims) > 1:
        # hfftn: the full forward transform over all but the last dim, then hfft
        x = F.c2c_or_r2c(x, dims[:-1], sizes[:-1], norm, True)
        return _to_out(F.c2r(x, dims[-1:], last, norm, True), out)
    return _to_out(F.c2r(x, dims, last, norm, forward), out)


def irfftn(
    input: Tensor,
    s: _Sizes = None,
    dim: _Dims = None,
    norm: str | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """The inverse of ``rfftn`` (``torch.fft.irfftn``).

    Args:
        input: The one-sided spectrum (complex; real inputs are promoted).
        s: Output sizes along the transformed dims (-1 keeps a size); the last one
            defaults to ``2 * (input.size(dim[-1]) - 1)``.
        dim: The dims to transform (default: all, or the last ``len(s)``).
        norm: ``"backward"`` (default, 1/n), ``"forward"`` or ``"ortho"``.
        out: Optional real output tensor.

    Returns:
        The real signal.

    Raises:
        RuntimeError: No dims to transform, repeated dims, mismatched ``s``/``dim``, a size
            below 1, bad ``norm`` or ``out``.
        IndexError: A dim out of range.
    """
    if _ac.state.active:
        return _ac.autocast_call("fft_irfftn", irfftn, input, s, dim, norm, out=out)
    return _c2r_nd("irfftn", input, s, dim, norm, out, False)


def irfft2(
    input: Tensor,
    s: _Sizes = None,
    dim: _Dims = (-2, -1),
    norm: str | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """The inverse of ``rfft2`` (``torch.fft.irfft2``).

    Args:
        input: The one-sided spectrum.
        s: Output sizes along ``dim`` (-1 keeps a size).
        dim: The two dims to transform (default the last two).
        norm: ``"backward"`` (default, 1/n), ``"forward"`` or ``"ortho"``.
        out: Optional real output tensor.

    Returns:
        The real signal.
    """
    if _ac.state.active:
        return _ac.autocast_call("fft_irfft2", irfft2, input, s, dim, norm, out=out)
    return _c2r_nd("irfft2", input, s, dim, norm, out, False)


def hfftn(
    input: Tensor,
    s: _Sizes = None,
    dim: _Dims = None,
    norm: str | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """The N-dimensional transform of a Hermitian-symmetric signal (``torch.fft.hfftn``).

    Args:
        input: The one-sided (last dim) half of a Hermitian signal.
        s: Output sizes along the transformed dims (-1 keeps a size); the last one
            defaults to ``2 * (input.size(dim[-1]) - 1)``.
        dim: The dims to transform (default: all, or the last ``len(s)``).
        norm: ``"backward"`` (default, no scaling), ``"forward"`` or ``"ortho"``.
        out: Optional real output tensor.

    Returns:
        The real spectrum.

    Raises:
        RuntimeError: No dims to transform, repeated dims, mismatched ``s``/``dim``, a size
            below 1, bad ``norm`` or ``out``.
        IndexError: A dim out of range.
    """
    return _c2r_nd("hfftn", input, s, dim, norm, out, True)


def hfft2(
    input: Tensor,
    s: _Sizes = None,
    dim: _Dims = (-2, -1),
    norm: str | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor:
    """The two-dimensional transform of a Hermitian-symmetric signal (``torch.fft.hfft2``).

    Args:
        input: The one-sided (last dim) half of a Hermitian signal.
        s: Output sizes along ``dim`` (-1 keeps a size).
        dim: The two dims to transform (default the last two).
        norm: ``"backward"`` (default), ``"forward"`` or ``"ortho"``.
        out: Optional real output tensor.

    Returns:
        The real spectrum.
    """
    return _c2r_nd("hfft2", input, s, dim, norm, out, True)


# ---------------------------------------------------------------------------
# helpers


def fftfreq(
    n: int,
    d: float = 1.0,
    *,
    out: Tensor | None = None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
) -> Tensor:
    """The sample frequencies of a length-``n`` transform (``torch.fft.fftfreq``).

    ``[0, 1, ..., ceil(n/2) - 1, -floor(n/2), ..., -1] / (d * n)``.

    Args:
        n: The signal length.
        d: The sample spacing (the inverse of the sampling rate).
        out: Optional output tensor.
        dtype: A floating dtype (default: the default float dtype).
        layout: Accepted for PyTorch compatibility (strided only).
        device: The device of the result.
        requires_grad: Whether the result records gradients.

    Returns:
        A 1-D tensor of ``n`` frequencies.

    Raises:
        RuntimeError: An integer dtype, or ``n < 0``.
    """
    return F.frequencies(n, d, out, dtype, device, requires_grad, onesided=False)


def rfftfreq(
    n: int,
    d: float = 1.0,
    *,
    out: Tensor | None = None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
) -> Tensor:
    """The non-negative sample frequencies of a length-``n`` ``rfft`` (``torch.fft.rfftfreq``).

    ``[0, 1, ..., n // 2] / (d * n)``.

    Args:
        n: The real signal length.
        d: The sample spacing.
        out: Optional output tensor.
        dtype: A floating dtype (default: the default float dtype).
        layout: Accepted for PyTorch compatibility (strided only).
        device: The device of the result.
        requires_grad: Whether the result records gradients.

    Returns:
        A 1-D tensor of ``n // 2 + 1`` frequencies.

    Raises:
        RuntimeError: An integer dtype, or ``n < 0``.
    """
    return F.frequencies(n, d, out, dtype, device, requires_grad, onesided=True)


def fftshift(input: Tensor, dim: _Dims = None) -> Tensor:
    """Move the zero frequency to the centre (``torch.fft.fftshift``).

    Args:
        input: A tensor in FFT order.
        dim: The dims to shift (default: all).

    Returns:
        ``input`` rolled by ``size // 2`` along each dim.
    """
    return F.shift(input, dim, inverse=False)


def ifftshift(input: Tensor, dim: _Dims = None) -> Tensor:
    """The inverse of ``fftshift`` (``torch.fft.ifftshift``).

    Args:
        input: A tensor with the zero frequency centred.
        dim: The dims to shift (default: all).

    Returns:
        ``input`` rolled by ``(size + 1) // 2`` along each dim.
    """
    return F.shift(input, dim, inverse=True)

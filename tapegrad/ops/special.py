"""Special functions: ``lgamma``, ``digamma``, ``polygamma``, ``mvlgamma``, ``xlog1py``, ``entr``.

NumPy has none of the gamma family, so the forwards are written here as vectorised
NumPy following the formulas PyTorch's CPU kernels use (ATen's ``Math.h``, derived
from the Cephes library): digamma by the recurrence up to 10 and the asymptotic
series, with the reflection formula below 0; trigamma by its own series; higher
polygammas as ``(-1)^(n+1) n! zeta(n+1, x)`` with Cephes' Hurwitz zeta. ``lgamma`` is
the C library's ``lgamma`` through ``math.lgamma`` (the very function PyTorch calls on
the CPU), so float64 values agree bit for bit. Float32 inputs are computed in float64
and rounded once (PyTorch evaluates the same formulas in float32: within an ulp or two).

Each backward is written against ``xp = ctx.xp`` (see DESIGN.md) so gradients of
gradients work: d lgamma = digamma, d digamma = polygamma(1), d polygamma(n) =
polygamma(n + 1).
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from . import _util as U
from .elementwise import _to_out as _out

# ---------------------------------------------------------------------------
# kernels on float64 arrays

_PSI_10 = 2.25175258906672110764
_DIGAMMA_A = (
    8.33333333333333333333e-2,
    -2.10927960927960927961e-2,
    7.57575757575757575758e-3,
    -4.16666666666666666667e-3,
    3.96825396825396825397e-3,
    -8.33333333333333333333e-3,
    8.33333333333333333333e-2,
)
_ZETA_A = (
    12.0,
    -720.0,
    30240.0,
    -1209600.0,
    47900160.0,
    -1.8924375803183791606e9,
    7.47242496e10,
    -2.950130727918164224e12,
    1.1646782814350067249e14,
    -4.5979787224074726105e15,
    1.8152105401943546773e17,
    -7.1661652561756670113e18,
)
_MACHEP = 1.11022302462515654042e-16


def _lgamma64(x: np.ndarray) -> np.ndarray:
    """log|Gamma(x)| in float64 (C's ``lgamma``; +inf at the poles)."""
    if not x.size:
        return x.astype(np.float64)
    with np.errstate(all="ignore"):
        return _lgamma_vec(x.astype(np.float64))


def _math_lgamma(v: float) -> float:
    try:
        return math.lgamma(v)
    except ValueError:  # the poles 0, -1, -2, ...: C's lgamma gives +inf
        return math.inf


_lgamma_vec = np.vectorize(_math_lgamma, otypes=[np.float64])


def _digamma64(x: np.ndarray) -> np.ndarray:
    """psi(x) in float64, ATen's ``calc_digamma`` vectorised."""
    x = np.array(x, dtype=np.float64)
    out = np.empty_like(x)
    with np.errstate(all="ignore"):
        zero = x == 0
        neg = x < 0
        neg_int = neg & (x == np.trunc(x))
        # reflection: psi(x) = psi(1 - x) - pi / tan(pi * frac(x)) for x < 0
        refl = np.zeros_like(x)
        r = np.where(neg & ~neg_int, x - np.trunc(x), 0.5)
        refl = np.where(neg & ~neg_int, -math.pi / np.tan(math.pi * r), 0.0)
        z = np.where(neg, 1 - x, x)
        z = np.where(zero | neg_int | np.isnan(z), 10.5, z)  # placeholders, fixed below
        result = np.zeros_like(x)
        small = z < 10
        while small.any():
            result = np.where(small, result - 1 / z, result)
            z = np.where(small, z + 1, z)
            small = z < 10
        zz = 1.0 / (z * z)
        poly = np.zeros_like(z)
        for c in _DIGAMMA_A:
            poly = poly * zz + c
        y = np.where(z < 1.0e17, zz * poly, 0.0)
        asym = result + np.log(z) - 0.5 / z - y
        out = np.where(z == 10, result + _PSI_10, asym) + refl
        out = np.where(zero, np.copysign(np.inf, -x), out)
        out = np.where(neg_int | np.isnan(x), np.nan, out)
        out = np.where(x == np.inf, np.inf, out)
    return out


def _trigamma64(x: np.ndarray) -> np.ndarray:
    """psi'(x) in float64, ATen's ``trigamma``."""
    x = np.array(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        low = x < 0.5
        sin_pi_x = np.sin(math.pi * x)
        result = np.where(low, -(math.pi * math.pi) / (sin_pi_x * sin_pi_x), 0.0)
        sign = np.where(low, -1.0, 1.0)
        x = np.where(low, 1 - x, x)
        for _ in range(6):
            result = result + 1 / (x * x)
            x = x + 1
        ixx = 1 / (x * x)
        result = result + (1 + 1 / (2 * x) + ixx * (1.0 / 6 - ixx * (1.0 / 30 - ixx / 42))) / x
    return sign * result


def _zeta64(s: float, q: np.ndarray) -> np.ndarray:
    """Hurwitz zeta(s, q) for a scalar s > 1, Cephes' algorithm vectorised over q."""
    q = np.array(q, dtype=np.float64)
    with np.errstate(all="ignore"):
        pole = (q <= 0) & (q == np.floor(q))
        bad = (q <= 0) & ~pole & (s != math.floor(s))
        s_sum = np.power(q, -s)
        a = q.copy()
        b = np.zeros_like(q)
        done = pole | bad | np.isnan(q)
        res = np.where(done, 0.0, s_sum)
        i = 0
        active = ~done
        # direct summation: at least 9 terms and until a > 9, stopping early where the
        # next term is below machine precision
        while active.any() and (i < 9 or (a[active] <= 9.0).any()):
            i += 1
            loop = active & ((i <= 9) | (a <= 9.0))
            a = np.where(loop, a + 1, a)
            b = np.where(loop, np.power(a, -s), b)
            s_sum = np.where(loop, s_sum + b, s_sum)
            conv = loop & (-_MACHEP * s_sum < b) & (b < _MACHEP * s_sum)
            res = np.where(conv, s_sum, res)
            active = active & ~conv
            if not loop.any():
                break
        # Euler-Maclaurin tail for the rest
        w = a
        s_sum = s_sum + b * w / (s - 1) - 0.5 * b
        fa = np.ones_like(q)
        k = np.zeros_like(q)
        for c in _ZETA_A:
            if not active.any():
                break
            fa = fa * (s + k)
            b = b / w
            t = fa * b / c
            s_sum = s_sum + t
            conv = active & (np.abs(t / s_sum) < _MACHEP)
            res = np.where(conv, s_sum, res)
            active = active & ~conv
            k = k + 1
            fa = fa * (s + k)
            b = b / w
            k = k + 1
        res = np.where(active, s_sum, res)
        res = np.where(pole, np.inf, res)
        res = np.where(bad | np.isnan(q), np.nan, res)
    return res


def _polygamma64(n: int, x: np.ndarray) -> np.ndarray:
    if n == 0:
        return _digamma64(x)
    if n == 1:
        return _trigamma64(x)
    sign = 1.0 if n % 2 else -1.0
    return sign * math.exp(math.lgamma(n + 1.0)) * _zeta64(n + 1.0, x)


def _in_dtype(f64: np.ndarray, like: np.ndarray) -> np.ndarray:
    return np.asarray(f64).astype(like.dtype, copy=False)


# ---------------------------------------------------------------------------
# primitives


class Lgamma(Function):
    """log|Gamma(x)|; backward digamma(x)."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _in_dtype(_lgamma64(x), x)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * _xp_digamma(ctx, x)


class Digamma(Function):
    """psi(x); backward polygamma(1, x)."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _in_dtype(_digamma64(x), x)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * _xp_polygamma(ctx, 1, x)


class Polygamma(Function):
    """The n-th derivative of digamma; backward polygamma(n + 1, x)."""

    def forward(ctx, x, n=1):
        ctx.n = n
        ctx.save_for_backward(x)
        return _in_dtype(_polygamma64(n, x), x)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * _xp_polygamma(ctx, ctx.n + 1, x)


# The backward formulas above need digamma/polygamma in both namespaces: NumPy has
# neither, so an ordinary backward calls the kernels here and a recorded one
# (create_graph) the differentiable ops through graph_xp.


def _xp_digamma(ctx, x):
    if ctx.xp is np:
        return _in_dtype(_digamma64(x), x)
    return ctx.xp.digamma(x)


def _xp_polygamma(ctx, n, x):
    if ctx.xp is np:
        return _in_dtype(_polygamma64(n, x), x)
    return ctx.xp.polygamma(n, x)


# ---------------------------------------------------------------------------
# public functions


def _float_input(input):
    if not U.is_tensor(input):
        raise TypeError(
            f"expected Tensor as element 0 in argument 0, but got {type(input).__name__}"
        )
    return input if input.dtype.is_floating_point else input.to(U.float_dtype_of(input))


def lgamma(input, *, out=None):
    """Natural log of the absolute value of the gamma function (``torch.lgamma``).

    Args:
        input: A tensor; integer inputs are computed in the default float dtype.
        out: Optional output tensor.

    Returns:
        ``log|Gamma(input)|`` elementwise (``inf`` at 0 and the negative integers).
    """
    return _out(Lgamma.apply(_float_input(input)), out)


def digamma(input, *, out=None):
    """The logarithmic derivative of the gamma function (``torch.digamma``).

    Args:
        input: A tensor; integer inputs are computed in the default float dtype.
        out: Optional output tensor.

    Returns:
        ``psi(input)`` elementwise: ``-inf`` at +0, ``inf`` at -0, ``nan`` at the
        negative integers, like PyTorch.
    """
    return _out(Digamma.apply(_float_input(input)), out)


def polygamma(n: int, input, *, out=None):
    """The ``n``-th derivative of digamma (``torch.polygamma``).

    Args:
        n: The order, a non-negative int (0 is digamma).
        input: A tensor.
        out: Optional output tensor.

    Returns:
        ``psi^(n)(input)`` elementwise.

    Raises:
        RuntimeError: for a negative ``n``, with PyTorch's message.
    """
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    x = _float_input(input)
    if n == 0:
        return _out(Digamma.apply(x), out)
    return _out(Polygamma.apply(x, n=int(n)), out)


def mvlgamma(input, p: int, *, out=None):
    """The multivariate log-gamma function of dimension ``p`` (``torch.mvlgamma``).

    ``log Gamma_p(x) = p (p - 1) / 4 log(pi) + sum_{i=0}^{p-1} lgamma(x - i / 2)``.

    Args:
        input: A tensor; elements not above ``(p - 1) / 2`` give ``inf`` (as in PyTorch,
            which no longer checks them).
        p: The dimension, at least 1.
        out: Optional output tensor.

    Returns:
        The elementwise multivariate log-gamma.

    Raises:
        RuntimeError: for ``p < 1``, with PyTorch's message.
    """
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = _float_input(input)
    from .reduce import sum as _sum
    from .shape import unsqueeze

    steps = U.Tensor._make(-np.arange(p, dtype=x._data.dtype) / 2)
    terms = Lgamma.apply(unsqueeze(x, -1) + steps)
    return _out(_sum(terms, -1) + p * (p - 1) / 4 * math.log(math.pi), out)


class Xlog1py(Function):
    """``x * log1p(y)``, 0 where x is 0 (unless y is nan); PyTorch's derivatives."""

    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where((x == 0) & ~np.isnan(y), np.zeros((), x.dtype), x * np.log1p(y))

    def backward(ctx, g):
        x, y = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        xp = ctx.xp
        zero = xp.zeros((), g.dtype)
        gx = gy = None
        with xp.errstate(divide="ignore", invalid="ignore"):
            if nx:
                # xlog1py(grad, y), masked where x == 0 and y <= -1
                gx = xp.where((g == 0) & ~xp.isnan(y), zero, g * xp.log1p(y))
                gx = xp.where((x == 0) & (y <= -1), zero, gx)
            if ny:
                gy = g * x / (y + 1)
        return gx, gy


class Entr(Function):
    """``-x log x`` (0 at 0, -inf below); backward ``-(1 + log x)``."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(x > 0, -x * np.log(x), np.where(x == 0, 0, -np.inf))
        return np.where(np.isnan(x), x, y).astype(x.dtype)

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        with xp.errstate(divide="ignore", invalid="ignore"):
            return -g * (xp.log(x) + 1)


def xlog1py(input, other, *, out=None):
    """``input * log1p(other)``, 0 where ``input`` is 0 (``torch.special.xlog1py``).

    Args:
        input: A tensor or number.
        other: A tensor or number.
        out: Optional output tensor.

    Returns:
        The broadcast product; ``nan`` where ``other`` is ``nan``.
    """
    from .elementwise import _binary

    a, b = _tensors(input, other)
    return _out(_binary(Xlog1py, a, b), out)


def _tensors(a, b):
    """``a`` and ``b`` as floating tensors of their promoted dtype."""
    from .elementwise import _operand, _promote

    dt = _promote(a, b)
    if not dt.is_floating_point:
        from .. import _dtype as D

        dt = D.get_default_dtype()
    return _operand(a, dt), _operand(b, dt)


def entr(input, *, out=None):
    """Elementwise entropy ``-x log x`` (``torch.special.entr``).

    Args:
        input: A tensor.
        out: Optional output tensor.

    Returns:
        ``-x log(x)`` for ``x > 0``, 0 at 0 and ``-inf`` for ``x < 0``.
    """
    return _out(Entr.apply(_float_input(input)), out)


# ---------------------------------------------------------------------------
# regularized incomplete gamma functions


def _igamma64(a: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P(a, x), Q(a, x)) in float64: the series for x < a + 1, Lentz's continued
    fraction otherwise (each converges fast on its side), iterated on whole arrays."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    p = np.full(a.shape, np.nan)
    q = np.full(a.shape, np.nan)
    with np.errstate(all="ignore"):
        log_front = a * np.log(x) - x - _lgamma64(a)
        series = (x < a + 1) & (x > 0) & (a > 0)
        frac = (x >= a + 1) & (x > 0) & (a > 0)
        if series.any():
            aa, xx = a[series], x[series]
            term = 1.0 / aa
            total = term.copy()
            ap = aa.copy()
            for _ in range(1000):
                ap = ap + 1
                term = term * xx / ap
                total = total + term
                if np.all(np.abs(term) < np.abs(total) * 1e-17):
                    break
            ps = np.minimum(total * np.exp(log_front[series]), 1.0)
            p[series], q[series] = ps, 1.0 - ps
        if frac.any():
            aa, xx = a[frac], x[frac]
            tiny = 1e-300
            b = xx + 1 - aa
            c = np.full(b.shape, 1 / tiny)
            d = 1 / b
            h = d.copy()
            for i in range(1, 1000):
                an = -i * (i - aa)
                b = b + 2
                d = an * d + b
                d = np.where(np.abs(d) < tiny, tiny, d)
                c = b + an / c
                c = np.where(np.abs(c) < tiny, tiny, c)
                d = 1 / d
                delta = d * c
                h = h * delta
                if np.all(np.abs(delta - 1) < 1e-16):
                    break
            qs = np.minimum(np.exp(log_front[frac]) * h, 1.0)
            p[frac], q[frac] = 1.0 - qs, qs
        edge = (x == 0) & (a > 0)
        p[edge], q[edge] = 0.0, 1.0
        edge = np.isinf(x) & (x > 0) & (a > 0)
        p[edge], q[edge] = 1.0, 0.0
        edge = (a == 0) & (x > 0)
        p[edge], q[edge] = 1.0, 0.0
    return p, q


class Igamma(Function):
    """P(a, x) (``upper=False``) or Q(a, x) (``upper=True``). Differentiable in ``x`` only,
    as PyTorch (``x^(a-1) e^-x / Gamma(a)``, with the sign of the side)."""

    def forward(ctx, a, x, upper=False):
        ctx.save_for_backward(a, x)
        ctx.upper = upper
        p, q = _igamma64(a, x)
        return _in_dtype(q if upper else p, x)

    def backward(ctx, g):
        a, x = ctx.saved_tensors
        xp = ctx.xp
        if ctx.needs_input_grad[0]:
            raise RuntimeError(
                f"derivative for aten::{'igammac' if ctx.upper else 'igamma'} is not implemented"
            )
        if xp is np:
            with np.errstate(all="ignore"):
                dens = np.exp((a - 1) * np.log(x) - x - _lgamma64(a)).astype(x.dtype)
        else:
            dens = xp.exp((a - 1) * xp.log(x) - x - Lgamma.apply(a))
        return None, (-g if ctx.upper else g) * dens


def gammainc(input, other, *, out=None):
    """The regularized lower incomplete gamma function P(a, x) (``torch.special.gammainc``,
    ``torch.igamma``).

    Args:
        input: ``a``, positive.
        other: ``x``, non-negative.
        out: Optional output tensor.

    Returns:
        ``P(a, x) = gamma(a, x) / Gamma(a)``, differentiable in ``other`` only.
    """
    a, x = _tensors(input, other)
    return _out(Igamma.apply(a, x, upper=False), out)


def gammaincc(input, other, *, out=None):
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x)
    (``torch.special.gammaincc``, ``torch.igammac``).

    Args:
        input: ``a``, positive.
        other: ``x``, non-negative.
        out: Optional output tensor.

    Returns:
        ``Q(a, x)``, differentiable in ``other`` only.
    """
    a, x = _tensors(input, other)
    return _out(Igamma.apply(a, x, upper=True), out)

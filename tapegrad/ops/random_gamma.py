"""Gamma-family sampling with implicit reparameterisation gradients.

``torch._standard_gamma``, ``torch._sample_dirichlet``, ``torch.binomial`` and the
gradient kernels ``torch._standard_gamma_grad`` / ``torch._dirichlet_grad`` that
``distributions.Gamma``/``Beta``/``Dirichlet`` use for ``rsample``.

The samples come from NumPy's well-kept gamma and binomial samplers, seeded from
tapegrad's generator (so ``manual_seed`` makes them reproducible), not from PyTorch's
rejection samplers: seeded numbers differ from PyTorch's, their distribution does not.

The gradients are PyTorch's (ATen's ``Distributions.h``): the derivative of a sample
``x ~ Gamma(alpha, 1)`` with respect to ``alpha`` is ``-(d/dalpha CDF(x; alpha)) /
pdf(x; alpha)`` (implicit reparameterisation), which ATen approximates with a Taylor
series for small ``x``, a Rice saddle-point expansion for large ``alpha`` and a
bivariate rational fit elsewhere; the Dirichlet one goes through Beta marginals the
same way. They are vectorised here branch by branch and evaluated in float64.
PyTorch defines no derivative of these gradient kernels; neither does tapegrad.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from . import _util as U
from .special import _digamma64


def _numpy_rng(generator) -> np.random.Generator:
    """A NumPy generator seeded by one draw from tapegrad's (default) generator."""
    from .random import _gen

    return np.random.default_rng(int(_gen(generator).randint(0, 2**62, (), np.int64)))


def _tiny_clamp(x: np.ndarray, dtype) -> np.ndarray:
    # PyTorch's CPU samplers never return 0: they clamp to the smallest normal number
    return np.maximum(x.astype(dtype), np.finfo(dtype).tiny)


# ---------------------------------------------------------------------------
# gradient kernels (float64, vectorised from ATen's scalar code)


def _standard_gamma_grad64(alpha: np.ndarray, x: np.ndarray) -> np.ndarray:
    """d x / d alpha for x ~ Gamma(alpha, 1): ATen's ``standard_gamma_grad_one``."""
    alpha, x = np.broadcast_arrays(np.asarray(alpha, np.float64), np.asarray(x, np.float64))
    with np.errstate(all="ignore"):
        # Taylor series for small x
        numer = np.ones_like(x)
        denom = alpha.copy()
        series1 = numer / denom
        series2 = numer / (denom * denom)
        for i in range(1, 6):
            numer = numer * (-x / i)
            denom = denom + 1
            series1 = series1 + numer / denom
            series2 = series2 + numer / (denom * denom)
        pow_x_alpha = np.power(x, alpha)
        gamma_pdf = np.power(x, alpha - 1) * np.exp(-x)
        gamma_cdf = pow_x_alpha * series1
        gamma_cdf_alpha = (np.log(x) - _digamma64(alpha)) * gamma_cdf - pow_x_alpha * series2
        small = -gamma_cdf_alpha / gamma_pdf
        small = np.where(np.isnan(small), 0.0, small)

        # Rice saddle-point expansion for large alpha
        numer_1 = 1 + 24 * alpha * (1 + 12 * alpha)
        numer_2 = (
            1440 * (alpha * alpha)
            + 6 * x * (53 - 120 * x)
            - 65 * x * x / alpha
            + alpha * (107 + 3600 * x)
        )
        near = numer_1 * numer_2 / (1244160 * (alpha * alpha) * (alpha * alpha))
        d = np.sqrt(8 * alpha)
        term2 = d / (alpha - x)
        term3 = np.power(x - alpha - alpha * np.log(x / alpha), -1.5)
        term23 = np.where(x < alpha, term2 - term3, term2 + term3)
        term1 = np.log(x / alpha) * term23 - np.sqrt(2 / alpha) * (alpha + x) / (
            (alpha - x) * (alpha - x)
        )
        stirling = 1 + 1 / (12 * alpha) * (1 + 1 / (24 * alpha))
        far = -stirling * (x * term1) / d
        large = np.where((0.9 * alpha <= x) & (x <= 1.1 * alpha), near, far)

        # bivariate rational approximation elsewhere
        u = np.log(x / alpha)
        v = np.log(alpha)
        coef = _GAMMA_GRAD_COEF
        cv = [coef[0][i] + u * (coef[1][i] + u * coef[2][i]) for i in range(8)]
        p = cv[0] + v * (cv[1] + v * (cv[2] + v * cv[3]))
        q = cv[4] + v * (cv[5] + v * (cv[6] + v * cv[7]))
        rational = np.exp(p / q)
    return np.where(x < 0.8, small, np.where(alpha > 8.0, large, rational))


_GAMMA_GRAD_COEF = (
    (0.16009398, -0.094634809, 0.025146376, -0.0030648343, 1, 0.32668115, 0.10406089, 0.0014179084),
    (
        0.53487893,
        0.1298071,
        0.065735949,
        -0.0015649758,
        0.16639465,
        0.020070113,
        -0.0035938915,
        -0.00058392623,
    ),
    (
        0.040121004,
        -0.0065914022,
        -0.0026286047,
        -0.0013441777,
        0.017050642,
        -0.0021309326,
        0.00085092367,
        -1.5247877e-07,
    ),
)


def _beta_grad_alpha_small(x, alpha, beta):
    factor = _digamma64(alpha) - _digamma64(alpha + beta) - np.log(x)
    numer = np.ones_like(x)
    series = numer / alpha * (factor + 1 / alpha)
    for i in range(1, 11):
        numer = numer * ((i - beta) * x / i)
        denom = alpha + i
        series = series + numer / denom * (factor + 1 / denom)
    result = x * np.power(1 - x, -beta) * series
    return np.where(np.isnan(result), 0.0, result)


def _beta_grad_beta_small(x, alpha, beta):
    factor = _digamma64(alpha + beta) - _digamma64(beta)
    numer = np.ones_like(x)
    betas = np.ones_like(x)
    dbetas = np.zeros_like(x)
    series = factor / alpha
    for i in range(1, 9):
        numer = numer * (-x / i)
        dbetas = dbetas * (beta - i) + betas
        betas = betas * (beta - i)
        series = series + numer / (alpha + i) * (dbetas + factor * betas)
    result = -np.power(1 - x, 1 - beta) * series
    return np.where(np.isnan(result), 0.0, result)


def _beta_grad_alpha_mid(x, alpha, beta):
    total = alpha + beta
    mean = alpha / total
    std = np.sqrt(alpha * beta / (total + 1)) / total
    poly = 47 * x * (beta * beta) * (beta * beta) + alpha * (
        (43 + 20 * (16 + 27 * beta) * x) * (beta * beta) * beta
        + alpha
        * (
            3 * (59 + 180 * beta - 90 * x) * (beta * beta)
            + alpha
            * (
                (453 + 1620 * beta * (1 - x) - 455 * x) * beta
                + alpha * (8 * (1 - x) * (135 * beta - 11))
            )
        )
    )
    prefactor_num = (1 + 12 * alpha) * (1 + 12 * beta) / (total * total)
    prefactor_den = 12960 * alpha * alpha * alpha * beta * beta * (1 + 12 * total)
    at_mean = prefactor_num / (1 - x) * poly / prefactor_den

    prefactor = -x / np.sqrt(2 * alpha * beta / total)
    stirling = (
        (1 + 1 / (12 * alpha) + 1 / (288 * alpha * alpha))
        * (1 + 1 / (12 * beta) + 1 / (288 * beta * beta))
        / (1 + 1 / (12 * total) + 1 / (288 * total * total))
    )
    term1_num = 2 * (alpha * alpha) * (x - 1) + alpha * beta * (x - 1) - x * (beta * beta)
    axbx = alpha * (x - 1) + beta * x
    term1_den = np.sqrt(2 * alpha / beta) * np.power(total, 1.5) * axbx * axbx
    term1 = term1_num / term1_den
    term2 = 0.5 * np.log(alpha / (total * x))
    term3 = np.sqrt(8 * alpha * beta / total) / (beta * x + alpha * (x - 1))
    term4_base = beta * np.log(beta / (total * (1 - x))) + alpha * np.log(alpha / (total * x))
    term4 = np.power(term4_base, -1.5)
    term1234 = term1 + term2 * (term3 + np.where(x < mean, term4, -term4))
    away = stirling * prefactor * term1234
    return np.where((mean - 0.1 * std <= x) & (x <= mean + 0.1 * std), at_mean, away)


_DIRICHLET_GRAD_COEF = np.array(
    [
        [
            [
                [1.003668233, -0.01061107488, -0.0657888334, 0.01201642863],
                [0.6336835991, -0.3557432599, 0.05486251648, -0.001465281033],
                [-0.03276231906, 0.004474107445, 0.002429354597, -0.0001557569013],
            ],
            [
                [0.221950385, -0.3187676331, 0.01799915743, 0.01074823814],
                [-0.2951249643, 0.06219954479, 0.01535556598, 0.001550077057],
                [0.02155310298, 0.004170831599, 0.001292462449, 6.976601077e-05],
            ],
            [
                [-0.05980841433, 0.008441916499, 0.01085618172, 0.002319392565],
                [0.02911413504, 0.01400243777, -0.002721828457, 0.000751041181],
                [0.005900514878, -0.001936558688, -9.495446725e-06, 5.385558597e-05],
            ],
        ],
        [
            [
                [1, -0.02924021934, -0.04438342661, 0.007285809825],
                [0.6357567472, -0.3473456711, 0.05454656494, -0.002407477521],
                [-0.03301322327, 0.004845219414, 0.00231480583, -0.0002307248149],
            ],
            [
                [0.5925320577, -0.1757678135, 0.01505928619, 0.000564515273],
                [0.1014815858, -0.06589186703, 0.01272886114, -0.0007316646956],
                [-0.007258481865, 0.001096195486, 0.0003934994223, -4.12701925e-05],
            ],
            [
                [0.06469649321, -0.0236701437, 0.002902096474, -5.896963079e-05],
                [0.001925008108, -0.002869809258, 0.0008000589141, -6.063713228e-05],
                [-0.0003477407336, 6.959756487e-05, 1.097287507e-05, -1.650964693e-06],
            ],
        ],
    ]
)


def _dirichlet_grad64(x, alpha, total):
    """ATen's ``dirichlet_grad_one``: the scaled reparameterised Beta gradient."""
    x, alpha, total = np.broadcast_arrays(
        np.asarray(x, np.float64), np.asarray(alpha, np.float64), np.asarray(total, np.float64)
    )
    with np.errstate(all="ignore"):
        beta = total - alpha
        boundary = total * x * (1 - x)
        near0 = _beta_grad_alpha_small(x, alpha, beta)
        near1 = -_beta_grad_beta_small(1 - x, beta, alpha)
        mid = _beta_grad_alpha_mid(x, alpha, beta)
        u = np.log(x)
        a = np.log(alpha) - u
        b = np.log(total) - a
        pow_u = (np.ones_like(u), u, u * u)
        pow_a = (np.ones_like(a), a, a * a)
        c = _DIRICHLET_GRAD_COEF
        p = np.zeros_like(x)
        q = np.zeros_like(x)
        for i in range(3):
            for j in range(3):
                ua = pow_u[i] * pow_a[j]
                p = p + ua * (
                    c[0, i, j, 0] + b * (c[0, i, j, 1] + b * (c[0, i, j, 2] + b * c[0, i, j, 3]))
                )
                q = q + ua * (
                    c[1, i, j, 0] + b * (c[1, i, j, 1] + b * (c[1, i, j, 2] + b * c[1, i, j, 3]))
                )
        approx = x * (_digamma64(total) - _digamma64(alpha)) / beta
        rational = p / q * approx
    return np.select(
        [(x <= 0.5) & (boundary < 2.5), (x >= 0.5) & (boundary < 0.75), (alpha > 6) & (beta > 6)],
        [near0, near1, mid],
        rational,
    )


# ---------------------------------------------------------------------------
# primitives


class _NoDerivative(Function):
    """A gradient kernel: PyTorch defines no derivative of it, so backward raises."""

    name = ""

    def backward(ctx, *grads):
        raise RuntimeError(f"the derivative for '{ctx.name}' is not implemented.")


class StandardGammaGrad(_NoDerivative):
    name = "_standard_gamma_grad"

    def forward(ctx, alpha, x):
        return _standard_gamma_grad64(alpha, x).astype(alpha.dtype)


class DirichletGrad(_NoDerivative):
    name = "_dirichlet_grad"

    def forward(ctx, x, alpha, total):
        return _dirichlet_grad64(x, alpha, total).astype(x.dtype)


class StandardGamma(Function):
    """Gamma(alpha, 1) samples; backward ``grad * _standard_gamma_grad(alpha, x)``."""

    def forward(ctx, alpha, generator=None):
        x = _numpy_rng(generator).standard_gamma(alpha.astype(np.float64))
        x = np.asarray(_tiny_clamp(np.asarray(x), alpha.dtype))
        ctx.save_for_backward(alpha, x)
        return x

    def backward(ctx, g):
        alpha, x = ctx.saved_tensors
        return g * ctx.op(StandardGammaGrad, alpha, x)


def _check_float(t, name):
    if not U.is_tensor(t):
        raise TypeError(
            f"{name}(): argument 'self' (position 1) must be Tensor, not {type(t).__name__}"
        )
    if not t.dtype.is_floating_point:
        raise NotImplementedError(f"\"{name}\" not implemented for '{_dtype_name(t)}'")


def _dtype_name(t) -> str:
    from .elementwise import _long_name

    return _long_name(t.dtype)


def _standard_gamma(input, generator=None):
    """Samples of Gamma(``input``, 1) (``torch._standard_gamma``).

    Differentiable with respect to ``input`` by implicit reparameterisation
    (PyTorch's ``_standard_gamma_grad``).

    Args:
        input: A floating tensor of positive concentrations.
        generator: Optional ``tapegrad.Generator``.

    Returns:
        A tensor of samples, shaped and typed like ``input``.
    """
    _check_float(input, "_standard_gamma")
    return StandardGamma.apply(input, generator=generator)


def _standard_gamma_grad(input, output):
    """``d output / d input`` for ``output ~ Gamma(input, 1)`` (``torch._standard_gamma_grad``).

    Args:
        input: The concentrations.
        output: Samples drawn with them.

    Returns:
        The reparameterisation gradient, elementwise.
    """
    return StandardGammaGrad.apply(input, output)


def _sample_dirichlet(input, generator=None):
    """Samples of Dirichlet(``input``) along the last dim (``torch._sample_dirichlet``).

    Not differentiable: ``distributions.Dirichlet.rsample`` adds the gradient.

    Args:
        input: A floating tensor of positive concentrations.
        generator: Optional ``tapegrad.Generator``.

    Returns:
        A tensor shaped like ``input`` whose last dim sums to 1.
    """
    _check_float(input, "_sample_dirichlet")
    a = input._data
    g = _tiny_clamp(np.asarray(_numpy_rng(generator).standard_gamma(a.astype(np.float64))), a.dtype)
    g64 = g.astype(np.float64)
    out = _tiny_clamp(g64 / g64.sum(-1, keepdims=True), a.dtype)
    return U.Tensor._make(np.asarray(out))


def _dirichlet_grad(x, alpha, total):
    """The reparameterised Dirichlet gradient kernel (``torch._dirichlet_grad``).

    Args:
        x: Samples (Beta marginals), in (0, 1).
        alpha: Their concentrations.
        total: The concentrations' sums, broadcast like ``alpha``.

    Returns:
        ``-(d/dalpha CDF(x; alpha, total - alpha)) / pdf / (1 - x)``, elementwise.
    """
    return DirichletGrad.apply(x, alpha, total)


def binomial(count, prob, generator=None):
    """Binomial(``count``, ``prob``) samples (``torch.binomial``).

    Args:
        count: A floating tensor of trial counts.
        prob: A floating tensor of success probabilities, like ``count``.
        generator: Optional ``tapegrad.Generator``.

    Returns:
        The numbers of successes, in ``count``'s dtype.
    """
    _check_float(count, "binomial")
    n = count._data
    p = np.broadcast_to(prob._data, n.shape)
    with np.errstate(invalid="ignore"):
        draws = _numpy_rng(generator).binomial(
            np.nan_to_num(n).astype(np.int64), np.clip(np.nan_to_num(p), 0, 1)
        )
    out = np.where(np.isnan(p) | np.isnan(n), np.nan, draws).astype(n.dtype)
    return U.Tensor._make(np.asarray(out))

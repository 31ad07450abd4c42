"""``torch.special``: the special functions under SciPy's names.

The gamma family lives in ``ops/special.py``; the rest are the elementwise and
reduction ops tapegrad already has, under the names ``torch.special`` gives them.
"""

from __future__ import annotations

import math

from .ops.elementwise import erf, erfc, erfinv, exp2, expm1, log1p, logit, round, sinc, xlogy
from .ops.elementwise import sigmoid as expit
from .ops.reduce import log_softmax, logsumexp, softmax
from .ops.special import digamma, entr, gammainc, gammaincc, polygamma, xlog1py
from .ops.special import lgamma as gammaln
from .ops.special import mvlgamma as _mvlgamma

__all__ = [
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfinv",
    "exp2",
    "expit",
    "expm1",
    "gammainc",
    "gammaincc",
    "gammaln",
    "log1p",
    "log_softmax",
    "logit",
    "logsumexp",
    "multigammaln",
    "ndtr",
    "ndtri",
    "polygamma",
    "psi",
    "round",
    "sinc",
    "softmax",
    "xlog1py",
    "xlogy",
]

psi = digamma


def multigammaln(input, p: int, *, out=None):
    """The multivariate log-gamma function (``torch.special.multigammaln``).

    Args:
        input: A tensor.
        p: The dimension, at least 1.
        out: Optional output tensor.

    Returns:
        The elementwise multivariate log-gamma, as :func:`tapegrad.mvlgamma`.
    """
    return _mvlgamma(input, p, out=out)


def ndtr(input):
    """The standard normal CDF (``torch.special.ndtr``).

    Args:
        input: A tensor.

    Returns:
        ``(1 + erf(x / sqrt(2))) / 2`` elementwise.
    """
    return (1 + erf(input * (1 / math.sqrt(2)))) * 0.5


def ndtri(input):
    """The inverse of the standard normal CDF (``torch.special.ndtri``).

    Args:
        input: A tensor of probabilities in [0, 1].

    Returns:
        ``sqrt(2) erfinv(2p - 1)`` elementwise (``-inf`` at 0, ``inf`` at 1).
    """
    return erfinv(2 * input - 1) * math.sqrt(2)

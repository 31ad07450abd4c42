"""KL divergences between different families (``torch.distributions.kl``'s cross pairs).

Every finite pair here is ``KL(p || q) = -H(p) - E_p[log q(x)]``, with ``E_p[log q]``
worked out from the moments of ``p`` that ``log q`` needs: its mean and variance for a
normal ``q``, its mean for an exponential, ``E[log x]`` for a gamma, ``E[log x]`` and
``E[log(1 - x)]`` for a beta. Where ``p`` puts mass outside the support of ``q`` the
divergence is infinite, as in PyTorch (a Normal against anything bounded, a Uniform
reaching below 0 against an Exponential, ...).
"""

from __future__ import annotations

import math

import tapegrad as _tg

from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .exponential import Exponential
from .gamma import Gamma
from .kl import register_kl
from .laplace import Laplace
from .normal import Normal
from .poisson import Poisson
from .uniform import Uniform

_EULER = 0.5772156649015329
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _inf_like(*params):
    """A tensor of +inf with the broadcast shape and dtype of ``params``."""
    shape = _tg.broadcast_shapes(*(t.shape for t in params))
    return _tg.full(shape, math.inf, dtype=params[0].dtype)


def _neg_log_normal(mean, var, q: Normal):
    # -E_p[log q] for a normal q, given p's mean and variance
    s = q.scale
    return s.log() + _HALF_LOG_2PI + (var + (mean - q.loc).pow(2)) / (2 * s.pow(2))


def _neg_log_exponential(mean, q: Exponential):
    return -q.rate.log() + q.rate * mean


def _neg_log_gamma(mean, mean_log, q: Gamma):
    a, b = q.concentration, q.rate
    return -a * b.log() + _tg.lgamma(a) - (a - 1) * mean_log + b * mean


def _uniform_mean_log(low, high):
    """E[log x] for x ~ Uniform(low, high), 0 <= low < high: (F(high) - F(low)) / (high -
    low) with F(x) = x log x - x (and F(0) = 0)."""

    def f(x):
        return _tg.xlogy(x, x) - x

    return (f(high) - f(low)) / (high - low)


# -- p = Beta ---------------------------------------------------------------------------


def _beta_mean_logs(p: Beta):
    a, b = p.concentration1, p.concentration0
    total = _tg.digamma(a + b)
    return _tg.digamma(a) - total, _tg.digamma(b) - total


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    return -p.entropy() + _neg_log_normal(p.mean, p.variance, q)


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    return -p.entropy() + _neg_log_exponential(p.mean, q)


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    return -p.entropy() + _neg_log_gamma(p.mean, _beta_mean_logs(p)[0], q)


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    kl = -p.entropy() + (q.high - q.low).log()
    return _tg.where((q.low > 0) | (q.high < 1), _inf_like(kl), kl)


# -- p = Exponential --------------------------------------------------------------------


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    return -p.entropy() + _neg_log_normal(p.mean, p.variance, q)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    mean_log = -p.rate.log() - _EULER
    return -p.entropy() + _neg_log_gamma(p.mean, mean_log, q)


# -- p = Gamma --------------------------------------------------------------------------


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p, q):
    return -p.entropy() + _neg_log_normal(p.mean, p.variance, q)


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return -p.entropy() + _neg_log_exponential(p.mean, q)


# -- p = Laplace, Normal ----------------------------------------------------------------


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p, q):
    return -p.entropy() + _neg_log_normal(p.mean, p.variance, q)


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    # E|x - m| for x ~ N(mu, s^2): s sqrt(2/pi) exp(-d^2 / 2s^2) + d erf(d / (s sqrt 2))
    d = p.loc - q.loc
    s = p.scale
    mean_abs = s * math.sqrt(2 / math.pi) * (-(d.pow(2)) / (2 * s.pow(2))).exp()
    mean_abs = mean_abs + d * _tg.erf(d / (s * math.sqrt(2)))
    return -p.entropy() + (2 * q.scale).log() + mean_abs / q.scale


# -- p = Uniform ------------------------------------------------------------------------


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    return -p.entropy() + _neg_log_normal(p.mean, p.variance, q)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p, q):
    kl = -p.entropy() + _neg_log_exponential(p.mean, q)
    return _tg.where(p.low < 0, _inf_like(kl), kl)


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    low = _tg.where(p.low < 0, _tg.zeros_like(p.low), p.low)
    kl = -p.entropy() + _neg_log_gamma(p.mean, _uniform_mean_log(low, p.high), q)
    return _tg.where(p.low < 0, _inf_like(kl), kl)


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    low = _tg.where(p.low < 0, _tg.zeros_like(p.low), p.low)
    high = _tg.where(p.high > 1, _tg.ones_like(p.high), p.high)
    mean_log = _uniform_mean_log(low, high)
    mean_log1m = _uniform_mean_log(1 - high, 1 - low)
    a, b = q.concentration1, q.concentration0
    log_beta = _tg.lgamma(a) + _tg.lgamma(b) - _tg.lgamma(a + b)
    kl = -p.entropy() + log_beta - (a - 1) * mean_log - (b - 1) * mean_log1m
    return _tg.where((p.low < 0) | (p.high > 1), _inf_like(kl), kl)


# -- discrete ---------------------------------------------------------------------------


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    # sum over x in {0, 1} of p(x) log(p(x) / q(x)), q(0) = e^-r, q(1) = r e^-r
    pi, r = p.probs, q.rate
    return _tg.xlogy(pi, pi) + _tg.xlogy(1 - pi, 1 - pi) + r - pi * r.log()


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    if bool((p.total_count < q.total_count).any()):
        raise NotImplementedError(
            "KL between Binomials where q.total_count > p.total_count is not implemented"
        )
    a, b = p.probs, q.probs
    kl = p.total_count * (
        _tg.xlogy(a, a) - a * b.log() + _tg.xlogy(1 - a, 1 - a) - (1 - a) * (-b).log1p()
    )
    return _tg.where(p.total_count > q.total_count, _inf_like(kl), kl)


# -- infinite: p reaches where q has no mass --------------------------------------------


def _infinite(p, q):
    params = [getattr(p, n) for n in p.arg_constraints if isinstance(getattr(p, n), _tg.Tensor)]
    return _inf_like(*params)


for _p, _q in [
    (Exponential, Beta), (Exponential, Uniform), (Gamma, Beta), (Gamma, Uniform),
    (Laplace, Beta), (Laplace, Exponential), (Laplace, Gamma), (Laplace, Uniform),
    (Normal, Beta), (Normal, Exponential), (Normal, Gamma), (Normal, Uniform),
    (Poisson, Bernoulli), (Poisson, Binomial),
]:  # fmt: skip
    register_kl(_p, _q)(_infinite)

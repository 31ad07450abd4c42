"""KL divergences between distributions (``torch.distributions.kl``).

Closed forms are registered per pair of distribution types with :func:`register_kl`;
:func:`kl_divergence` picks the most specific registered pair for the arguments' types.
"""

from __future__ import annotations

import math

import tapegrad as _tg

from .bernoulli import Bernoulli
from .beta import Beta
from .categorical import Categorical
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exp_family import _ExponentialFamily
from .exponential import Exponential
from .gamma import Gamma
from .independent import Independent
from .laplace import Laplace
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .poisson import Poisson
from .uniform import Uniform
from .utils import sum_rightmost

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY: dict = {}


def register_kl(type_p: type, type_q: type):
    """Decorator registering ``fn(p, q)`` as ``KL(p || q)`` for ``p`` of ``type_p`` and
    ``q`` of ``type_q`` (subclasses included, the most specific registration wins).

    Args:
        type_p: a subclass of ``Distribution`` for ``p``.
        type_q: a subclass of ``Distribution`` for ``q``.

    Example:
        >>> @register_kl(Normal, Normal)
        ... def kl_normal_normal(p, q): ...
    """
    if not (isinstance(type_p, type) and issubclass(type_p, Distribution)):
        raise TypeError(f"Expected type_p to be a Distribution subclass but got {type_p}")
    if not (isinstance(type_q, type) and issubclass(type_q, Distribution)):
        raise TypeError(f"Expected type_q to be a Distribution subclass but got {type_q}")

    def decorator(fn):
        _KL_REGISTRY[type_p, type_q] = fn
        return fn

    return decorator


def _lookup(type_p: type, type_q: type):
    best, best_rank = None, None
    for (reg_p, reg_q), fn in _KL_REGISTRY.items():
        if issubclass(type_p, reg_p) and issubclass(type_q, reg_q):
            # Distance in each argument's class hierarchy: exact types rank first.
            rank = (type_p.__mro__.index(reg_p), type_q.__mro__.index(reg_q))
            if best_rank is None or rank < best_rank:
                best, best_rank = fn, rank
    return best


def kl_divergence(p: Distribution, q: Distribution):
    """``KL(p || q) = E_p[log p(x) - log q(x)]``, one value per batch entry.

    Args:
        p: the first distribution.
        q: the second distribution.

    Raises:
        NotImplementedError: when no closed form is registered for the pair of types.
    """
    fn = _lookup(type(p), type(q))
    if fn is None:
        raise NotImplementedError(
            f"No KL(p || q) is implemented for p type {type(p).__name__} and q type "
            f"{type(q).__name__}"
        )
    return fn(p, q)


def _infinite_where(mask, value):
    return _tg.where(mask, _tg.full_like(value, math.inf), value)


@register_kl(_ExponentialFamily, _ExponentialFamily)
def _kl_expfamily_expfamily(p, q):
    # Same-type pairs are all registered below; what reaches here mixes families.
    raise NotImplementedError(
        "The cross KL-divergence between different exponential families cannot "
        "                            be computed using Bregman divergences"
    )


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale).pow(2)
    mean_term = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (var_ratio + mean_term - 1 - var_ratio.log())


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    # log(p) = -softplus(-logit) and log(1 - p) = -softplus(logit), stable in the logits.
    softplus = _tg.nn.functional.softplus
    heads = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    tails = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    return heads + tails


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    terms = p.probs * (p.logits - q.logits)
    terms = _infinite_where((q.probs == 0).expand_as(terms), terms)
    terms = _tg.where((p.probs == 0).expand_as(terms), _tg.zeros_like(terms), terms)
    return terms.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehotcategorical_onehotcategorical(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return _infinite_where((q.low > p.low) | (q.high < p.high), result)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    rate_ratio = q.rate / p.rate
    return rate_ratio - rate_ratio.log() - 1


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    scale_ratio = p.scale / q.scale
    loc_abs_diff = (p.loc - q.loc).abs()
    return (
        -scale_ratio.log()
        + loc_abs_diff / q.scale
        + scale_ratio * _tg.exp(-loc_abs_diff / p.scale)
        - 1
    )


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    a_p, b_p, a_q, b_q = p.concentration, p.rate, q.concentration, q.rate
    return (
        a_q * (b_p / b_q).log()
        + _tg.lgamma(a_q)
        - _tg.lgamma(a_p)
        + (a_p - a_q) * _tg.digamma(a_p)
        + (b_q - b_p) * (a_p / b_p)
    )


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    a_p, a_q = p.concentration, q.concentration
    total_p, total_q = a_p.sum(-1), a_q.sum(-1)
    log_norm = _tg.lgamma(total_p) - _tg.lgamma(total_q)
    log_norm = log_norm - (_tg.lgamma(a_p) - _tg.lgamma(a_q)).sum(-1)
    expected_log = _tg.digamma(a_p) - _tg.digamma(total_p).unsqueeze(-1)
    return log_norm + ((a_p - a_q) * expected_log).sum(-1)


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    return _kl_dirichlet_dirichlet(p._dirichlet, q._dirichlet)


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    return _tg.xlogy(p.rate, p.rate) - _tg.xlogy(p.rate, q.rate) - (p.rate - q.rate)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError(
            "KL-divergence between two Multivariate Normals with different event shapes "
            "cannot be computed"
        )
    n = p.event_shape[0]
    l_p, l_q = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    batch = tuple(
        _tg.broadcast_shapes(
            tuple(l_p.shape[:-2]), tuple(l_q.shape[:-2]), tuple(p.loc.shape[:-1]),
            tuple(q.loc.shape[:-1]),
        )
    )  # fmt: skip
    l_q_full = l_q.expand(batch + (n, n))
    # tr(S_q^-1 S_p) = |L_q^-1 L_p|_F^2 and the Mahalanobis term |L_q^-1 (m_q - m_p)|^2.
    ratio = _tg.linalg.solve_triangular(l_q_full, l_p.expand(batch + (n, n)), upper=False)
    diff = (q.loc - p.loc).expand(batch + (n,)).unsqueeze(-1)
    maha = _tg.linalg.solve_triangular(l_q_full, diff, upper=False)
    half_log_det = l_q.diagonal(dim1=-2, dim2=-1).log().sum(-1) - l_p.diagonal(
        dim1=-2, dim2=-1
    ).log().sum(-1)
    trace = ratio.pow(2).flatten(-2).sum(-1)
    return half_log_det + 0.5 * (trace + maha.pow(2).flatten(-2).sum(-1) - n)


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError
    result = kl_divergence(p.base_dist, q.base_dist)
    return sum_rightmost(result, p.reinterpreted_batch_ndims)

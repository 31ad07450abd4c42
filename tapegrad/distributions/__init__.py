"""``torch.distributions``: parameterizable probability distributions and sampling.

Laid out like PyTorch's package (one file per distribution family; ``constraints``,
``transforms``, ``kl`` and ``utils`` beside them) and adapted from its source
(BSD-3-Clause), so that ``import tapegrad as torch`` programs get PyTorch's
distributions: the same ``batch_shape``/``event_shape`` rules, ``sample``/``rsample``
(reparameterised where PyTorch's are), ``log_prob``, ``entropy``, moments,
``cdf``/``icdf``, ``expand``, argument validation with PyTorch's errors, and
``kl_divergence`` with the registered pairs. Samples come from tapegrad's generator,
which reproduces PyTorch's CPU streams for ``normal_``, ``rand``, ``bernoulli`` and
``multinomial``: seeded Normal, Uniform, Bernoulli, Categorical (and the distributions
built on them) give PyTorch's numbers. Gamma, Beta, Dirichlet, Poisson and Binomial
sample from other streams (PyTorch's rejection samplers are not reproduced), with
PyTorch's implicit reparameterisation gradients for the first three.
"""

from . import constraints, transforms
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical
from .cauchy import Cauchy
from .chi2 import Chi2
from .constraint_registry import biject_to, transform_to
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .gamma import Gamma
from .geometric import Geometric
from .gumbel import Gumbel
from .half_normal import HalfNormal
from .independent import Independent
from .kl import _add_kl_info, kl_divergence, register_kl
from .laplace import Laplace
from .log_normal import LogNormal
from .logistic_normal import LogisticNormal
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical, OneHotCategoricalStraightThrough
from .poisson import Poisson
from .relaxed_bernoulli import RelaxedBernoulli
from .studentT import StudentT
from .transformed_distribution import TransformedDistribution
from .transforms import *  # noqa: F403
from .uniform import Uniform

_add_kl_info()
del _add_kl_info

__all__ = [
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "Cauchy",
    "Chi2",
    "Dirichlet",
    "Distribution",
    "Exponential",
    "ExponentialFamily",
    "Gamma",
    "Geometric",
    "Gumbel",
    "HalfNormal",
    "Independent",
    "Laplace",
    "LogNormal",
    "LogisticNormal",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "OneHotCategoricalStraightThrough",
    "RelaxedBernoulli",
    "StudentT",
    "Poisson",
    "Uniform",
    "TransformedDistribution",
    "biject_to",
    "constraints",
    "kl_divergence",
    "register_kl",
    "transform_to",
    "transforms",
]
__all__.extend(transforms.__all__)

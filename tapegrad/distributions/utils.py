"""Helpers shared by the distributions: parameter broadcasting, probs/logits conversion,
a cached property for parameters derived from the given one."""

from __future__ import annotations

import numbers

import tapegrad as _tg


def broadcast_all(*values):
    """Tensors of one broadcast shape from tensors and Python numbers
    (``torch.distributions.utils.broadcast_all``).

    Numbers become tensors of the first tensor argument's dtype, or of the default dtype.
    """
    tensors = [v for v in values if isinstance(v, _tg.Tensor)]
    for v in values:
        if not isinstance(v, (_tg.Tensor, numbers.Number)):
            raise ValueError(
                "Input arguments must all be instances of numbers.Number, "
                "torch.Tensor or objects implementing __torch_function__."
            )
    dtype = tensors[0].dtype if tensors else _tg.get_default_dtype()
    as_tensors = [v if isinstance(v, _tg.Tensor) else _tg.tensor(v, dtype=dtype) for v in values]
    return _tg.broadcast_tensors(*as_tensors)


def logits_to_probs(logits, is_binary: bool = False):
    """Probabilities from logits: a sigmoid for binary logits, a softmax over the last
    dimension otherwise."""
    if is_binary:
        return _tg.sigmoid(logits)
    return _tg.softmax(logits, dim=-1)


def clamp_probs(probs):
    """Probabilities kept inside (0, 1) by the dtype's machine epsilon, so logs stay finite."""
    eps = _tg.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary: bool = False):
    """Logits from probabilities: log-odds when binary, log-probabilities otherwise."""
    clamped = clamp_probs(probs)
    if is_binary:
        return _tg.log(clamped) - _tg.log1p(-clamped)
    return _tg.log(clamped)


class lazy_property:
    """A parameter computed on first access from the one the user gave, then stored on the
    instance (so ``Bernoulli(probs=p).logits`` is computed once and only when asked).

    The class attribute stays this descriptor, which is how a distribution tells a given
    parameter (in the instance's ``__dict__``) from a derivable one (its repr and argument
    validation only look at given ones).
    """

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def sum_rightmost(value, dim: int):
    """``value`` summed over its ``dim`` rightmost dimensions (none when ``dim`` is 0)."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[: value.dim() - dim]) + (-1,)).sum(-1)

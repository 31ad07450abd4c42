"""The in-place operations optimizer rules are written with, in two implementations.

Each optimizer writes its update rule once, against ``u = update_ops(group)``, with the
names and argument orders of PyTorch's in-place tensor methods (``mul_``, ``add_``,
``addcmul_``, ``addcdiv_``, ``lerp_``...):

- ``ArrayUpdate`` (the default) runs the rule on the raw arrays of the parameters,
  gradients and state, in place, with NumPy's ``out=``: no graph, few temporaries, and
  the rounding order of PyTorch's CPU kernels (so updates match PyTorch bit for bit);
- ``TensorUpdate`` (``differentiable=True``) runs the same rule on the tensors
  themselves with grad mode on, so the step is recorded in the autograd graph and a loss
  after the update can be differentiated through it (meta-learning), as PyTorch's
  ``differentiable=True`` optimizers do.
"""

from __future__ import annotations

from .._tensor import Tensor
from ..backend import array_module
from ..backend import numpy as np


def _real(a):
    """A complex array viewed as real pairs, as PyTorch's ``view_as_real`` in the optimizers."""
    return a.view(a.real.dtype) if a.dtype.kind == "c" else a


class ArrayUpdate:
    """The fast path: the rule's operations on raw arrays, in place."""

    differentiable = False

    @staticmethod
    def param(p: Tensor):
        return _real(p._data)

    @staticmethod
    def grad(p: Tensor):
        return _real(p._grad._data)

    @staticmethod
    def state(t: Tensor):
        return _real(t._data)

    @staticmethod
    def touch(*tensors: Tensor) -> None:
        """Bump the version counters of tensors whose arrays the rule wrote into."""
        for t in tensors:
            t._version_counter.v += 1

    @staticmethod
    def value(t: Tensor) -> float:
        return float(t._data)

    @staticmethod
    def new_state(a, p: Tensor) -> Tensor:
        """A state tensor holding a copy of ``a`` (in ``p``'s dtype, complex included)."""
        c = a.copy()
        return Tensor._make(c.view(p._data.dtype) if p._data.dtype.kind == "c" else c)

    # new arrays ----------------------------------------------------------

    @staticmethod
    def neg(a):
        return np.negative(a)

    @staticmethod
    def mul(a, s):
        return np.multiply(a, s)

    @staticmethod
    def div(a, s):
        return np.divide(a, s)

    @staticmethod
    def add(a, b, alpha=1):
        """``a + alpha * b`` (``torch.add(a, b, alpha=alpha)``)."""
        if alpha == 1:
            return np.add(a, b)
        t = np.multiply(b, alpha)
        return np.add(a, t, out=t)

    @staticmethod
    def sub(a, b):
        return np.subtract(a, b)

    @staticmethod
    def sqrt(a):
        return array_module(a).sqrt(a)

    @staticmethod
    def abs(a):
        return np.abs(a)

    @staticmethod
    def clone(a):
        return a.copy()

    @staticmethod
    def rdiv(s, a):
        """``s / a`` for a number ``s``."""
        return np.divide(s, a)

    @staticmethod
    def raw(a):
        """The values, for the rule's non-differentiable decisions (signs, masks)."""
        return a

    @staticmethod
    def clamp_(a, lo, hi):
        a.clip(lo, hi, out=a)
        return a

    @staticmethod
    def mul_mask_(a, factor):
        """``a *= factor`` for a constant array ``factor``."""
        a *= factor
        return a

    @staticmethod
    def constant(a, like):
        """A constant array in the rule's representation."""
        return a

    @staticmethod
    def sqrt_plus(a, eps):
        """``a.sqrt().add_(eps)``, in one new array."""
        t = array_module(a).sqrt(a)
        t += eps
        return t

    # in place ------------------------------------------------------------

    @staticmethod
    def mul_(a, s):
        a *= s
        return a

    @staticmethod
    def div_(a, s):
        a /= s
        return a

    @staticmethod
    def add_(a, b, alpha=1):
        """``a += alpha * b``; ``b`` an array or a number."""
        if alpha == 1:
            a += b
        else:
            a += np.multiply(b, alpha)
        return a

    @staticmethod
    def sub_(a, b):
        a -= b
        return a

    @staticmethod
    def addcmul_(a, b, c, value=1):
        """``a += value * b * c``, rounded as PyTorch's kernel: ``(value * b) * c``."""
        t = np.multiply(b, value)
        t *= c
        a += t
        return a

    @staticmethod
    def addcdiv_(a, b, c, value=1):
        """``a += value * (b / c)``."""
        t = np.divide(b, c)
        if value != 1:
            t *= value
        a += t
        return a

    @staticmethod
    def lerp_(a, end, weight: float):
        """``a.lerp_(end, weight)`` with PyTorch's two forms (from the nearer end)."""
        t = np.subtract(end, a)
        if abs(weight) < 0.5:
            t *= weight
            a += t
        else:
            t *= 1 - weight
            np.subtract(end, t, out=a)
        return a

    @staticmethod
    def sqrt_(a):
        array_module(a).sqrt(a, out=a)
        return a

    @staticmethod
    def maximum_(a, b):
        np.maximum(a, b, out=a)
        return a

    @staticmethod
    def copy_(a, b):
        np.copyto(a, b)
        return a

    @staticmethod
    def set_value(t: Tensor, v: float) -> None:
        """Write a Python number into a 0-dim state tensor (a step size, a product)."""
        t._data[...] = v
        t._version_counter.v += 1


class TensorUpdate:
    """``differentiable=True``: the rule's operations on tensors, recorded in the graph."""

    differentiable = True

    @staticmethod
    def param(p: Tensor):
        return p

    @staticmethod
    def grad(p: Tensor):
        return p._grad

    @staticmethod
    def state(t: Tensor):
        return t

    @staticmethod
    def touch(*tensors: Tensor) -> None:
        """Nothing to do: in-place tensor ops keep their own versions."""

    @staticmethod
    def value(t: Tensor) -> float:
        return float(t._data)

    @staticmethod
    def new_state(a, p: Tensor) -> Tensor:
        """``torch.clone(a).detach()``: state starts outside the graph, as in PyTorch."""
        return a.detach().clone()

    neg = staticmethod(lambda a: -a)
    mul = staticmethod(lambda a, s: a * s)
    div = staticmethod(lambda a, s: a / s)
    sub = staticmethod(lambda a, b: a - b)
    sqrt = staticmethod(lambda a: a.sqrt())
    abs = staticmethod(lambda a: a.abs())
    clone = staticmethod(lambda a: a.clone())
    rdiv = staticmethod(lambda s, a: s / a)
    raw = staticmethod(lambda a: a._data)

    @staticmethod
    def clamp_(a, lo, hi):
        return a.clamp_(lo, hi)

    @staticmethod
    def mul_mask_(a, factor):
        return a.mul_(Tensor._make(factor))

    @staticmethod
    def constant(a, like):
        return Tensor._make(a)

    # out of place: sqrt saved its output for backward
    sqrt_plus = staticmethod(lambda a, eps: a.sqrt() + eps)

    @staticmethod
    def add(a, b, alpha=1):
        return a.add(b, alpha=alpha)

    @staticmethod
    def mul_(a, s):
        return a.mul_(s)

    @staticmethod
    def div_(a, s):
        return a.div_(s)

    @staticmethod
    def add_(a, b, alpha=1):
        return a.add_(b, alpha=alpha)

    @staticmethod
    def sub_(a, b):
        return a.sub_(b)

    # The operands are cloned: state such as exp_avg is updated in place by the next
    # step, which would invalidate what these ops saved for backward (PyTorch clones
    # exp_avg before addcdiv_ in its differentiable Adam for the same reason).
    @staticmethod
    def addcmul_(a, b, c, value=1):
        return a.addcmul_(b.clone(), c.clone(), value=value)

    @staticmethod
    def addcdiv_(a, b, c, value=1):
        return a.addcdiv_(b.clone(), c, value=value)

    @staticmethod
    def lerp_(a, end, weight: float):
        return a.lerp_(end, weight)

    @staticmethod
    def sqrt_(a):
        return a.sqrt_()

    @staticmethod
    def maximum_(a, b):
        from ..ops.elementwise import maximum

        return a.copy_(maximum(a, b))

    @staticmethod
    def copy_(a, b):
        return a.copy_(b)

    @staticmethod
    def set_value(t: Tensor, v: float) -> None:
        t._data[...] = v
        t._version_counter.v += 1


def update_ops(group: dict):
    """The implementation a parameter group's rule runs on."""
    return TensorUpdate if group.get("differentiable") else ArrayUpdate


def l2_grad(u, d, g, maximize: bool, weight_decay: float):
    """The gradient to follow: negated to maximize, plus the L2 term ``weight_decay * d``.

    Returns ``g`` itself when nothing changes, else a new array or tensor (``g`` is
    never written).
    """
    if maximize:
        g = u.neg(g)
    if weight_decay != 0:
        g = u.add(g, d, alpha=weight_decay)
    return g

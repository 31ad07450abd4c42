"""Jacobians and vector-Jacobian products of functions (``torch.autograd.functional``).

First order only: these build on ``autograd.grad`` without ``create_graph``.
"""

from __future__ import annotations

import numpy as np


def _tuple(x):
    return (x, False) if isinstance(x, tuple) else ((x,), True)


def _prepare(inputs):
    """Detached copies of the inputs that require grad, as PyTorch's functional API makes."""
    return tuple(t.detach().requires_grad_(True) for t in inputs)


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)`` (``torch.autograd.functional.vjp``)."""
    from . import grad

    if create_graph:
        raise NotImplementedError("vjp(create_graph=True) needs higher-order gradients")
    ins, single_in = _tuple(inputs)
    ins = _prepare(ins)
    outs = func(*ins)
    outs_t, single_out = _tuple(outs)
    if v is None:
        if any(o.numel() != 1 for o in outs_t):
            raise RuntimeError(
                "The vector v can only be None if the user-provided function returns a single "
                "Tensor with a single element."
            )
        vs = None
    else:
        vs, _ = _tuple(v)
    gs = grad(list(outs_t), list(ins), vs, allow_unused=True, materialize_grads=not strict)
    detached = tuple(o.detach() for o in outs_t)
    res = tuple(gs)
    return (
        detached[0] if single_out else detached,
        res[0] if single_in else res,
    )


def jacobian(
    func,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize=False,
    strategy: str = "reverse-mode",
):
    """The Jacobian of ``func`` at ``inputs`` (``torch.autograd.functional.jacobian``).

    One backward pass per output element; the result for output o and input i has shape
    ``o.shape + i.shape``, nested in tuples like PyTorch's.
    """
    from .._tensor import Tensor
    from . import grad

    if create_graph:
        raise NotImplementedError("jacobian(create_graph=True) needs higher-order gradients")
    ins, single_in = _tuple(inputs)
    ins = _prepare(ins)
    outs = func(*ins)
    outs_t, single_out = _tuple(outs)
    rows = []
    for o in outs_t:
        per_input = [np.zeros(tuple(o.shape) + tuple(i.shape), i._data.dtype) for i in ins]
        flat = [p.reshape((o.numel(),) + tuple(i.shape)) for p, i in zip(per_input, ins)]
        for k in range(o.numel()):
            seed = np.zeros(o._data.size, o._data.dtype)
            seed[k] = 1
            gs = grad(
                [o],
                list(ins),
                [Tensor._make(seed.reshape(o._data.shape))],
                retain_graph=True,
                allow_unused=True,
            )
            for f, g in zip(flat, gs):
                if g is not None:
                    f[k] = g._data
        rows.append(tuple(Tensor._make(p) for p in per_input))
    if single_out and single_in:
        return rows[0][0]
    if single_out:
        return rows[0]
    if single_in:
        return tuple(r[0] for r in rows)
    return tuple(rows)

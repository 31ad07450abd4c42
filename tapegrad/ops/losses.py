"""Pointwise losses recorded as one node each, as PyTorch records them.

``F.mse_loss`` is ``(input - target)**2`` reduced. Built from three ops it recorded
three nodes, and ``loss.grad_fn`` was ``MeanBackward0`` where PyTorch's is
``MseLossBackward0`` (what the PyTorch tutorials print to show the graph:
``loss.grad_fn``, then ``loss.grad_fn.next_functions[0][0]``); small losses also paid
three nodes' overhead. The forward reduces as ``torch.mean``/``torch.sum`` do here
(NumPy's pairwise sums). The backward is PyTorch's formula, ``2 (input - target) g``
(divided by the element count for ``'mean'``), written against the array namespace
(``ctx.xp``), so under ``create_graph`` it is recorded and differentiable again.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function

__all__ = ["MseLoss"]


class MseLoss(Function):
    """``F.mse_loss`` of two arrays of one shape and dtype (grad_fn ``MseLossBackward0``)."""

    backward_name = "MseLossBackward0"

    def forward(ctx, input, target, reduction="mean"):
        d = np.subtract(input, target)
        np.multiply(d, d, out=d)
        ctx.reduction, ctx.n = reduction, d.size
        ctx.save_for_backward(input, target)
        if reduction == "none":
            return d
        axes = tuple(range(d.ndim))
        if reduction == "sum":
            return np.asarray(np.sum(d, axis=axes))
        return np.asarray(np.mean(d, axis=axes))

    def backward(ctx, g):
        input, target = ctx.saved_tensors
        need_input, need_target = ctx.needs_input_grad
        norm = 2.0 / ctx.n if ctx.reduction == "mean" else 2.0
        # PyTorch's mse_loss_backward: norm * (input - target) * grad
        grad = (input - target) * norm * g
        return (grad if need_input else None, -grad if need_target else None)

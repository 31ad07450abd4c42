"""Rprop: resilient backpropagation (``torch.optim.Rprop``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ._update import update_ops
from .optimizer import Optimizer, _bump, _step_tensor, _zeros_like

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Rprop: per-coordinate steps grown while the gradient keeps its sign and shrunk when
    it flips; only the gradient's sign is used (``torch.optim.Rprop``).

    Args:
        params: The tensors to optimize, or dicts defining parameter groups, each with
            its own options (``[{'params': ..., 'lr': ...}, ...]``).
        lr: Initial step size of every coordinate.
        etas: ``(etaminus, etaplus)``: the factors that shrink and grow a step.
        step_sizes: ``(min, max)``: the bounds of the step sizes.
        capturable: Accepted for PyTorch's signature; no effect (tapegrad has one
            implementation).
        foreach: Accepted for PyTorch's signature; no effect (tapegrad has one
            implementation).
        maximize: Maximize the objective instead of minimizing it.
        differentiable: Record the update in the autograd graph, so that gradients can
            flow through the optimization step.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {
            "lr": lr,
            "etas": etas,
            "step_sizes": step_sizes,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("capturable", False)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one update of every parameter that has a gradient (``Rprop.step``)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            with self._grad_mode(group):
                self._update_group(group)
        return loss

    def _update_group(self, group: dict) -> None:
        u = update_ops(group)
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        for p in group["params"]:
            if p._grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                lr = float(group["lr"])
                state["step"] = _step_tensor()
                state["prev"] = _zeros_like(p)
                state["step_size"] = _zeros_like(p, complex(lr, lr) if p.is_complex() else lr)
            d = u.param(p)
            g = u.grad(p)
            _bump(state["step"])
            prev = u.state(state["prev"])
            step_size = u.state(state["step_size"])
            if group["maximize"]:
                g = u.neg(g)
            # The signs decide constants (no gradient flows through a sign). torch.sign(nan)
            # is 0, so a NaN product counts as "no sign change" (factor 1); the comparisons
            # below give that without NumPy's NaN-propagating sign.
            gv = u.raw(g)
            prod = np.multiply(gv, u.raw(prev))
            positive, negative = prod > 0, prod < 0
            factor = np.ones_like(prod)
            factor[positive] = etaplus
            factor[negative] = etaminus
            u.clamp_(u.mul_mask_(step_size, factor), step_size_min, step_size_max)
            # Where the sign flipped, this step is skipped and the flip forgotten.
            g = u.mul_mask_(u.clone(g), (~negative).astype(prod.dtype))
            gv = u.raw(g)
            sign = np.subtract(gv > 0, gv < 0, dtype=gv.dtype)
            # param.addcmul_(grad.sign(), step_size, value=-1), with sign(nan) = 0
            u.addcmul_(d, u.constant(sign, d), step_size, value=-1)
            u.copy_(prev, g)
            u.touch(state["prev"], state["step_size"], p)

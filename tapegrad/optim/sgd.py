"""Stochastic gradient descent with momentum (``torch.optim.SGD``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._update import l2_grad, update_ops
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum (``torch.optim.SGD``).

    Example: ``SGD(model.parameters(), lr=0.1, momentum=0.9)``.

    Args:
        params: The tensors to optimize, or dicts defining parameter groups, each with
            its own options (``[{'params': ..., 'lr': ...}, ...]``).
        lr: Learning rate.
        momentum: Momentum factor (0: plain SGD).
        dampening: Dampening of the momentum: the gradient enters the buffer times
            ``1 - dampening``.
        weight_decay: L2 penalty: ``weight_decay * param`` is added to the gradient.
        nesterov: Use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        maximize: Maximize the objective instead of minimizing it.
        foreach: Accepted for PyTorch's signature; no effect (tapegrad has one
            implementation).
        fused: Accepted for PyTorch's signature; no effect (tapegrad has one
            implementation).
        differentiable: Record the update in the autograd graph, so that gradients can
            flow through the optimization step.

    Raises:
        ValueError: For a negative ``lr``, ``momentum`` or ``weight_decay``, or Nesterov
            momentum without momentum or with dampening.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", False)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one update of every parameter that has a gradient (``SGD.step``)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            with self._grad_mode(group):
                self._update_group(group)
        return loss

    def _update_group(self, group: dict) -> None:
        u = update_ops(group)
        lr = float(group["lr"])
        momentum = group["momentum"]
        dampening = group["dampening"]
        nesterov = group["nesterov"]
        for p in group["params"]:
            if p._grad is None:
                continue
            d = u.param(p)
            g = l2_grad(u, d, u.grad(p), group["maximize"], group["weight_decay"])
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = u.new_state(g, p)
                    state["momentum_buffer"] = buf
                else:
                    b = u.state(buf)
                    u.mul_(b, momentum)
                    u.add_(b, g, alpha=1 - dampening)
                    u.touch(buf)
                g = u.add(g, u.state(buf), alpha=momentum) if nesterov else u.state(buf)
            u.add_(d, g, alpha=-lr)
            u.touch(p)

"""Adadelta (``torch.optim.Adadelta``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._update import l2_grad, update_ops
from .optimizer import Optimizer, _bump, _step_tensor, _zeros_like

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta: steps scaled by running RMS of updates and gradients (``torch.optim.Adadelta``).

    Example: ``Adadelta(model.parameters(), lr=1.0, rho=0.9)``.

    Args:
        params: The tensors to optimize, or dicts defining parameter groups, each with
            its own options (``[{'params': ..., 'lr': ...}, ...]``).
        lr: Factor applied to the computed update.
        rho: Decay rate of the running averages of squared gradients and updates.
        eps: Added to the denominator for numerical stability.
        weight_decay: L2 penalty: ``weight_decay * param`` is added to the gradient.
        foreach: Accepted for PyTorch's signature; no effect (tapegrad has one
            implementation).
        capturable: Accepted for PyTorch's signature; no effect (tapegrad has one
            implementation).
        maximize: Maximize the objective instead of minimizing it.
        differentiable: Record the update in the autograd graph, so that gradients can
            flow through the optimization step.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "capturable": capturable,
            "foreach": foreach,
            "differentiable": differentiable,
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
        """Perform one update of every parameter that has a gradient (``Adadelta.step``)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            with self._grad_mode(group):
                self._update_group(group)
        return loss

    def _update_group(self, group: dict) -> None:
        u = update_ops(group)
        lr = float(group["lr"])
        rho = group["rho"]
        eps = group["eps"]
        for p in group["params"]:
            if p._grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _step_tensor()
                state["square_avg"] = _zeros_like(p)
                state["acc_delta"] = _zeros_like(p)
            d = u.param(p)
            _bump(state["step"])
            g = l2_grad(u, d, u.grad(p), group["maximize"], group["weight_decay"])
            square_avg = u.state(state["square_avg"])
            acc_delta = u.state(state["acc_delta"])
            u.addcmul_(u.mul_(square_avg, rho), g, g, value=1 - rho)
            std = u.sqrt_(u.add(square_avg, eps))
            delta = u.sqrt_(u.add(acc_delta, eps))
            delta = u.mul_(u.div_(delta, std), g)
            u.addcmul_(u.mul_(acc_delta, rho), delta, delta, value=1 - rho)
            u.add_(d, delta, alpha=-lr)
            u.touch(state["square_avg"], state["acc_delta"], p)

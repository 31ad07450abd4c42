"""Adamax: Adam with the infinity norm (``torch.optim.Adamax``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._update import l2_grad, update_ops
from .optimizer import Optimizer, _bump, _step_tensor, _zeros_like

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax: steps scaled by a decaying max of gradient magnitudes (``torch.optim.Adamax``).

    Args:
        params: The tensors to optimize, or dicts defining parameter groups, each with
            its own options (``[{'params': ..., 'lr': ...}, ...]``).
        lr: Learning rate.
        betas: Decay rates of the running average of the gradient and of the
            infinity norm.
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
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
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
        """Perform one update of every parameter that has a gradient (``Adamax.step``)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            with self._grad_mode(group):
                self._update_group(group)
        return loss

    def _update_group(self, group: dict) -> None:
        u = update_ops(group)
        lr = float(group["lr"])
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        for p in group["params"]:
            if p._grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _step_tensor()
                state["exp_avg"] = _zeros_like(p)
                state["exp_inf"] = _zeros_like(p)
            d = u.param(p)
            step = _bump(state["step"])
            g = l2_grad(u, d, u.grad(p), group["maximize"], group["weight_decay"])
            exp_avg = u.lerp_(u.state(state["exp_avg"]), g, 1 - beta1)
            exp_inf = u.mul_(u.state(state["exp_inf"]), beta2)
            exp_inf = u.maximum_(exp_inf, u.add_(u.abs(g), eps))
            clr = lr / (1 - beta1**step)
            u.addcdiv_(d, exp_avg, exp_inf, value=-clr)
            u.touch(state["exp_avg"], state["exp_inf"], p)


def _check_adam_args(lr, betas, eps, weight_decay) -> None:
    """The argument checks the Adam family shares, with PyTorch's messages."""
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")

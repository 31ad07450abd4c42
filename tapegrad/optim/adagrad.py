"""Adagrad (``torch.optim.Adagrad``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._update import l2_grad, update_ops
from .optimizer import Optimizer, _bump, _step_tensor, _zeros_like

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad: per-coordinate rates from the sum of squared gradients (``torch.optim.Adagrad``).

    Example: ``Adagrad(model.parameters(), lr=0.01, lr_decay=1e-4)``.

    Args:
        params: The tensors to optimize, or dicts defining parameter groups, each with
            its own options (``[{'params': ..., 'lr': ...}, ...]``).
        lr: Learning rate.
        lr_decay: The rate at step ``t`` is ``lr / (1 + (t - 1) * lr_decay)``.
        weight_decay: L2 penalty: ``weight_decay * param`` is added to the gradient.
        initial_accumulator_value: Starting value of the sum of squared gradients.
        eps: Added to the denominator for numerical stability.
        foreach: Accepted for PyTorch's signature; no effect (tapegrad has one
            implementation).
        fused: Accepted for PyTorch's signature; no effect (tapegrad has one
            implementation).
        maximize: Maximize the objective instead of minimizing it.
        differentiable: Record the update in the autograd graph, so that gradients can
            flow through the optimization step.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}"
            )
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)
        # Unlike the other optimizers, Adagrad creates its state up front, as PyTorch does.
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = _step_tensor()
                state["sum"] = _zeros_like(p, initial_accumulator_value)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("fused", None)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one update of every parameter that has a gradient (``Adagrad.step``)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            with self._grad_mode(group):
                self._update_group(group)
        return loss

    def _update_group(self, group: dict) -> None:
        u = update_ops(group)
        lr = float(group["lr"])
        lr_decay = group["lr_decay"]
        eps = group["eps"]
        for p in group["params"]:
            if p._grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:  # a parameter added later through add_param_group
                state["step"] = _step_tensor()
                state["sum"] = _zeros_like(p, group["initial_accumulator_value"])
            d = u.param(p)
            step = _bump(state["step"])
            g = l2_grad(u, d, u.grad(p), group["maximize"], group["weight_decay"])
            clr = lr / (1 + (step - 1) * lr_decay)
            state_sum = u.addcmul_(u.state(state["sum"]), g, g)
            u.touch(state["sum"])
            u.addcdiv_(d, g, u.sqrt_plus(state_sum, eps), value=-clr)
            u.touch(p)

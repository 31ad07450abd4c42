"""RMSprop (``torch.optim.RMSprop``), plain, centered, and with momentum."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._update import l2_grad, update_ops
from .optimizer import Optimizer, _bump, _step_tensor, _zeros_like

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop: steps divided by a running RMS of the gradients (``torch.optim.RMSprop``).

    Example: ``RMSprop(model.parameters(), lr=0.01, alpha=0.99, centered=True)``.

    Args:
        params: The tensors to optimize, or dicts defining parameter groups, each with
            its own options (``[{'params': ..., 'lr': ...}, ...]``).
        lr: Learning rate.
        alpha: Decay rate of the running average of squared gradients.
        eps: Added to the denominator for numerical stability.
        weight_decay: L2 penalty: ``weight_decay * param`` is added to the gradient.
        momentum: Momentum factor.
        centered: Divide by the estimated variance of the gradient (the running
            average of squares minus the square of the running average) instead.
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
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("momentum", 0)
            group.setdefault("centered", False)
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("capturable", False)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one update of every parameter that has a gradient (``RMSprop.step``)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            with self._grad_mode(group):
                self._update_group(group)
        return loss

    def _update_group(self, group: dict) -> None:
        u = update_ops(group)
        lr = float(group["lr"])
        alpha = group["alpha"]
        eps = group["eps"]
        momentum = group["momentum"]
        centered = group["centered"]
        for p in group["params"]:
            if p._grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _step_tensor()
                state["square_avg"] = _zeros_like(p)
                if momentum > 0:
                    state["momentum_buffer"] = _zeros_like(p)
                if centered:
                    state["grad_avg"] = _zeros_like(p)
            d = u.param(p)
            _bump(state["step"])
            g = l2_grad(u, d, u.grad(p), group["maximize"], group["weight_decay"])
            square_avg = u.state(state["square_avg"])
            u.addcmul_(u.mul_(square_avg, alpha), g, g, value=1 - alpha)
            u.touch(state["square_avg"])
            if centered:
                grad_avg = u.lerp_(u.state(state["grad_avg"]), g, 1 - alpha)
                u.touch(state["grad_avg"])
                # square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
                avg = u.sqrt_plus(u.sub(square_avg, u.mul(grad_avg, grad_avg)), eps)
            else:
                avg = u.sqrt_plus(square_avg, eps)
            if momentum > 0:
                buf = u.state(state["momentum_buffer"])
                u.addcdiv_(u.mul_(buf, momentum), g, avg)
                u.touch(state["momentum_buffer"])
                u.add_(d, buf, alpha=-lr)
            else:
                u.addcdiv_(d, g, avg, value=-lr)
            u.touch(p)

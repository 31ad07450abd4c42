"""RAdam: Adam with a rectified adaptive learning rate (``torch.optim.RAdam``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._update import update_ops
from .adamax import _check_adam_args
from .optimizer import Optimizer, _bump, _step_tensor, _zeros_like

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam: Adam whose adaptive step is switched on as its variance becomes tractable
    (``torch.optim.RAdam``).

    Args:
        params: The tensors to optimize, or dicts defining parameter groups, each with
            its own options (``[{'params': ..., 'lr': ...}, ...]``).
        lr: Learning rate.
        betas: Decay rates of the running averages of the gradient and of its square.
        eps: Added to the denominator for numerical stability.
        weight_decay: L2 penalty: ``weight_decay * param`` is added to the gradient.
        decoupled_weight_decay: Shrink the parameters directly (AdamW's weight decay)
            instead of adding the penalty to the gradient.
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
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)
            group.setdefault("capturable", False)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one update of every parameter that has a gradient (``RAdam.step``)."""
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
        weight_decay = group["weight_decay"]
        for p in group["params"]:
            if p._grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _step_tensor()
                state["exp_avg"] = _zeros_like(p)
                state["exp_avg_sq"] = _zeros_like(p)
            d = u.param(p)
            step = _bump(state["step"])
            g = u.grad(p)
            if group["maximize"]:
                g = u.neg(g)
            if weight_decay != 0:
                if group["decoupled_weight_decay"]:
                    u.mul_(d, 1 - lr * weight_decay)
                else:
                    g = u.add(g, d, alpha=weight_decay)
            exp_avg = u.lerp_(u.state(state["exp_avg"]), g, 1 - beta1)
            exp_avg_sq = u.state(state["exp_avg_sq"])
            u.addcmul_(u.mul_(exp_avg_sq, beta2), g, g, value=1 - beta2)
            bias_correction1 = 1 - beta1**step
            bias_correction2 = 1 - beta2**step
            # bias_corrected_exp_avg * lr [* adaptive_lr * rect], in PyTorch's order
            update = u.mul(u.div(exp_avg, bias_correction1), lr)
            rho_inf = 2 / (1 - beta2) - 1
            rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
            if rho_t > 5.0:
                rect = (
                    (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                ) ** 0.5
                adaptive = u.rdiv(bias_correction2**0.5, u.sqrt_plus(exp_avg_sq, eps))
                update = u.mul(u.mul(update, adaptive), rect)
            u.sub_(d, update)
            u.touch(state["exp_avg"], state["exp_avg_sq"], p)

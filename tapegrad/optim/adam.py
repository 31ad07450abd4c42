"""Adam (``torch.optim.Adam``), with AMSGrad and decoupled weight decay."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ._update import update_ops
from .optimizer import Optimizer, _bump, _step_tensor, _zeros_like

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam: adaptive moment estimation (``torch.optim.Adam``).

    Example: ``Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))``.

    Args:
        params: The tensors to optimize, or dicts defining parameter groups, each with
            its own options (``[{'params': ..., 'lr': ...}, ...]``).
        lr: Learning rate.
        betas: Decay rates of the running averages of the gradient and of its square.
        eps: Added to the denominator for numerical stability.
        weight_decay: L2 penalty: ``weight_decay * param`` is added to the gradient.
        amsgrad: Use the AMSGrad variant (the maximum of the past second moments).
        foreach: Accepted for PyTorch's signature; no effect (tapegrad has one
            implementation).
        capturable: Accepted for PyTorch's signature; no effect (tapegrad has one
            implementation).
        fused: Accepted for PyTorch's signature; no effect (tapegrad has one
            implementation).
        maximize: Maximize the objective instead of minimizing it.
        differentiable: Record the update in the autograd graph, so that gradients can
            flow through the optimization step.
        decoupled_weight_decay: Shrink the parameters by ``lr * weight_decay`` directly,
            as AdamW does, instead of adding the penalty to the gradient.

    Raises:
        ValueError: For a negative ``lr``, ``eps`` or ``weight_decay``, or a beta outside
            ``[0, 1)``.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
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
        defaults = {
            "lr": lr,
            "betas": tuple(float(b) for b in betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("capturable", False)
            group.setdefault("differentiable", False)
            group.setdefault("fused", None)
            group.setdefault("decoupled_weight_decay", False)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one update of every parameter that has a gradient (``Adam.step``)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            with self._grad_mode(group):
                self._update_group(group)
        return loss

    def _update_group(self, group: dict) -> None:
        u = update_ops(group)
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps = group["eps"]
        weight_decay = group["weight_decay"]
        amsgrad = group["amsgrad"]
        for p in group["params"]:
            if p._grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _step_tensor()
                state["exp_avg"] = _zeros_like(p)
                state["exp_avg_sq"] = _zeros_like(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = _zeros_like(p)
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
            exp_avg, exp_avg_sq = u.state(state["exp_avg"]), u.state(state["exp_avg_sq"])
            u.lerp_(exp_avg, g, 1 - beta1)
            u.addcmul_(u.mul_(exp_avg_sq, beta2), g, g, value=1 - beta2)
            if amsgrad:
                max_sq = u.maximum_(u.state(state["max_exp_avg_sq"]), exp_avg_sq)
                u.touch(state["max_exp_avg_sq"])
                denom = u.sqrt(max_sq)
            else:
                denom = u.sqrt(exp_avg_sq)
            if u.differentiable:
                # PyTorch's differentiable branch computes the bias corrections from the
                # float32 step tensor, in float32, and folds the step size into denom
                f32 = np.float32
                step_size_neg = -(f32(lr) / (f32(1) - f32(beta1) ** f32(step)))
                bc2_sqrt = np.sqrt(f32(1) - f32(beta2) ** f32(step))
                denom = u.add_(
                    u.div(denom, float(bc2_sqrt * step_size_neg)), float(f32(eps) / step_size_neg)
                )
                u.addcdiv_(d, exp_avg, denom)
            else:
                step_size = lr / (1 - beta1**step)
                bias_correction2_sqrt = (1 - beta2**step) ** 0.5
                denom = u.add_(u.div(denom, bias_correction2_sqrt), eps)
                u.addcdiv_(d, exp_avg, denom, value=-step_size)
            u.touch(state["exp_avg"], state["exp_avg_sq"], p)

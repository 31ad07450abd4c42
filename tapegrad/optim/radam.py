"""RAdam: Adam with a rectified adaptive learning rate (``torch.optim.RAdam``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..backend import array_module
from .adam import _lerp_
from .adamax import _check_adam_args
from .optimizer import Optimizer, _bump, _real, _step_tensor, _zeros_like

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam: Adam whose adaptive step is switched on as its variance becomes tractable
    (``torch.optim.RAdam``)."""

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
                d, g = _real(p._data), _real(p._grad._data)
                step = _bump(state["step"])
                if group["maximize"]:
                    g = np.negative(g)
                if weight_decay != 0:
                    if group["decoupled_weight_decay"]:
                        d *= 1 - lr * weight_decay
                    else:
                        t = np.multiply(d, weight_decay)
                        g = np.add(g, t, out=t)
                exp_avg = _real(state["exp_avg"]._data)
                exp_avg_sq = _real(state["exp_avg_sq"]._data)
                tmp = np.empty_like(d)
                _lerp_(exp_avg, g, 1 - beta1, tmp)
                exp_avg_sq *= beta2
                np.multiply(g, 1 - beta2, out=tmp)
                tmp *= g
                exp_avg_sq += tmp
                bias_correction1 = 1 - beta1**step
                bias_correction2 = 1 - beta2**step
                # bias_corrected_exp_avg * lr [* adaptive_lr * rect], in PyTorch's order
                update = np.divide(exp_avg, bias_correction1)
                update *= lr
                rho_inf = 2 / (1 - beta2) - 1
                rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
                if rho_t > 5.0:
                    rect = (
                        (rho_t - 4)
                        * (rho_t - 2)
                        * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                    ) ** 0.5
                    array_module(d).sqrt(exp_avg_sq, out=tmp)
                    tmp += eps
                    np.divide(bias_correction2**0.5, tmp, out=tmp)
                    update *= tmp
                    update *= rect
                d -= update
                state["exp_avg"]._version_counter.v += 1
                state["exp_avg_sq"]._version_counter.v += 1
                p._version_counter.v += 1
        return loss

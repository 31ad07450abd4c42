"""NAdam: Adam with Nesterov momentum (``torch.optim.NAdam``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..backend import array_module
from .adam import _lerp_
from .adamax import _check_adam_args
from .optimizer import Optimizer, _bump, _real, _step_tensor, _zeros_like

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam: Adam whose momentum looks one step ahead (``torch.optim.NAdam``)."""

    def __init__(
        self,
        params: Iterable,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("capturable", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one update of every parameter that has a gradient (``NAdam.step``)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            beta1, beta2 = group["betas"]
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            momentum_decay = group["momentum_decay"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["mu_product"] = _step_tensor(1.0)
                    state["exp_avg"] = _zeros_like(p)
                    state["exp_avg_sq"] = _zeros_like(p)
                d, g = _real(p._data), _real(p._grad._data)
                step = _bump(state["step"])
                if group["maximize"]:
                    g = np.negative(g)
                bias_correction2 = 1 - beta2**step
                if weight_decay != 0:
                    if group["decoupled_weight_decay"]:
                        d *= 1 - lr * weight_decay
                    else:
                        t = np.multiply(d, weight_decay)
                        g = np.add(g, t, out=t)
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
                # The product of the momenta is a float32 tensor in PyTorch: round it alike.
                mu_product_t = state["mu_product"]
                mu_product_t._data *= mu
                mu_product_t._version_counter.v += 1
                mu_product = float(mu_product_t._data)
                mu_product_next = mu_product * mu_next
                exp_avg = _real(state["exp_avg"]._data)
                exp_avg_sq = _real(state["exp_avg_sq"]._data)
                tmp = np.empty_like(d)
                _lerp_(exp_avg, g, 1 - beta1, tmp)
                exp_avg_sq *= beta2
                np.multiply(g, 1 - beta2, out=tmp)
                tmp *= g
                exp_avg_sq += tmp
                denom = np.divide(exp_avg_sq, bias_correction2)
                array_module(d).sqrt(denom, out=denom)
                denom += eps
                # param.addcdiv_(grad, denom, value=...) then (exp_avg, denom, value=...)
                np.divide(g, denom, out=tmp)
                tmp *= -lr * (1.0 - mu) / (1.0 - mu_product)
                d += tmp
                np.divide(exp_avg, denom, out=tmp)
                tmp *= (-lr * mu_next) / (1.0 - mu_product_next)
                d += tmp
                state["exp_avg"]._version_counter.v += 1
                state["exp_avg_sq"]._version_counter.v += 1
                p._version_counter.v += 1
        return loss

"""Adamax: Adam with the infinity norm (``torch.optim.Adamax``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .adam import _lerp_
from .optimizer import Optimizer, _bump, _l2_grad, _real, _step_tensor, _zeros_like

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax: steps scaled by a decaying max of gradient magnitudes (``torch.optim.Adamax``)."""

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
                d, g = _real(p._data), _real(p._grad._data)
                step = _bump(state["step"])
                g = _l2_grad(d, g, group["maximize"], group["weight_decay"])
                exp_avg = _real(state["exp_avg"]._data)
                exp_inf = _real(state["exp_inf"]._data)
                tmp = np.empty_like(d)
                _lerp_(exp_avg, g, 1 - beta1, tmp)
                exp_inf *= beta2
                np.abs(g, out=tmp)
                tmp += eps
                np.maximum(exp_inf, tmp, out=exp_inf)
                clr = lr / (1 - beta1**step)
                # param.addcdiv_(exp_avg, exp_inf, value=-clr)
                np.divide(exp_avg, exp_inf, out=tmp)
                tmp *= -clr
                d += tmp
                state["exp_avg"]._version_counter.v += 1
                state["exp_inf"]._version_counter.v += 1
                p._version_counter.v += 1
        return loss


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

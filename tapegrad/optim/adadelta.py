"""Adadelta (``torch.optim.Adadelta``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..backend import array_module
from .optimizer import Optimizer, _bump, _l2_grad, _real, _step_tensor, _zeros_like

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta: steps scaled by running RMS of updates and gradients (``torch.optim.Adadelta``).

    Example: ``Adadelta(model.parameters(), lr=1.0, rho=0.9)``.
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
            lr = float(group["lr"])
            rho = group["rho"]
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["square_avg"] = _zeros_like(p)
                    state["acc_delta"] = _zeros_like(p)
                d, g = _real(p._data), _real(p._grad._data)
                xp = array_module(d)
                _bump(state["step"])
                g = _l2_grad(d, g, maximize, weight_decay)
                square_avg = _real(state["square_avg"]._data)
                acc_delta = _real(state["acc_delta"]._data)
                # square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
                std = np.multiply(g, 1 - rho)
                std *= g
                square_avg *= rho
                square_avg += std
                np.add(square_avg, eps, out=std)
                xp.sqrt(std, out=std)
                delta = np.add(acc_delta, eps)
                xp.sqrt(delta, out=delta)
                delta /= std
                delta *= g
                # acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
                np.multiply(delta, 1 - rho, out=std)
                std *= delta
                acc_delta *= rho
                acc_delta += std
                delta *= lr
                d -= delta
                state["square_avg"]._version_counter.v += 1
                state["acc_delta"]._version_counter.v += 1
                p._version_counter.v += 1
        return loss

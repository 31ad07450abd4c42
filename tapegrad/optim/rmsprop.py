"""RMSprop (``torch.optim.RMSprop``), plain, centered, and with momentum."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..backend import array_module
from .adam import _lerp_
from .optimizer import Optimizer, _bump, _l2_grad, _real, _step_tensor, _zeros_like

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop: steps divided by a running RMS of the gradients (``torch.optim.RMSprop``).

    Example: ``RMSprop(model.parameters(), lr=0.01, alpha=0.99, centered=True)``.
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
            lr = float(group["lr"])
            alpha = group["alpha"]
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            momentum = group["momentum"]
            centered = group["centered"]
            maximize = group["maximize"]
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
                d, g = _real(p._data), _real(p._grad._data)
                _bump(state["step"])
                g = _l2_grad(d, g, maximize, weight_decay)
                square_avg = _real(state["square_avg"]._data)
                # square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
                avg = np.multiply(g, 1 - alpha)
                avg *= g
                square_avg *= alpha
                square_avg += avg
                state["square_avg"]._version_counter.v += 1
                if centered:
                    grad_avg = _real(state["grad_avg"]._data)
                    _lerp_(grad_avg, g, 1 - alpha, avg)
                    state["grad_avg"]._version_counter.v += 1
                    # square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
                    np.multiply(grad_avg, grad_avg, out=avg)
                    np.subtract(square_avg, avg, out=avg)
                    array_module(d).sqrt(avg, out=avg)
                else:
                    array_module(d).sqrt(square_avg, out=avg)
                avg += eps
                if momentum > 0:
                    buf = _real(state["momentum_buffer"]._data)
                    buf *= momentum
                    np.divide(g, avg, out=avg)
                    buf += avg
                    state["momentum_buffer"]._version_counter.v += 1
                    np.multiply(buf, lr, out=avg)
                else:
                    np.divide(g, avg, out=avg)
                    avg *= lr
                d -= avg
                p._version_counter.v += 1
        return loss

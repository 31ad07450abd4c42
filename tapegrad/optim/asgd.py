"""Averaged SGD (``torch.optim.ASGD``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, _bump, _l2_grad, _real, _step_tensor, _zeros_like

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """Averaged stochastic gradient descent: SGD with a decaying rate that also keeps the
    running average of the iterates in ``state['ax']`` (``torch.optim.ASGD``)."""

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
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
        """Perform one update of every parameter that has a gradient (``ASGD.step``)."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            lambd, alpha, t0 = group["lambd"], group["alpha"], group["t0"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["eta"] = _step_tensor(lr)
                    state["mu"] = _step_tensor(1.0)
                    state["ax"] = _zeros_like(p)
                d, g = _real(p._data), _real(p._grad._data)
                ax = _real(state["ax"]._data)
                step = _bump(state["step"])
                g = _l2_grad(d, g, group["maximize"], group["weight_decay"])
                # eta and mu are float32 scalars in PyTorch; their rounded values are used.
                eta = float(state["eta"]._data)
                d *= 1 - lambd * eta
                d -= np.multiply(g, eta)
                mu = state["mu"]._data
                if float(mu) != 1:
                    # ax.add_(param.sub(ax).mul_(mu))
                    t = np.subtract(d, ax)
                    t *= mu
                    ax += t
                else:
                    np.copyto(ax, d)
                state["eta"]._data[...] = lr / ((1 + lambd * lr * step) ** alpha)
                state["mu"]._data[...] = 1 / max(1, step - t0)
                for key in ("eta", "mu", "ax"):
                    state[key]._version_counter.v += 1
                p._version_counter.v += 1
        return loss

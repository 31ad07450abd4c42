"""Averaged SGD (``torch.optim.ASGD``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._update import l2_grad, update_ops
from .optimizer import Optimizer, _bump, _step_tensor, _zeros_like

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """Averaged stochastic gradient descent: SGD with a decaying rate that also keeps the
    running average of the iterates in ``state['ax']`` (``torch.optim.ASGD``).

    Args:
        params: The tensors to optimize, or dicts defining parameter groups, each with
            its own options (``[{'params': ..., 'lr': ...}, ...]``).
        lr: Learning rate.
        lambd: Decay term of the learning rate.
        alpha: Power of the learning-rate decay.
        t0: The step at which averaging starts.
        weight_decay: L2 penalty: ``weight_decay * param`` is added to the gradient.
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
            with self._grad_mode(group):
                self._update_group(group)
        return loss

    def _update_group(self, group: dict) -> None:
        u = update_ops(group)
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
            d = u.param(p)
            ax = u.state(state["ax"])
            step = _bump(state["step"])
            g = l2_grad(u, d, u.grad(p), group["maximize"], group["weight_decay"])
            # eta and mu are float32 scalars in PyTorch; their rounded values are used.
            eta = float(state["eta"]._data)
            u.mul_(d, 1 - lambd * eta)
            u.add_(d, g, alpha=-eta)
            mu = float(state["mu"]._data)
            if mu != 1:
                # ax.add_(param.sub(ax).mul_(mu))
                u.add_(ax, u.mul_(u.sub(d, ax), mu))
            else:
                u.copy_(ax, d)
            state["eta"]._data[...] = lr / ((1 + lambd * lr * step) ** alpha)
            state["mu"]._data[...] = 1 / max(1, step - t0)
            u.touch(state["eta"], state["mu"], state["ax"], p)

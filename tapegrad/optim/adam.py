"""Adam (``torch.optim.Adam``), with AMSGrad and decoupled weight decay."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..backend import array_module
from .optimizer import Optimizer, _bump, _real, _step_tensor, _zeros_like

__all__ = ["Adam"]


def _lerp_(a, end, weight: float, tmp) -> None:
    """``a.lerp_(end, weight)`` in place, using ``tmp`` as scratch, with PyTorch's two forms."""
    np.subtract(end, a, out=tmp)
    if abs(weight) < 0.5:
        tmp *= weight
        a += tmp
    else:
        tmp *= 1 - weight
        np.subtract(end, tmp, out=a)


class Adam(Optimizer):
    """Adam: adaptive moment estimation (``torch.optim.Adam``).

    Example: ``Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))``.
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
            lr = float(group["lr"])
            beta1, beta2 = (float(b) for b in group["betas"])
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            amsgrad = group["amsgrad"]
            maximize = group["maximize"]
            decoupled = group["decoupled_weight_decay"]
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
                d, g = _real(p._data), _real(p._grad._data)
                step = _bump(state["step"])
                if maximize:
                    g = np.negative(g)
                if weight_decay != 0:
                    if decoupled:
                        d *= 1 - lr * weight_decay
                    else:
                        t = np.multiply(d, weight_decay)
                        g = np.add(g, t, out=t)
                exp_avg = _real(state["exp_avg"]._data)
                exp_avg_sq = _real(state["exp_avg_sq"]._data)
                tmp = np.empty_like(d)
                _lerp_(exp_avg, g, 1 - beta1, tmp)
                # addcmul_(g, g, value=1 - beta2): (value * g) * g, as PyTorch orders it
                exp_avg_sq *= beta2
                np.multiply(g, 1 - beta2, out=tmp)
                tmp *= g
                exp_avg_sq += tmp

                bias_correction1 = 1 - beta1**step
                bias_correction2 = 1 - beta2**step
                step_size = lr / bias_correction1
                bias_correction2_sqrt = bias_correction2**0.5
                if amsgrad:
                    max_sq = _real(state["max_exp_avg_sq"]._data)
                    np.maximum(max_sq, exp_avg_sq, out=max_sq)
                    state["max_exp_avg_sq"]._version_counter.v += 1
                    array_module(d).sqrt(max_sq, out=tmp)
                else:
                    array_module(d).sqrt(exp_avg_sq, out=tmp)
                tmp /= bias_correction2_sqrt
                tmp += eps
                # param.addcdiv_(exp_avg, denom, value=-step_size)
                np.divide(exp_avg, tmp, out=tmp)
                tmp *= -step_size
                d += tmp
                state["exp_avg"]._version_counter.v += 1
                state["exp_avg_sq"]._version_counter.v += 1
                p._version_counter.v += 1
        return loss

"""AdamW: Adam with decoupled weight decay (``torch.optim.AdamW``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    """Adam whose weight decay shrinks the parameters directly (``torch.optim.AdamW``).

    Example: ``AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)``.

    Args:
        params: The tensors to optimize, or dicts defining parameter groups, each with
            its own options (``[{'params': ..., 'lr': ...}, ...]``).
        lr: Learning rate.
        betas: Decay rates of the running averages of the gradient and of its square.
        eps: Added to the denominator for numerical stability.
        weight_decay: Decoupled weight decay: each step multiplies the parameters by
            ``1 - lr * weight_decay``.
        amsgrad: Use the AMSGrad variant (the maximum of the past second moments).
        maximize: Maximize the objective instead of minimizing it.
        foreach: Accepted for PyTorch's signature; no effect (tapegrad has one
            implementation).
        capturable: Accepted for PyTorch's signature; no effect (tapegrad has one
            implementation).
        fused: Accepted for PyTorch's signature; no effect (tapegrad has one
            implementation).
        differentiable: Record the update in the autograd graph, so that gradients can
            flow through the optimization step.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True

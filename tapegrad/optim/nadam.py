"""NAdam: Adam with Nesterov momentum (``torch.optim.NAdam``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._update import update_ops
from .adamax import _check_adam_args
from .optimizer import Optimizer, _bump, _step_tensor, _zeros_like

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam: Adam whose momentum looks one step ahead (``torch.optim.NAdam``).

    Args:
        params: The tensors to optimize, or dicts defining parameter groups, each with
            its own options (``[{'params': ..., 'lr': ...}, ...]``).
        lr: Learning rate.
        betas: Decay rates of the running averages of the gradient and of its square.
        eps: Added to the denominator for numerical stability.
        weight_decay: L2 penalty: ``weight_decay * param`` is added to the gradient.
        momentum_decay: Decay of the momentum schedule.
        decoupled_weight_decay: Shrink the parameters directly (AdamW's weight decay)
            instead of adding the penalty to the gradient.
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
            with self._grad_mode(group):
                self._update_group(group)
        return loss

    def _update_group(self, group: dict) -> None:
        u = update_ops(group)
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
            d = u.param(p)
            step = _bump(state["step"])
            g = u.grad(p)
            if group["maximize"]:
                g = u.neg(g)
            bias_correction2 = 1 - beta2**step
            if weight_decay != 0:
                if group["decoupled_weight_decay"]:
                    u.mul_(d, 1 - lr * weight_decay)
                else:
                    g = u.add(g, d, alpha=weight_decay)
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
            # The product of the momenta is a float32 tensor in PyTorch: round it alike.
            mu_product_t = state["mu_product"]
            mu_product_t._data *= mu
            mu_product_t._version_counter.v += 1
            mu_product = float(mu_product_t._data)
            mu_product_next = mu_product * mu_next
            exp_avg = u.lerp_(u.state(state["exp_avg"]), g, 1 - beta1)
            exp_avg_sq = u.state(state["exp_avg_sq"])
            u.addcmul_(u.mul_(exp_avg_sq, beta2), g, g, value=1 - beta2)
            denom = u.sqrt_plus(u.div(exp_avg_sq, bias_correction2), eps)
            u.addcdiv_(d, g, denom, value=-lr * (1.0 - mu) / (1.0 - mu_product))
            u.addcdiv_(d, exp_avg, denom, value=(-lr * mu_next) / (1.0 - mu_product_next))
            u.touch(state["exp_avg"], state["exp_avg_sq"], p)

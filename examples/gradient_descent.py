"""Gradient descent with learning rates that converge slowly, well, and diverge (seeds
000/001, "Gradient Descent: Tuning the Learning rate"), and the same ill-conditioned
problem solved by SGD, momentum, Nesterov, Adagrad, Adadelta, RMSprop and Adam, their
trajectories drawn on one loss surface (seeds 000/001, "GD variants").

    python examples/gradient_descent.py [--fast] [--out DIR]

The loss is ``f(u, v) = u^2 / 10 + 2 v^2``, steep along v and flat along u: plain
gradient descent must keep its step below 2 / 4 = 0.5 (the steep direction's limit)
and then crawls along u; momentum and the adaptive methods go faster.
"""

from __future__ import annotations

import _common

START = (-4.5, 1.5)


def loss_fn(p):
    return p[0] ** 2 / 10 + 2 * p[1] ** 2


def descend(make_optimizer, steps, torch):
    """The points visited by ``steps`` steps of an optimizer from START, and the
    losses."""
    p = torch.tensor(START, requires_grad=True)
    optimizer = make_optimizer([p])
    path, losses = [p.detach().clone()], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(p)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
        path.append(p.detach().clone())
    losses.append(loss_fn(p).item())
    return torch.stack(path).numpy(), losses


def main() -> None:
    args = _common.make_parser(__doc__.splitlines()[0]).parse_args()
    import numpy

    import tapegrad as torch
    from tapegrad import optim

    steps = 30 if args.fast else 100
    # 1. Plain gradient descent with three learning rates.
    rates = {"too small (0.05): slow": 0.05, "good (0.4)": 0.4, "too large (0.52): diverges": 0.52}
    plain = {
        name: descend(lambda ps, lr=lr: optim.SGD(ps, lr=lr), steps, torch)
        for name, lr in rates.items()
    }
    # 2. The variants, each with a learning rate that suits it on this problem.
    variants = {
        "SGD": lambda ps: optim.SGD(ps, lr=0.4),
        "Momentum": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9),
        "Nesterov": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
        "Adagrad": lambda ps: optim.Adagrad(ps, lr=1.0),
        # Adadelta's first steps are about sqrt(eps) = 1e-3 times its lr: with the default
        # lr = 1 it would barely leave the start in 100 steps.
        "Adadelta": lambda ps: optim.Adadelta(ps, lr=50.0),
        "RMSprop": lambda ps: optim.RMSprop(ps, lr=0.1),
        "Adam": lambda ps: optim.Adam(ps, lr=0.3),
    }
    runs = {name: descend(make, steps, torch) for name, make in variants.items()}
    finals = {}
    for name, (_, losses) in {**plain, **runs}.items():
        finals[name] = losses[-1]
        print(f"{name:28s} loss after {steps} steps: {losses[-1]:.3g}")

    plt = _common.pyplot()
    if plt is not None:
        uu, vv = numpy.meshgrid(numpy.linspace(-5, 5, 200), numpy.linspace(-2.5, 2.5, 200))
        surface = uu**2 / 10 + 2 * vv**2
        levels = numpy.geomspace(0.01, 20, 15)
        fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
        ax = axes[0]
        for name, (_, losses) in plain.items():
            ax.plot(losses, label=name)
        ax.set_yscale("log")
        ax.set_ylim(1e-6, 1e3)
        ax.set_xlabel("Iteration")
        ax.set_ylabel("Loss")
        ax.set_title("Gradient descent for different learning rates")
        ax.legend()
        ax = axes[1]
        ax.contour(uu, vv, surface, levels=levels, colors="lightgray")
        for name, (path, _) in plain.items():
            path = path[: min(len(path), 25)]
            ax.plot(path[:, 0], path[:, 1], ".-", label=name, ms=4)
        ax.set_xlim(-5, 5)
        ax.set_ylim(-2.5, 2.5)
        ax.set_title("Their first 25 steps on f(u, v) = u^2/10 + 2 v^2")
        ax.legend(fontsize=8, loc="lower right")
        _common.save(fig, args.out, "gd_learning_rates.png")

        fig, axes = plt.subplots(1, 2, figsize=(14, 5), gridspec_kw={"width_ratios": [1.6, 1]})
        ax = axes[0]
        ax.contour(uu, vv, surface, levels=levels, colors="lightgray")
        for name, (path, _) in runs.items():
            ax.plot(path[:, 0], path[:, 1], ".-", label=name, ms=3, lw=1.2)
        ax.plot(*START, "ko")
        ax.plot(0, 0, "k*", ms=12)
        ax.set_xlim(-5, 5)
        ax.set_ylim(-2.5, 2.5)
        ax.set_title(f"Trajectories of {steps} steps on f(u, v) = u^2/10 + 2 v^2")
        ax.legend(fontsize=9)
        ax = axes[1]
        for name, (_, losses) in runs.items():
            ax.plot(losses, label=name)
        ax.set_yscale("log")
        ax.set_xlabel("Iteration")
        ax.set_ylabel("Loss")
        ax.set_title("Loss")
        _common.save(fig, args.out, "optimizers.png")
    _common.summary(steps=steps, final_loss=finals)


if __name__ == "__main__":
    main()

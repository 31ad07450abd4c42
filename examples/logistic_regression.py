"""Logistic regression trained by gradient descent, with the hand-written gradient of
seed 004: the decision boundary after 0, 10, 100 and 1000 steps ("3.5. Gradient
descent", 100 training points, eta = 0.1).

    python examples/logistic_regression.py [--fast] [--out DIR] [--seed S]

The same steps taken with the autograd gradient give the same parameters (checked
and printed at the end).
"""

from __future__ import annotations

import _common


def make_data(n, generator, torch):
    """Two Gaussian clouds with different covariances, labels in {-1, 1}."""
    half = n // 2
    a = torch.randn(half, 2, generator=generator) * torch.tensor([0.6, 1.1])
    b = torch.randn(n - half, 2, generator=generator) @ torch.tensor([[0.9, 0.3], [0.3, 0.5]])
    x = torch.cat([a + torch.tensor([-1.0, 0.5]), b + torch.tensor([1.0, -0.5])])
    y = torch.cat([-torch.ones(half), torch.ones(n - half)])
    return x, y


def main() -> None:
    args = _common.make_parser(__doc__.splitlines()[0]).parse_args()
    import tapegrad as torch
    from tapegrad.classic import LogisticRegression

    gen = torch.Generator().manual_seed(args.seed)
    x, y = make_data(100, gen, torch)
    snapshots = [0, 10, 100] if args.fast else [0, 10, 100, 1000]
    model = LogisticRegression(2, lr=0.1)
    twin = LogisticRegression(2, lr=0.1, use_autograd=True)
    # The slides start from w drawn with normal_; a fixed start that misclassifies most
    # points makes the figure show the boundary turning, whatever the seed.
    for m in (model, twin):
        m.weight = torch.tensor([-0.3, 1.0])
    states = []
    for target in snapshots:
        model.fit(x, y, steps=target - model.steps_done)
        twin.fit(x, y, steps=target - twin.steps_done)
        loss = model.loss(x, y).item()
        states.append((target, model.weight.clone(), model.bias.clone(), loss, model.error(x, y)))
        print(f"{target:5d} steps: loss {loss:8.3f}, training error {100 * states[-1][4]:.0f}%")
    gap = max(
        (model.weight - twin.weight).abs().max().item(), (model.bias - twin.bias).abs().item()
    )
    print(f"largest difference between hand-written and autograd training: {gap:.2e}")

    plt = _common.pyplot()
    if plt is not None:
        fig, axes = plt.subplots(1, len(states), figsize=(4.2 * len(states), 4.2))
        xx, yy, points = _common.grid(-4, 4, -4, 4, 150)
        xy, lab = x.numpy(), y.numpy()
        for ax, (n, w, b, loss, err) in zip(axes, states):
            model.weight, model.bias = w, b
            p = model.predict_proba(points).view(xx.shape).numpy()
            ax.imshow(
                p, extent=(-4, 4, -4, 4), origin="lower", cmap="coolwarm", alpha=0.6, vmin=0, vmax=1
            )
            ax.contour(xx, yy, p, levels=[0.5], colors="k")
            ax.scatter(xy[:, 0], xy[:, 1], c=lab, cmap="coolwarm", edgecolors="k", s=20)
            ax.set_title(f"n = {n}  (loss {loss:.1f}, error {100 * err:.0f}%)")
            ax.set_xlim(-4, 4)
            ax.set_ylim(-4, 4)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle("Logistic regression by gradient descent, eta = 0.1: P(Y = 1 | X = x)")
        _common.save(fig, args.out, "logistic_regression.png")
    _common.summary(
        steps=snapshots,
        losses=[s[3] for s in states],
        errors=[s[4] for s in states],
        autograd_gap=gap,
    )


if __name__ == "__main__":
    main()

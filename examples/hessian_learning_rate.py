"""The Hessian's largest eigenvalue sets the learning rate (seeds 000/001, "a second order
point of view": "the optimal value depends on the highest eigenvalue").

    python examples/hessian_learning_rate.py [--fast] [--cnn] [--out DIR] [--seed S]
        [--data-dir D] [--batch N] [--steps K]

On a fixed batch of Fashion-MNIST (MNIST, or synthetic digits when neither is on disk),
lambda_max of the loss's Hessian at the initial weights of the seed's MLP (the seed CNN
with --cnn) is estimated by power iteration on Hessian-vector products (forward, backward
with create_graph=True, second backward). Then the same initial network takes K steps of
gradient descent on that batch for learning rates across a grid, and the loss after K
steps is plotted against the learning rate with 1/lambda_max and 2/lambda_max marked: on
the quadratic model of the loss, 1/lambda_max is the fastest stable step along the
sharpest direction and beyond 2/lambda_max that direction diverges.
"""

from __future__ import annotations

import math

import _common


def main() -> None:
    parser = _common.make_parser(__doc__.splitlines()[0], data=True)
    parser.add_argument("--cnn", action="store_true", help="the seed CNN instead of the MLP")
    parser.add_argument("--batch", type=int, default=None, help="images in the fixed batch")
    parser.add_argument("--steps", type=int, default=None, help="gradient steps per rate")
    args = parser.parse_args()
    import tapegrad as torch
    from tapegrad import models, nn

    n = args.batch or (100 if args.fast else 1000)
    steps = args.steps or (5 if args.fast else 20)
    iters = 10 if args.fast else 30
    name, x, y, _, _ = _common.load_images(args.data_dir, n, 1)
    x = (x - x.mean()) / x.std()
    torch.manual_seed(args.seed)
    model = models.seed_cnn() if args.cnn else models.mlp()
    arch = "seed CNN" if args.cnn else "seed MLP"
    if not args.cnn:
        x = x.reshape(len(x), -1)
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    params = list(model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    print(f"{name}: a fixed batch of {n} images, the {arch}, {steps} steps per learning rate")

    def hvp(vs):
        loss = loss_fn(model(x), y)
        grads = torch.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(grads, vs))
        return torch.autograd.grad(dot, params)

    gen = torch.Generator().manual_seed(args.seed)
    vs = [torch.randn(p.shape, generator=gen) for p in params]
    lam = 0.0
    history = []
    for _ in range(iters):
        norm = math.sqrt(sum(float((v * v).sum()) for v in vs))
        vs = [v / norm for v in vs]
        hv = hvp(vs)
        lam = sum(float((a * b).sum()) for a, b in zip(hv, vs))  # Rayleigh quotient
        history.append(lam)
        vs = [h.detach() for h in hv]
    print(f"lambda_max ~ {lam:.4g} (power iteration, {iters} Hessian-vector products)")

    factors = [0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0]
    if args.fast:
        factors = [0.25, 1.0, 2.0, 4.0]
    rates = [f / lam for f in factors]
    losses = []
    for lr in rates:
        model.load_state_dict(init)
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
        with torch.no_grad():
            final = float(loss_fn(model(x), y))
        losses.append(final if math.isfinite(final) else float("inf"))
        print(f"lr {lr:.4g} ({lr * lam:.2f}/lambda_max): loss after {steps} steps {final:.4g}")
    with torch.no_grad():
        model.load_state_dict(init)
        start = float(loss_fn(model(x), y))

    plt = _common.pyplot()
    if plt is not None:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        ax1.plot(range(1, len(history) + 1), history, marker="o")
        ax1.set(xlabel="power iteration", ylabel="Rayleigh quotient v^T H v", title="lambda_max")
        shown = [min(v, 10 * start) for v in losses]
        ax2.semilogx(rates, shown, marker="o", label=f"loss after {steps} steps")
        ax2.axhline(start, color="gray", lw=0.8, label="initial loss")
        ax2.axvline(1 / lam, color="green", ls="--", label="1 / lambda_max")
        ax2.axvline(2 / lam, color="red", ls="--", label="2 / lambda_max")
        ax2.set(xlabel="learning rate", ylabel="training loss", title=f"{arch} on {name}")
        ax2.legend(fontsize=8)
        fig.tight_layout()
        _common.save(fig, args.out, "hessian_learning_rate.png")
    best = rates[min(range(len(rates)), key=lambda i: losses[i])]
    _common.summary(
        dataset=name,
        model=arch,
        lambda_max=lam,
        power_iterations=history,
        learning_rates=rates,
        losses=[v if math.isfinite(v) else None for v in losses],
        initial_loss=start,
        best_learning_rate=best,
    )


if __name__ == "__main__":
    main()

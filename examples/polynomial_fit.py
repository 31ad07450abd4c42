"""Polynomial fitting of degree 0..9 by least squares: training and test error against
the degree, without and with a ridge penalty (the capacity figures of seeds 002/004,
"over and under fitting, capacity, polynomials").

    python examples/polynomial_fit.py [--fast] [--out DIR] [--seed S]

Each of ``M`` training sets has ``N`` noisy samples of ``sin(pi x) + x / 2`` on [-1, 1]; the
errors are averaged over the sets. Without penalty the training error keeps falling
with the degree while the test error falls, then rises (over-fitting); the penalty
``rho * sum_d alpha_d^2`` keeps the high degrees from over-fitting.
"""

from __future__ import annotations

import math

import _common

NOISE = 0.25


def target(x):
    return (math.pi * x).sin() + 0.5 * x


def sample(n, generator, torch, grid=True):
    """``n`` noisy samples of the target: on a regular grid of [-1, 1] with a little
    jitter (training sets), or uniformly at random (the test set)."""
    if grid:
        x = torch.linspace(-1, 1, n, dtype=torch.float64)
        x = x + (torch.rand(n, generator=generator, dtype=torch.float64) - 0.5) / n
    else:
        x = torch.rand(n, generator=generator, dtype=torch.float64) * 2 - 1
    y = target(x) + NOISE * torch.randn(n, generator=generator, dtype=torch.float64)
    return x, y


def errors(train_sets, test, degrees, ridge, torch):
    """Mean square training and test errors for each degree, averaged over the sets."""
    from tapegrad.classic import fit_polynomial, polynomial_predict

    tx, ty = test
    train_err, test_err = [], []
    for d in degrees:
        tr = te = 0.0
        for x, y in train_sets:
            alpha = fit_polynomial(x, y, d, ridge=ridge)
            tr += ((polynomial_predict(alpha, x) - y) ** 2).mean().item()
            te += ((polynomial_predict(alpha, tx) - ty) ** 2).mean().item()
        train_err.append(tr / len(train_sets))
        test_err.append(te / len(train_sets))
    return train_err, test_err


def main() -> None:
    args = _common.make_parser(__doc__.splitlines()[0]).parse_args()
    import tapegrad as torch
    from tapegrad.classic import fit_polynomial, polynomial_predict

    gen = torch.Generator().manual_seed(args.seed)
    n_train, n_sets = 12, (10 if args.fast else 200)
    degrees = list(range(10))
    ridge = 1e-3
    train_sets = [sample(n_train, gen, torch) for _ in range(n_sets)]
    test = sample(2000, gen, torch, grid=False)
    plain = errors(train_sets, test, degrees, 0.0, torch)
    penalised = errors(train_sets, test, degrees, ridge, torch)
    for d in degrees:
        print(
            f"degree {d}: train {plain[0][d]:.4f} test {plain[1][d]:.4f} | "
            f"ridge {ridge:g}: train {penalised[0][d]:.4f} test {penalised[1][d]:.4f}"
        )

    plt = _common.pyplot()
    if plt is not None:
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
        xs = torch.linspace(-1, 1, 200, dtype=torch.float64)
        x, y = train_sets[0]
        ax = axes[0]
        ax.scatter(x.numpy(), y.numpy(), color="k", zorder=3, label="training points")
        ax.plot(xs.numpy(), target(xs).numpy(), "k--", lw=1, label="sin(pi x) + x / 2")
        for d in (1, 3, 9):
            alpha = fit_polynomial(x, y, d)
            ax.plot(xs.numpy(), polynomial_predict(alpha, xs).numpy(), label=f"D = {d}")
        alpha = fit_polynomial(x, y, 9, ridge=ridge)
        ax.plot(
            xs.numpy(),
            polynomial_predict(alpha, xs).numpy(),
            ":",
            lw=2,
            label=f"D = 9, rho = {ridge:g}",
        )
        ax.set_ylim(-2, 2)
        ax.set_title(f"Fits to {n_train} noisy points")
        ax.legend(fontsize=8)
        for ax, (tr, te), title in (
            (axes[1], plain, "Least squares"),
            (axes[2], penalised, f"With a ridge penalty rho = {ridge:g}"),
        ):
            ax.plot(degrees, tr, "o-", label="Train")
            ax.plot(degrees, te, "o-", label="Test")
            ax.set_yscale("log")
            ax.set_xlabel("Degree D")
            ax.set_ylabel("Mean square error")
            ax.set_title(f"{title}\n(mean over {n_sets} training sets)")
            ax.legend()
        top = max(max(plain[1]), max(penalised[1])) * 1.5
        low = min(min(plain[0]), min(penalised[0])) / 1.5
        axes[1].set_ylim(low, top)
        axes[2].set_ylim(low, top)
        _common.save(fig, args.out, "polynomial_fit.png")
    _common.summary(
        train_error=plain[0],
        test_error=plain[1],
        ridge_train_error=penalised[0],
        ridge_test_error=penalised[1],
        ridge=ridge,
    )


if __name__ == "__main__":
    main()

"""K-nearest neighbours: the training and test error against K, and the predictions of
K = 1 and K = 51 on a 2-D problem with label noise (seed 004, "over and under fitting,
capacity, K-nearest-neighbors").

    python examples/knn.py [--fast] [--out DIR] [--seed S]

With K = 1 the training error is zero and the prediction follows every noisy label
(over-fitting); with K close to the number of training points every point gets the
majority label (under-fitting); the test error is lowest in between.
"""

from __future__ import annotations

import _common


def make_data(n, generator, torch, noise=0.15):
    """Points uniform in [-1, 1]^2, labelled 1 inside a wavy band and 0 outside, with
    a fraction ``noise`` of the labels flipped."""
    x = torch.rand(n, 2, generator=generator) * 2 - 1
    y = (x[:, 1] - 0.5 * (3 * x[:, 0]).sin()).abs() < 0.45
    flip = torch.rand(n, generator=generator) < noise
    return x, (y ^ flip).long()


def main() -> None:
    args = _common.make_parser(__doc__.splitlines()[0]).parse_args()
    import tapegrad as torch
    from tapegrad.classic import KNN

    gen = torch.Generator().manual_seed(args.seed)
    n = 250 if args.fast else 1000
    train_x, train_y = make_data(n, gen, torch)
    test_x, test_y = make_data(n, gen, torch)
    model = KNN().fit(train_x, train_y)
    # Roughly log-spaced, up to K = n where every point gets the majority label.
    ks = [k for k in (1, 2, 3, 5, 8, 11, 16, 25, 35, 51, 75, 110, 160, 250, 350, 500) if k < n]
    ks.append(n)
    train_err = [model.error(train_x, train_y, k) for k in ks]
    test_err = [model.error(test_x, test_y, k) for k in ks]
    for k, tr, te in zip(ks, train_err, test_err):
        print(f"K = {k:4d}: train error {tr:.3f}, test error {te:.3f}")
    best = ks[min(range(len(ks)), key=test_err.__getitem__)]
    print(f"best K on the test set: {best}")

    plt = _common.pyplot()
    if plt is not None:
        fig, axes = plt.subplots(1, 4, figsize=(18, 4.2))
        xx, yy, points = _common.grid(-1, 1, -1, 1, 100)
        cmap = plt.get_cmap("coolwarm")
        xy, lab = train_x.numpy(), train_y.numpy()
        axes[0].scatter(xy[:, 0], xy[:, 1], c=lab, cmap=cmap, s=8)
        axes[0].set_title("Training set")
        for ax, k in ((axes[1], 1), (axes[2], 51 if 51 <= n else ks[len(ks) // 2])):
            votes = model.votes(points, k)[:, 1].float() / k
            # An image rather than filled contours: the same picture in a much smaller PNG.
            ax.imshow(
                votes.view(xx.shape).numpy(),
                extent=(-1, 1, -1, 1),
                origin="lower",
                cmap=cmap,
                alpha=0.8,
                vmin=0,
                vmax=1,
            )
            ax.contour(xx, yy, votes.view(xx.shape).numpy(), levels=[0.5], colors="k")
            ax.set_title(f"Votes and prediction (K={k})")
        for ax in axes[:3]:
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
        ax = axes[3]
        ax.plot(ks, train_err, "o-", label="Train")
        ax.plot(ks, test_err, "o-", label="Test")
        ax.set_xscale("log")
        ax.set_xlabel("K")
        ax.set_ylabel("Error")
        ax.set_title("Error against K")
        ax.set_ylim(0, max(test_err + train_err) * 1.2)
        ax.text(0.02, 0.95, "Overfitting", transform=ax.transAxes, va="top")
        ax.text(0.98, 0.95, "Underfitting", transform=ax.transAxes, va="top", ha="right")
        ax.legend(loc="center left")
        _common.save(fig, args.out, "knn.png")
    _common.summary(ks=ks, train_error=train_err, test_error=test_err, best_k=best)


if __name__ == "__main__":
    main()

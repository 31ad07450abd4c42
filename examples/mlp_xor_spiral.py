"""A multi-layer perceptron learning xor and a 2-D two-arm spiral, with the regions
that its hidden units carve drawn over the learned decision regions (seeds 000/004,
"3.4. Multi-Layer Perceptrons").

    python examples/mlp_xor_spiral.py [--fast] [--out DIR] [--seed S]

Each hidden unit ``h_j = sigma(w_j . x + b_j)`` splits the plane along the line
``w_j . x + b_j = 0``; the output layer combines these half-planes into a region that
no single line could give (xor needs two, the spiral many).
"""

from __future__ import annotations

import math

import _common


def xor_data(n, generator, torch):
    """Points around the four corners of the unit square, labelled by xor."""
    corners = torch.randint(0, 2, (n, 2), generator=generator)
    x = corners.float() + 0.15 * torch.randn(n, 2, generator=generator)
    return x, (corners[:, 0] ^ corners[:, 1]).long()


def spiral_data(n, generator, torch, turns=1.5):
    """Two interleaved spiral arms, one per class."""
    y = torch.randint(0, 2, (n,), generator=generator)
    t = torch.rand(n, generator=generator) * turns * 2 * math.pi + 0.5
    r = t / (turns * 2 * math.pi + 0.5)
    angle = t + math.pi * y.float()
    x = torch.stack([r * angle.cos(), r * angle.sin()], 1)
    return x + 0.02 * torch.randn(n, 2, generator=generator), y


def train(model, x, y, steps, lr, torch):
    """Full-batch Adam on the cross-entropy; returns the final training error."""
    import tapegrad.nn.functional as F

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return (model(x).argmax(1) != y).float().mean().item()


def draw(ax, model, x, y, box, torch):
    """Decision regions, hidden units' lines and training points."""
    xx, yy, points = _common.grid(*box, 200)
    with torch.no_grad():
        p = model(points).softmax(1)[:, 1].view(xx.shape).numpy()
    ax.imshow(p, extent=box, origin="lower", cmap="coolwarm", alpha=0.5, vmin=0, vmax=1)
    ax.contour(xx, yy, p, levels=[0.5], colors="k", linewidths=2)
    first = model[0]
    w, b = first.weight.detach().numpy(), first.bias.detach().numpy()
    # Line w0 x + w1 y + b = 0 of each hidden unit, clipped to the box.
    hidden = (w[:, 0:1] * xx.reshape(1, -1) + w[:, 1:2] * yy.reshape(1, -1) + b[:, None]) > 0
    for j in range(w.shape[0]):
        ax.contour(
            xx,
            yy,
            hidden[j].reshape(xx.shape).astype(float),
            levels=[0.5],
            colors="dimgray",
            linewidths=0.8,
            linestyles="--",
        )
    xy = x.numpy()
    ax.scatter(xy[:, 0], xy[:, 1], c=y.numpy(), cmap="coolwarm", edgecolors="k", s=12)
    ax.set_xlim(box[0], box[1])
    ax.set_ylim(box[2], box[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def main() -> None:
    args = _common.make_parser(__doc__.splitlines()[0]).parse_args()
    import tapegrad as torch
    from tapegrad import nn

    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    problems = []
    x, y = xor_data(200, gen, torch)
    # Two hidden units suffice for xor, but training them gets stuck in about one run
    # in four; with four units it does not.
    xor_net = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
    err = train(xor_net, x, y, 100 if args.fast else 500, 0.05, torch)
    problems.append(("xor, 4 tanh hidden units", xor_net, x, y, (-0.6, 1.6, -0.6, 1.6), err))
    x, y = spiral_data(300 if args.fast else 600, gen, torch)
    hidden = 16 if args.fast else 32
    spiral_net = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 2))
    err = train(spiral_net, x, y, 200 if args.fast else 3000, 0.02, torch)
    problems.append(
        (f"spiral, {hidden} ReLU hidden units", spiral_net, x, y, (-1.2, 1.2, -1.2, 1.2), err)
    )
    for title, _, _, _, _, err in problems:
        print(f"{title}: training error {100 * err:.1f}%")

    plt = _common.pyplot()
    if plt is not None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 5.2))
        for ax, (title, model, x, y, box, err) in zip(axes, problems):
            draw(ax, model, x, y, box, torch)
            ax.set_title(f"{title}\ntraining error {100 * err:.1f}%")
        fig.suptitle("MLP decision regions (color) and hidden units' boundaries (dashed)", y=1.03)
        _common.save(fig, args.out, "mlp_xor_spiral.png")
    _common.summary(xor_error=problems[0][5], spiral_error=problems[1][5])


if __name__ == "__main__":
    main()

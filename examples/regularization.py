"""Regularisation of an over-fitting MLP: no penalty, weight decay (L2), an L1
penalty, dropout, and early stopping, with training and validation curves (seeds
000/001, "Regularization": "constraints on weights (L1 or L2)", "dropout", "early
stopping monitors performance (loss) on validation set").

    python examples/regularization.py [--fast] [--out DIR] [--seed S]

A wide two-hidden-layer MLP is trained on 100 noisy 2-D points. Without regularisation
its training loss goes to zero while its validation loss rises after a few hundred
steps; each regulariser keeps the validation loss lower; early stopping keeps the
unregularised model of the step with the lowest validation loss.
"""

from __future__ import annotations

import _common
from knn import make_data


def make_model(nn, hidden, dropout=0.0):
    layers = [nn.Linear(2, hidden), nn.ReLU()]
    layers += [nn.Dropout(dropout)] if dropout else []
    layers += [nn.Linear(hidden, hidden), nn.ReLU()]
    layers += [nn.Dropout(dropout)] if dropout else []
    return nn.Sequential(*layers, nn.Linear(hidden, 2))


def run(model, data, steps, torch, weight_decay=0.0, l1=0.0):
    """Full-batch AdamW on the cross-entropy (+ ``l1 * sum |w|`` over the weight matrices),
    its ``weight_decay`` the decoupled L2 decay of the weights;
    returns the training and validation loss after each step."""
    import tapegrad.nn.functional as F

    (x, y), (vx, vy) = data
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=weight_decay)
    train_curve, val_curve = [], []
    for _ in range(steps):
        model.train()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        objective = loss
        if l1:
            weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
            objective = loss + l1 * sum(w.abs().sum() for w in weights)
        objective.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            train_curve.append(F.cross_entropy(model(x), y).item())
            val_curve.append(F.cross_entropy(model(vx), vy).item())
    return train_curve, val_curve


def main() -> None:
    args = _common.make_parser(__doc__.splitlines()[0]).parse_args()
    import tapegrad as torch
    from tapegrad import nn

    gen = torch.Generator().manual_seed(args.seed)
    data = (make_data(100, gen, torch, noise=0.1), make_data(1000, gen, torch, noise=0.1))
    steps, hidden = (60, 32) if args.fast else (600, 128)
    settings = {
        "none": {},
        "weight decay 1.0": {"weight_decay": 1.0},
        "L1 3e-4": {"l1": 3e-4},
        "dropout 0.5": {"dropout": 0.5},
    }
    curves = {}
    for name, options in settings.items():
        torch.manual_seed(args.seed)  # the same initial weights for every setting
        model = make_model(nn, hidden, options.pop("dropout", 0.0))
        curves[name] = run(model, data, steps, torch, **options)
    train_none, val_none = curves["none"]
    stop = min(range(steps), key=val_none.__getitem__)
    results = {}
    for name, (tr, va) in curves.items():
        results[name] = {"train": tr[-1], "val": va[-1], "best_val": min(va)}
        print(f"{name:18s} final train loss {tr[-1]:.3f}, final validation loss {va[-1]:.3f}")
    print(f"early stopping: step {stop + 1}, validation loss {val_none[stop]:.3f}")

    plt = _common.pyplot()
    if plt is not None:
        fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), sharey=True)
        colors = dict(zip(curves, ["C0", "C1", "C2", "C3"]))
        for name, (tr, va) in curves.items():
            axes[0].plot(range(1, steps + 1), tr, color=colors[name], label=name)
            axes[1].plot(range(1, steps + 1), va, color=colors[name], label=name)
        axes[1].axvline(stop + 1, color="k", ls=":", label=f"early stopping (step {stop + 1})")
        axes[1].plot(stop + 1, val_none[stop], "ko")
        axes[0].set_title("Training loss")
        axes[1].set_title("Validation loss")
        for ax in axes:
            ax.set_xscale("log")
            ax.set_xlabel("Step")
        axes[0].set_ylabel("Cross-entropy")
        axes[1].legend()
        fig.suptitle(f"An MLP 2-{hidden}-{hidden}-2 on 100 noisy points, full-batch AdamW")
        _common.save(fig, args.out, "regularization.png")
    _common.summary(results=results, early_stopping_step=stop + 1, steps=steps)


if __name__ == "__main__":
    main()

"""Autograd on the computation graph of seeds 000/001: ``a = x * y``, ``b = a + z``,
``c = sum(b)``, ``c.backward()``; then ``x.grad == y``, ``y.grad == x`` and
``z.grad`` is all ones.

    python examples/autograd_basics.py [--fast] [--out DIR] [--seed S]
"""

from __future__ import annotations

import _common


def graph_edges(fn, edges=None, seen=None):
    """The edges (parent, child) of the backward graph from ``fn``, by walking
    ``next_functions`` as PyTorch exposes them."""
    edges, seen = [] if edges is None else edges, set() if seen is None else seen
    if fn is None or id(fn) in seen:
        return edges
    seen.add(id(fn))
    for child, _ in fn.next_functions:
        if child is not None:
            edges.append((fn, child))
            graph_edges(child, edges, seen)
    return edges


def draw_graph(c, names, out) -> None:
    """The backward graph of ``c`` as boxes and arrows, leaves named."""
    plt = _common.pyplot()
    if plt is None:
        return
    edges = graph_edges(c.grad_fn)
    # Depth of each node from the output, for the layout.
    depth, order = {id(c.grad_fn): 0}, [c.grad_fn]
    for parent, child in edges:
        if id(child) not in depth:
            depth[id(child)] = depth[id(parent)] + 1
            order.append(child)
    rows: dict[int, list] = {}
    for fn in order:
        rows.setdefault(depth[id(fn)], []).append(fn)
    pos = {}
    for d, fns in rows.items():
        for i, fn in enumerate(fns):
            pos[id(fn)] = ((i + 1) / (len(fns) + 1), 1 - d / (len(rows)))
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for parent, child in edges:
        (x0, y0), (x1, y1) = pos[id(parent)], pos[id(child)]
        ax.annotate(
            "", (x1, y1 + 0.075), (x0, y0 - 0.04), arrowprops={"arrowstyle": "->"}, zorder=3
        )
    for fn in order:
        label = fn.name()
        var = getattr(fn, "variable", None)
        if var is not None:
            label += f"\n({names.get(id(var), 'leaf')}.grad)"
        ax.text(
            *pos[id(fn)],
            label,
            ha="center",
            va="center",
            fontsize=10,
            bbox={"boxstyle": "round", "fc": "lightyellow", "ec": "gray"},
        )
    ax.text(0.5, 1.08, "c = (x * y + z).sum(); c.backward()", ha="center", fontsize=12)
    ax.set_xlim(0, 1)
    ax.set_ylim(1 / len(rows) - 0.15, 1.13)
    ax.axis("off")
    ax.set_title("Backward graph: gradients flow from c down to the leaves", y=-0.05)
    _common.save(fig, out, "autograd_graph.png")


def main() -> None:
    args = _common.make_parser(__doc__.splitlines()[0]).parse_args()
    import tapegrad as torch

    torch.manual_seed(args.seed)
    N, D = 3, 4
    x = torch.randn(N, D, requires_grad=True)
    y = torch.randn(N, D, requires_grad=True)
    z = torch.randn(N, D, requires_grad=True)

    a = x * y
    b = a + z
    c = torch.sum(b)

    c.backward()

    print(x.grad)
    print(y.grad)
    print(z.grad)
    ok = bool(
        torch.equal(x.grad, y.detach())
        and torch.equal(y.grad, x.detach())
        and torch.equal(z.grad, torch.ones(N, D))
    )
    print("x.grad == y, y.grad == x, z.grad == 1:", ok)
    draw_graph(c, {id(x): "x", id(y): "y", id(z): "z"}, args.out)
    _common.summary(grads_ok=ok, c=c.item())


if __name__ == "__main__":
    main()

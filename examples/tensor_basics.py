"""Tensor basics and broadcasting: the interactive session of seed 004 ("1.4. Tensor
basics", "1.5. High dimension tensors", "Broadcasting"), run with tapegrad.

Each line of the session is echoed after ``>>>`` with its value, as in the Python
prompt; run with PyTorch the same session prints the same text (the tests check it).

    python examples/tensor_basics.py [--out DIR]
"""

from __future__ import annotations

import _common

# The seed's session, one statement a line. The seed draws its matrices with normal_;
# here they come from random_ and uniform_, whose values tapegrad reproduces exactly.
TENSOR_SESSION = """
x = torch.empty(2, 5)
x.size()
x.fill_(1.125)
x.mean()
x.std()
x.sum()
x.sum().item()
x = torch.tensor([[11., 12., 13.], [21., 22., 23.]])
x[1, 2]
x = torch.tensor([10., 20., 30.])
y = torch.tensor([11., 21., 31.])
x + y
x * y
x**2
m = torch.tensor([[0., 0., 3.], [0., 2., 0.], [1., 0., 0.]])
m.mv(x)
m @ x
_ = torch.manual_seed(0)
x = torch.empty(2, 4).random_(10)
x
x[0]
x[0, :]
x[:, 0]
x[:, 1:3] = -1
x
y = torch.empty(3).uniform_(-1, 1)
y
m = torch.empty(3, 3).uniform_(-1, 1)
q = torch.linalg.lstsq(m, y.view(-1, 1)).solution
(torch.mm(m, q) - y.view(-1, 1)).abs().max() < 1e-5
x = torch.zeros(1, 3)
x.dtype, x.device
x = x.long()
x.dtype, x.device
"""

VIEW_SESSION = """
x = torch.tensor([[1, 3, 0], [2, 4, 6]])
x.t()
x.view(-1)
x.view(3, -1)
x.narrow(1, 1, 2)
x.view(1, 2, 3).expand(3, 2, 3)
x = torch.tensor([[[1, 2, 1], [2, 1, 2]], [[3, 0, 3], [0, 3, 0]]])
x.narrow(0, 0, 1)
x.narrow(2, 0, 2)
x.transpose(0, 1)
x.transpose(0, 2)
x.transpose(1, 2)
"""

BROADCAST_SESSION = """
A = torch.tensor([[1.], [2.], [3.], [4.]])
B = torch.tensor([[5., -5., 5., -5., 5.]])
C = A + B
C
_ = torch.manual_seed(0)
x = torch.empty(100, 4).uniform_(1, 3)
x.mean(0)
x -= x.mean(0)
x.mean(0).abs().max() < 1e-6
"""

SESSIONS = {"tensors": TENSOR_SESSION, "views": VIEW_SESSION, "broadcasting": BROADCAST_SESSION}


def run_session(text: str, torch, echo=print) -> None:
    """Run ``text`` one line at a time with ``torch`` bound to the given library,
    echoing each line and the repr of each expression's value, like the prompt."""
    namespace = {"torch": torch}
    for line in text.strip().splitlines():
        echo(f">>> {line}")
        try:
            code = compile(line, "<session>", "eval")
        except SyntaxError:
            exec(compile(line, "<session>", "exec"), namespace)
            continue
        value = eval(code, namespace)
        if value is not None:
            echo(repr(value))


def broadcasting_figure(torch, out) -> None:
    """Seed 004's broadcasting picture: A (4x1) + B (1x5), both expanded, give C."""
    plt = _common.pyplot()
    if plt is None:
        return
    A = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    B = torch.tensor([[5.0, -5.0, 5.0, -5.0, 5.0]])
    panels = [
        ("A", A),
        ("B", B),
        ("A expanded", A.expand(4, 5)),
        ("B expanded", B.expand(4, 5)),
        ("C = A + B", A + B),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(16, 3.2))
    for ax, (title, t) in zip(axes, panels):
        a = t.numpy()
        ax.imshow(a, cmap="coolwarm", vmin=-10, vmax=10)
        for (i, j), v in __import__("numpy").ndenumerate(a):
            ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=11)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlim(-0.5, 4.5)
        ax.set_ylim(3.5, -0.5)
    fig.suptitle("Broadcasting: dimensions of size 1 are expanded by replicating coefficients")
    _common.save(fig, out, "tensor_broadcasting.png")


def main() -> None:
    args = _common.make_parser(__doc__.splitlines()[0]).parse_args()
    import tapegrad as torch

    torch.manual_seed(args.seed)
    for name, text in SESSIONS.items():
        print(f"# --- {name} ---")
        run_session(text, torch)
    broadcasting_figure(torch, args.out)


if __name__ == "__main__":
    main()

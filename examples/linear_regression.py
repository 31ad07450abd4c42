"""Linear regression of systolic blood pressure against age by least squares (seed 004,
"1.4. Tensor basics"): the seed's code with ``torch.linalg.lstsq`` in place of the
removed ``torch.gels``.

    python examples/linear_regression.py [--fast] [--out DIR]

The data is ``examples/data/systolic-blood-pressure-vs-age.dat``, a synthetic table made
for tapegrad in the layout of the seed's (one "age pressure" pair per line).
"""

from __future__ import annotations

import _common
import numpy

DATA = _common.EXAMPLES / "data" / "systolic-blood-pressure-vs-age.dat"


def main() -> None:
    args = _common.make_parser(__doc__.splitlines()[0]).parse_args()
    import tapegrad as torch
    from tapegrad.classic import least_squares

    # The seed's code, line for line.
    data = torch.tensor(numpy.loadtxt(DATA))
    nb_samples = data.size(0)

    x, y = torch.empty(nb_samples, 2), torch.empty(nb_samples, 1)

    x[:, 0] = data[:, 0]
    x[:, 1] = 1

    y[:, 0] = data[:, 1]

    alpha = torch.linalg.lstsq(x, y).solution

    a, b = alpha[0, 0].item(), alpha[1, 0].item()
    print(f"pressure ~ {a:.3f} * age + {b:.2f}  ({nb_samples} samples)")
    # The same with tapegrad.classic, and the mean square error of the fit.
    a2, b2 = least_squares(x, y.view(-1)).tolist()
    mse = ((x @ alpha - y) ** 2).mean().item()
    print(f"tapegrad.classic.least_squares: a = {a2:.3f}, b = {b2:.2f}; MSE = {mse:.1f}")

    plt = _common.pyplot()
    if plt is not None:
        fig, ax = plt.subplots(figsize=(6, 4.5))
        ages = data[:, 0].numpy()
        ax.scatter(ages, data[:, 1].numpy(), s=18, label="data")
        xs = numpy.array([ages.min() - 2, ages.max() + 2])
        ax.plot(xs, a * xs + b, "r", label=f"least squares: {a:.2f} age + {b:.1f}")
        ax.set_xlabel("Age (years)")
        ax.set_ylabel("Systolic blood pressure (mmHg)")
        ax.set_title("Linear regression by least squares")
        ax.legend()
        _common.save(fig, args.out, "linear_regression.png")
    _common.summary(a=a, b=b, mse=mse, n=nb_samples)


if __name__ == "__main__":
    main()

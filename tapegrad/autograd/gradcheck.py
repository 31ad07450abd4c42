"""Gradient checks by central finite differences (``torch.autograd.gradcheck``)."""

from __future__ import annotations

import numpy as np


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients differ."""


def _flatten_outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _tensor_outputs(out):
    from .._tensor import Tensor

    return [o for o in _flatten_outputs(out) if isinstance(o, Tensor)]


def gradcheck(
    func,
    inputs,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad=True,
    fast_mode: bool = False,
    **_ignored,
) -> bool:
    """Compare autograd's Jacobian with central differences, in the inputs' dtype.

    Inputs that require grad should be float64. Every output element is
    back-propagated in turn (vector-Jacobian products with unit vectors).
    """
    from .._tensor import Tensor
    from . import grad as autograd_grad
    from .grad_mode import no_grad

    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient")
    for i in diff:
        if inputs[i].dtype.itemsize < 8:
            import warnings

            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point. "
                "This check will likely fail if all the inputs are not of double precision "
                "floating point.",
                UserWarning,
                stacklevel=2,
            )

    outputs = [o for o in _flatten_outputs(func(*inputs)) if isinstance(o, Tensor)]
    diff_outputs = [o for o in outputs if o.requires_grad]

    def numerical(out_idx):
        jac = {}
        for i in diff:
            x = inputs[i]
            data = x._data
            j = np.zeros((x.numel(), outputs[out_idx].numel()))
            # element by element in C order, which also works for non-contiguous inputs
            for k, pos in enumerate(np.ndindex(*data.shape)):
                orig = data[pos].item()
                data[pos] = orig + eps
                with no_grad():
                    plus = (
                        _tensor_outputs(func(*inputs))[out_idx]
                        ._data.astype(np.float64)
                        .reshape(-1)
                        .copy()
                    )
                data[pos] = orig - eps
                with no_grad():
                    minus = (
                        _tensor_outputs(func(*inputs))[out_idx]
                        ._data.astype(np.float64)
                        .reshape(-1)
                        .copy()
                    )
                data[pos] = orig
                j[k] = (plus - minus) / (2 * eps)
            jac[i] = j
        return jac

    for oi, out in enumerate(outputs):
        if not out.requires_grad:
            continue
        num = numerical(oi)
        ana = {i: np.zeros((inputs[i].numel(), out.numel())) for i in diff}
        for k in range(out.numel()):
            go = np.zeros(out.numel(), dtype=out._data.dtype)
            go[k] = 1
            outs = [o for o in _flatten_outputs(func(*inputs)) if isinstance(o, Tensor)]
            grads = autograd_grad(
                outs[oi],
                [inputs[i] for i in diff],
                grad_outputs=Tensor._make(go.reshape(out._data.shape)),
                allow_unused=True,
            )
            for i, g in zip(diff, grads):
                if g is not None:
                    ana[i][:, k] = g._data.reshape(-1)
        for i in diff:
            if not np.allclose(ana[i], num[i], rtol=rtol, atol=atol):
                msg = (
                    f"Jacobian mismatch for output {oi} with respect to input {i},\n"
                    f"numerical:{num[i]}\nanalytical:{ana[i]}\n"
                )
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    del diff_outputs
    return True


def gradgradcheck(
    func,
    inputs,
    grad_outputs=None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    gen_non_contig_grad_outputs: bool = False,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_fwd_over_rev: bool = False,
    check_rev_over_rev: bool = True,
    fast_mode: bool = False,
    masked: bool = False,
) -> bool:
    """Check second derivatives by finite differences of the gradient (``gradgradcheck``).

    The gradient of ``func`` with respect to its inputs, taken with ``create_graph=True``
    under random upstream gradients (which themselves require grad), is a function of
    the inputs and of those upstream gradients; ``gradcheck`` then checks its Jacobian.
    """
    from .._tensor import Tensor
    from . import grad as autograd_grad

    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    outputs = _tensor_outputs(func(*inputs))
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    diff_outputs = [o for o in outputs if o.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = []
        for o in diff_outputs:
            a = rng.standard_normal(o._data.shape).astype(o._data.dtype)
            if gen_non_contig_grad_outputs and a.ndim >= 1:
                a = np.repeat(a[..., None], 2, axis=-1)[..., 0]
            grad_outputs.append(Tensor._make(a).requires_grad_(True))
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    grad_outputs = tuple(grad_outputs)
    n_in = len(inputs)

    def new_func(*args):
        xs, gos = args[:n_in], args[n_in:]
        outs = [o for o in _tensor_outputs(func(*xs)) if o.requires_grad]
        diff_in = [xs[i] for i in diff]
        grads = autograd_grad(outs, diff_in, gos, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(
        new_func,
        inputs + grad_outputs,
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
        nondet_tol=nondet_tol,
        check_undefined_grad=check_undefined_grad,
        fast_mode=fast_mode,
    )

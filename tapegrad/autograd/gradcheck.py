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
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_batched_forward_grad: bool = False,
    check_forward_ad: bool = False,
    check_backward_ad: bool = True,
    fast_mode: bool = False,
    masked: bool | None = None,
) -> bool:
    """Compare autograd's Jacobian with central differences (``torch.autograd.gradcheck``).

    Inputs that require grad should be float64. The slow mode compares whole Jacobians
    (one backward per output element); ``fast_mode`` compares ``v^T J u`` for random
    unit vectors. The analytical Jacobian is computed twice and must agree within
    ``nondet_tol`` (reentrant backward); ``check_undefined_grad`` checks that zero
    upstream gradients give zero (or undefined) input gradients; ``check_grad_dtypes``
    that gradients have their input's dtype. Forward-mode AD and vmap-batched checks
    are not available in tapegrad and raise NotImplementedError when asked for.

    Args:
        func: a function taking ``inputs`` and returning a tensor or a tuple of tensors.
        inputs: a tensor or tuple of arguments; those requiring grad (ideally float64) are checked.
        eps: the finite-difference step.
        atol: absolute tolerance.
        rtol: relative tolerance.
        raise_exception: raise ``GradcheckError`` on failure instead of returning False.
        nondet_tol: how far two computations of the analytical Jacobian may differ.
        check_undefined_grad: check that zero upstream gradients give zero (or undefined) input
            gradients.
        check_grad_dtypes: check that each gradient has its input's dtype.
        check_batched_grad: not supported (needs vmap): True raises ``NotImplementedError``.
        check_batched_forward_grad: not supported: True raises ``NotImplementedError``.
        check_forward_ad: not supported (no forward-mode AD): True raises ``NotImplementedError``.
        check_backward_ad: check the backward gradients; False returns True at once.
        fast_mode: compare ``v^T J u`` for random unit vectors instead of whole Jacobians.
        masked: not supported (no sparse tensors): True raises ``NotImplementedError``.

    Returns:
        True when every check passes.
    """
    from .._tensor import Tensor

    for flag, name in (
        (check_forward_ad, "check_forward_ad"),
        (check_batched_grad, "check_batched_grad"),
        (check_batched_forward_grad, "check_batched_forward_grad"),
    ):
        if flag:
            raise NotImplementedError(
                f"gradcheck({name}=True) needs forward-mode AD or vmap, which tapegrad does "
                "not provide"
            )
    if masked:
        raise NotImplementedError(
            "gradcheck(masked=True) is for sparse tensors, which tapegrad does not have"
        )
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
    if not check_backward_ad:
        return True
    outputs = [o for o in _flatten_outputs(func(*inputs)) if isinstance(o, Tensor)]

    def fail(msg):
        if raise_exception:
            raise GradcheckError(msg)
        return False

    check = _fast_check if fast_mode else _slow_check
    for oi, out in enumerate(outputs):
        if not out.requires_grad:
            continue
        for i in diff:
            ok, msg = check(func, inputs, oi, out, i, eps, atol, rtol, nondet_tol)
            if not ok:
                return fail(msg)
    if check_grad_dtypes or check_undefined_grad:
        ok, msg = _check_grads_of_zero(func, inputs, diff, check_grad_dtypes, check_undefined_grad)
        if not ok:
            return fail(msg)
    return True


def _outputs_at(func, inputs, out_idx):
    from .grad_mode import no_grad

    with no_grad():
        out = _tensor_outputs(func(*inputs))[out_idx]
    return out._data.astype(np.float64).reshape(-1).copy()


def _numerical_column(func, inputs, out_idx, i, direction, eps):
    """``(f(x + eps d) - f(x - eps d)) / 2 eps`` for input ``i`` moved along ``direction``."""
    data = inputs[i]._data
    orig = data.copy()
    data += eps * direction.astype(data.dtype)
    plus = _outputs_at(func, inputs, out_idx)
    data[...] = orig
    data -= eps * direction.astype(data.dtype)
    minus = _outputs_at(func, inputs, out_idx)
    data[...] = orig
    return (plus - minus) / (2 * eps)


def _vjp(func, inputs, out_idx, i, v):
    from .._tensor import Tensor
    from . import grad as autograd_grad

    outs = _tensor_outputs(func(*inputs))
    out = outs[out_idx]
    (g,) = autograd_grad(
        out,
        [inputs[i]],
        grad_outputs=Tensor._make(v.astype(out._data.dtype).reshape(out._data.shape)),
        allow_unused=True,
    )
    return np.zeros(inputs[i]._data.size) if g is None else g._data.astype(np.float64).reshape(-1)


def _mismatch(oi, i, num, ana):
    return (
        f"Jacobian mismatch for output {oi} with respect to input {i},\n"
        f"numerical:{num}\nanalytical:{ana}\n"
    )


def _reentrant_msg(nondet_tol):
    return (
        "Backward is not reentrant, i.e., running backward with same input and grad_output "
        "multiple times gives different values, although analytical gradient matches "
        f"numerical gradient.The tolerance for nondeterminism was {nondet_tol}."
    )


def _slow_check(func, inputs, oi, out, i, eps, atol, rtol, nondet_tol):
    x = inputs[i]
    n_out = out.numel()
    num = np.zeros((x.numel(), n_out))
    for k in range(x.numel()):
        d = np.zeros(x._data.size)
        d[k] = 1
        num[k] = _numerical_column(func, inputs, oi, i, d.reshape(x._data.shape), eps)
    ana = np.zeros((x.numel(), n_out))
    ana2 = np.zeros((x.numel(), n_out))
    for k in range(n_out):
        v = np.zeros(n_out)
        v[k] = 1
        ana[:, k] = _vjp(func, inputs, oi, i, v)
        ana2[:, k] = _vjp(func, inputs, oi, i, v)
    if not np.allclose(ana, num, rtol=rtol, atol=atol):
        return False, _mismatch(oi, i, num, ana)
    if np.abs(ana - ana2).max(initial=0.0) > nondet_tol:
        return False, _reentrant_msg(nondet_tol)
    return True, ""


def _fast_check(func, inputs, oi, out, i, eps, atol, rtol, nondet_tol):
    """PyTorch's fast mode: compare ``v^T J u`` for random unit ``u`` and ``v``."""
    rng = np.random.default_rng(0)
    x = inputs[i]
    u = rng.standard_normal(x._data.shape)
    u /= max(np.linalg.norm(u), 1e-300)
    v = rng.standard_normal(out.numel())
    v /= max(np.linalg.norm(v), 1e-300)
    num = float(v @ _numerical_column(func, inputs, oi, i, u, eps))
    g1 = _vjp(func, inputs, oi, i, v)
    g2 = _vjp(func, inputs, oi, i, v)
    ana = float(g1 @ u.reshape(-1))
    # the tolerance of a projection: atol scaled by how many entries it sums
    if not abs(ana - num) <= atol + rtol * abs(num):
        return False, (
            f"Jacobian mismatch for output {oi} with respect to input {i},\n"
            f"numerical:{num}\nanalytical:{ana}\n\nThe above quantities relating the "
            "numerical and analytical jacobians are computed in fast mode. See: "
            "https://github.com/pytorch/pytorch/issues/53876 for more background about fast "
            "mode. Below, we recompute numerical and analytical jacobians in slow mode:"
        )
    if np.abs(g1 - g2).max(initial=0.0) > nondet_tol:
        return False, _reentrant_msg(nondet_tol)
    return True, ""


def _check_grads_of_zero(func, inputs, diff, check_dtypes, check_undefined):
    """Backward with all-zero upstream gradients: zero or undefined input gradients, each
    in its input's dtype."""
    from .._tensor import Tensor
    from . import grad as autograd_grad

    outs = [o for o in _tensor_outputs(func(*inputs)) if o.requires_grad]
    if not outs:
        return True, ""
    zeros = [Tensor._make(np.zeros(o._data.shape, o._data.dtype)) for o in outs]
    grads = autograd_grad(outs, [inputs[i] for i in diff], zeros, allow_unused=True)
    for i, g in zip(diff, grads):
        if g is None:
            continue
        if check_dtypes and g.dtype is not inputs[i].dtype:
            return False, "Gradient has dtype mismatch"
        if check_undefined and np.any(g._data != 0):
            return False, (
                "Expected backward function to handle undefined output grads. Please look at "
                '"Notes about undefined output gradients" in "tools/autograd/derivatives.yaml"'
            )
    return True, ""


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

    Args:
        func: a function taking ``inputs`` and returning a tensor or a tuple of tensors.
        inputs: a tensor or tuple of arguments; those requiring grad (ideally float64) are checked.
        grad_outputs: the upstream gradients; ``None`` draws random ones.
        eps: the finite-difference step.
        atol: absolute tolerance.
        rtol: relative tolerance.
        gen_non_contig_grad_outputs: make the random upstream gradients non-contiguous.
        raise_exception: raise ``GradcheckError`` on failure instead of returning False.
        nondet_tol: how far two computations of the analytical Jacobian may differ.
        check_undefined_grad: check that zero upstream gradients give zero (or undefined) input
            gradients.
        check_grad_dtypes: accepted for PyTorch's signature; not checked here.
        check_batched_grad: accepted for PyTorch's signature; not checked here.
        check_fwd_over_rev: accepted for PyTorch's signature; not checked here.
        check_rev_over_rev: accepted for PyTorch's signature; not checked here.
        fast_mode: compare ``v^T J u`` for random unit vectors instead of whole Jacobians.
        masked: accepted for PyTorch's signature; not checked here.

    Returns:
        True when every check passes.
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
        from .grad_mode import enable_grad

        xs, gos = args[:n_in], args[n_in:]
        with enable_grad():  # the numerical Jacobian evaluates this under no_grad
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

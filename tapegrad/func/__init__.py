"""Function transforms over tensors (``torch.func``): ``grad``, ``grad_and_value``,
``vjp``, ``jvp``, ``jacrev``, ``jacfwd``, ``hessian``, ``functional_call`` and ``vmap``.

They are built on tapegrad's tape: each transform runs the function on inputs that
require grad and differentiates with ``create_graph=True``, so transforms nest
(``grad(grad(f))`` is the second derivative). Results are detached unless an
enclosing transform (or the caller) is differentiating through them. ``vmap`` batches
primitives through batching rules (``_batched.py``, ``_vmap.py``); a differentiating
transform called inside a vmapped function runs once per sample.
"""

from __future__ import annotations

import contextlib
import functools

from .._tensor import Tensor
from ..autograd import grad as _autograd_grad
from ..autograd.grad_mode import enable_grad
from ._batched import check_transform, grad_level, is_batched_at, make_batched, per_sample_physical
from ._vmap import vmap

__all__ = [
    "grad",
    "grad_and_value",
    "vjp",
    "jvp",
    "jacrev",
    "jacfwd",
    "hessian",
    "functional_call",
    "vmap",
]


def _tree_map(fn, tree):
    if isinstance(tree, tuple):
        return tuple(_tree_map(fn, t) for t in tree)
    if isinstance(tree, list):
        return [_tree_map(fn, t) for t in tree]
    if isinstance(tree, dict):
        return {k: _tree_map(fn, v) for k, v in tree.items()}
    return fn(tree)


def _leaves(tree) -> list:
    out = []
    _tree_map(lambda t: out.append(t), tree)
    return out


def _track(x):
    """An input that this transform differentiates with respect to: connected to an
    enclosing transform's graph when ``x`` already requires grad, a fresh leaf otherwise."""
    if not isinstance(x, Tensor):
        return x
    return x.view_as(x) if x.requires_grad else x.detach().requires_grad_(True)


def _nested(args) -> bool:
    return any(isinstance(t, Tensor) and t.requires_grad for t in _leaves(args))


def _finish(tree, keep_graph: bool):
    return (
        tree
        if keep_graph
        else _tree_map(lambda t: t.detach() if isinstance(t, Tensor) else t, tree)
    )


def _grads_or_zeros(outputs, cotangents, inputs, retain_graph=None) -> list:
    """``autograd.grad`` (with ``create_graph``) of the outputs that require grad, under
    their cotangents; zeros where an input is not reached."""
    from ..ops.creation import zeros_like

    pairs = [(o, c) for o, c in zip(outputs, cotangents) if o.requires_grad]
    gs = [None] * len(inputs)
    if pairs:
        gs = _autograd_grad(
            [o for o, _ in pairs],
            list(inputs),
            [c for _, c in pairs],
            retain_graph=retain_graph,
            create_graph=True,
            allow_unused=True,
        )
    return [zeros_like(x) if g is None else g for g, x in zip(gs, inputs)]


def _track_batched(x, level):
    """``_track`` inside a vmap: the input as per-sample copies (batched), so that one
    backward of the batched output gives every sample's gradient."""
    if not isinstance(x, Tensor):
        return x
    return make_batched(_track(per_sample_physical(x, level)), level.index)


def _batched_grads(out, inputs, level) -> list:
    """Per-sample gradients of a batched scalar: the samples are independent in the
    physical computation, so the gradient of their sum holds each sample's own."""
    from ..ops.creation import ones_like

    if not (is_batched_at(out, level.index) and out.requires_grad):
        return [None] * len(inputs)  # the output does not depend on the inputs
    phys = out._value
    gs = _autograd_grad(
        phys, [t._value for t in inputs], ones_like(phys), create_graph=True, allow_unused=True
    )
    return [None if g is None else make_batched(g, level.index) for g in gs]


def _check_argnums(argnums, nargs: int, who: str):
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    if not nums:
        raise RuntimeError(f"{who}: Expected argnums to be a non-empty tuple of ints")
    for n in nums:
        if not isinstance(n, int):
            raise RuntimeError(f"{who}: Got argnums={argnums}, expected an int or tuple of ints")
        if not -nargs <= n < nargs:
            raise RuntimeError(f"Got argnum={n}, but only {nargs} positional inputs")
    return tuple(n % nargs for n in nums)


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """``(gradient, value)`` of a scalar function (``torch.func.grad_and_value``).

    Args:
        func: a function returning a one-element tensor.
        argnums: index, or tuple of indices, of the positional arguments to differentiate with
            respect to.
        has_aux: whether ``func`` returns ``(output, aux)``; ``aux`` is passed through
            undifferentiated.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _check_argnums(argnums, len(args), "grad_and_value(f)(*args)")
        level = grad_level("grad")
        keep = _nested(args)
        with enable_grad():
            args = list(args)
            for n in nums:
                args[n] = _tree_map(
                    _track if level is None else functools.partial(_track_batched, level=level),
                    args[n],
                )
            out = func(*args, **kwargs)
            aux = None
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError(
                        "grad_and_value(f)(*args): output of function f should be a tuple: "
                        "(output, aux) if has_aux is True"
                    )
                out, aux = out
            if not isinstance(out, Tensor):
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                    f"{type(out)}"
                )
            if out.dim() != 0:
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, "
                    f"got tensor with {out.dim()} dims. Maybe you wanted to use the vjp or "
                    "jacrev APIs instead?"
                )
            diff = [args[n] for n in nums]
            flat = [_leaves(d) for d in diff]
            inputs = [t for f in flat for t in f if isinstance(t, Tensor)]
            if level is not None:
                gs = _batched_grads(out, inputs, level)
            elif out.requires_grad:
                gs = list(_autograd_grad(out, inputs, create_graph=True, allow_unused=True))
            else:
                gs = [None] * len(inputs)
            from ..ops.creation import zeros_like

            gs = [zeros_like(x) if g is None else g for g, x in zip(gs, inputs)]
            it = iter(gs)
            grads = tuple(
                _tree_map(lambda t: next(it) if isinstance(t, Tensor) else t, d) for d in diff
            )
        grads = grads if isinstance(argnums, tuple) else grads[0]
        value = (out, aux) if has_aux else out
        return _finish(grads, keep), _finish(value, keep)

    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """The gradient of a scalar function as a function (``torch.func.grad``).

    Args:
        func: a function returning a one-element tensor.
        argnums: index, or tuple of indices, of the positional arguments to differentiate with
            respect to.
        has_aux: whether ``func`` returns ``(output, aux)``; ``aux`` is passed through
            undifferentiated.

    Example: ``grad(lambda x: (x ** 3).sum())(x)`` is ``3 * x ** 2``, and
    ``grad(grad(torch.sin))(x)`` is ``-sin(x)``.
    """
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(func, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn)`` (``torch.func.vjp``); ``vjp_fn(cotangents)`` returns one
    gradient per primal, as a tuple.

    Args:
        func: the function to transform; it takes and returns tensors.
        primals: the positional arguments ``func`` is called with (tensors or nested
            tuples/lists/dicts of tensors).
        has_aux: whether ``func`` returns ``(output, aux)``; ``aux`` is passed through
            undifferentiated.
    """
    check_transform("vjp")
    keep = _nested(primals)
    with enable_grad():
        tracked = tuple(_tree_map(_track, p) for p in primals)
        out = func(*tracked)
        aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise RuntimeError(
                    "vjp(f, *primals): output of function f should be a tuple: (output, aux) "
                    "if has_aux is True"
                )
            out, aux = out
    outs = _leaves(out)
    for o in outs:
        if not isinstance(o, Tensor):
            raise RuntimeError(
                "vjp(f, *primals): Expected f to be a function that has non-empty output and "
                f"returns a Tensor or a tuple of Tensors, got {type(o)}"
            )
    inputs = [t for p in tracked for t in _leaves(p) if isinstance(t, Tensor)]

    def vjp_fn(cotangents, retain_graph: bool = True, create_graph: bool | None = None):
        from ..ops.creation import zeros_like

        cots = _leaves(cotangents)
        if len(cots) != len(outs):
            raise RuntimeError(
                "Expected pytree structure of cotangents to be the same as pytree structure "
                f"of outputs to the function: {len(cots)} cotangents for {len(outs)} outputs"
            )
        for c, o in zip(cots, outs):
            if tuple(c.shape) != tuple(o.shape):
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of {c.shape} and "
                    f"output[0] has a shape of {o.shape}."
                )
        cg = keep or _nested(cotangents) if create_graph is None else create_graph
        with enable_grad():
            gs = _grads_or_zeros(outs, cots, inputs, retain_graph=retain_graph)
        it = iter(gs)
        res = tuple(
            _tree_map(lambda t: next(it) if isinstance(t, Tensor) else t, p) for p in tracked
        )
        return _finish(res, cg)

    result = _finish(out, keep)
    if has_aux:
        return result, vjp_fn, _finish(aux, keep)
    return result, vjp_fn


def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """``(func(*primals), J @ tangents)`` (``torch.func.jvp``), by the double-backward trick.

    Args:
        func: the function to transform; it takes and returns tensors.
        primals: tuple of the positional arguments of ``func``.
        tangents: tuple of tangents, one per primal, of the same shapes.
        strict: accepted for PyTorch's signature; unused.
        has_aux: whether ``func`` returns ``(output, aux)``; ``aux`` is passed through
            undifferentiated.
    """
    from ..ops.creation import zeros_like

    check_transform("jvp")
    if not isinstance(primals, tuple):
        raise RuntimeError(
            "jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it should be "
            "valid to call f(*primals)."
        )
    if not isinstance(tangents, tuple) or len(tangents) != len(primals):
        raise RuntimeError(
            "jvp(f, primals, tangents): Expected primals and tangents to have the same python "
            f"structure. For example, if primals is a tuple of 3 tensors, tangents also must be. "
            f"Got primals with structure {len(primals)} and tangents with structure "
            f"{len(tangents) if isinstance(tangents, tuple) else type(tangents)}"
        )
    for p, t in zip(_leaves(primals), _leaves(tangents)):
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError(
                "jvp(f, primals, tangents): Expected primals and tangents to have the same "
                f"shape; got {tuple(p.shape)} and {tuple(t.shape)}"
            )
    keep = _nested(primals) or _nested(tangents)
    with enable_grad():
        out, vjp_fn, *aux = vjp(func, *primals, has_aux=has_aux)
        outs = _leaves(out)
        us = [zeros_like(o).requires_grad_(True) for o in outs]
        it = iter(us)
        cot = _tree_map(lambda t: next(it), out)
        grads = vjp_fn(cot, create_graph=True)
        gflat = [g for g in _leaves(grads)]
        tflat = _leaves(tangents)
        res = _grads_or_zeros(gflat, tflat, us)
        it = iter(res)
        jv = _tree_map(lambda t: next(it), out)
    # out from vjp is detached when not nested; keep structure
    result = (out, _finish(jv, keep))
    if has_aux:
        return (*result, aux[0])
    return result


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None, _preallocate_and_copy=False):
    """The Jacobian by reverse mode, as a function (``torch.func.jacrev``): entries of shape
    ``output.shape + input.shape``, one vector-Jacobian product per output element.

    Args:
        func: the function to transform; it takes and returns tensors.
        argnums: index, or tuple of indices, of the positional arguments to differentiate with
            respect to.
        has_aux: whether ``func`` returns ``(output, aux)``; ``aux`` is passed through
            undifferentiated.
        chunk_size: accepted for PyTorch's signature (must be a positive int or ``None``); rows are
            computed one at a time anyway.
    """
    from ..ops.creation import zeros
    from ..ops.shape import stack

    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _check_argnums(argnums, len(args), "jacrev(f)(*args)")
        check_transform("jacrev")
        keep = _nested(args)
        with enable_grad():
            args = list(args)
            for n in nums:
                args[n] = _tree_map(_track, args[n])
            out = func(*args, **kwargs)
            aux = None
            if has_aux:
                out, aux = out
            inputs = [args[n] for n in nums]
            flat_in = [t for d in inputs for t in _leaves(d)]

            def jac_of(o):
                rows = []
                flat = o.reshape(-1)
                for j in range(o.numel()):
                    if flat.requires_grad:
                        gs = _autograd_grad(
                            flat[j],
                            flat_in,
                            retain_graph=True,
                            create_graph=True,
                            allow_unused=True,
                        )
                    else:
                        gs = [None] * len(flat_in)
                    rows.append(
                        [
                            zeros(tuple(x.shape), dtype=x.dtype) if g is None else g
                            for g, x in zip(gs, flat_in)
                        ]
                    )
                per_in = []
                for k, x in enumerate(flat_in):
                    if rows:
                        j = stack([r[k] for r in rows], 0)
                    else:
                        j = zeros((0, *x.shape), dtype=x.dtype)
                    per_in.append(j.reshape(tuple(o.shape) + tuple(x.shape)))
                it = iter(per_in)
                structured = tuple(_tree_map(lambda t: next(it), d) for d in inputs)
                return structured if isinstance(argnums, tuple) else structured[0]

            jac = _tree_map(jac_of, out)
        jac = _finish(jac, keep)
        return (jac, _finish(aux, keep)) if has_aux else jac

    return wrapper


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The Jacobian by forward mode, as a function (``torch.func.jacfwd``).

    One Jacobian-vector product (``jvp``) per input element, against the basis vectors;
    the result has ``jacrev``'s structure: for each output, entries of shape
    ``output.shape + input.shape`` (a tuple over inputs when ``argnums`` is a tuple).

    Args:
        func: the function to differentiate.
        argnums: which positional argument(s) to differentiate with respect to.
        has_aux: ``func`` returns ``(output, aux)``; ``aux`` is returned as is.
        randomness: as in ``vmap``, for random operations in ``func`` (which runs once per
            input element): "error" raises, "same" replays the same numbers for every
            element, "different" lets each draw its own.

    Returns:
        A function returning the Jacobian (and ``aux`` when ``has_aux``).

    Raises:
        RuntimeError: bad ``argnums`` or ``randomness``; a random operation in "error" mode.
    """
    from .. import _random
    from ..ops.creation import eye, zeros
    from ..ops.shape import stack
    from ._batched import pop_level, push_level
    from ._vmap import _RANDOMNESS

    if randomness not in _RANDOMNESS:
        raise RuntimeError(
            "Only allowed values for randomness are 'error', 'different', or 'same'. Got "
            f"{randomness}"
        )

    @functools.wraps(func)
    def wrapper(*args):
        nums = _check_argnums(argnums, len(args), "jacfwd(f)(*args)")
        check_transform("jacfwd")
        diff = tuple(args[n] for n in nums)
        flat_in = [t for d in diff for t in _leaves(d)]

        def partial(*primals):
            full = list(args)
            for n, p in zip(nums, primals):
                full[n] = p
            return func(*full)

        # a level that batches nothing: it applies the randomness mode to the columns
        level = push_level(sum(x.numel() for x in flat_in), randomness)
        level.active = False
        gen = _random.default_generator
        state = gen.get_state() if randomness == "same" else None
        try:
            columns = [[] for _ in flat_in]
            out = aux = None
            for k, x in enumerate(flat_in):
                basis = eye(x.numel(), dtype=x.dtype)
                for j in range(x.numel()):
                    if state is not None:
                        gen.set_state(state)
                    tans = [
                        basis[j].reshape(tuple(x.shape)) if i == k else t.detach() * 0
                        for i, t in enumerate(flat_in)
                    ]
                    it = iter(tans)
                    tangents = tuple(_tree_map(lambda _, it=it: next(it), d) for d in diff)
                    res = jvp(partial, diff, tangents, has_aux=has_aux)
                    out, jv = res[0], res[1]
                    aux = res[2] if has_aux else None
                    columns[k].append(_leaves(jv))
            if out is None:  # no input elements: the outputs' shapes still come from func
                res = func(*args)
                out, aux = res if has_aux else (res, None)
        finally:
            pop_level(level)
        outs = _leaves(out)

        def jac_of(oi, o):
            per_in = []
            for k, x in enumerate(flat_in):
                shape = tuple(o.shape) + tuple(x.shape)
                if columns[k]:
                    j = stack([col[oi] for col in columns[k]], -1).reshape(shape)
                else:
                    j = zeros(shape, dtype=o.dtype)
                per_in.append(j)
            it = iter(per_in)
            structured = tuple(_tree_map(lambda _: next(it), d) for d in diff)
            return structured if isinstance(argnums, tuple) else structured[0]

        counter = iter(range(len(outs)))
        jac = _tree_map(lambda o: jac_of(next(counter), o), out)
        return (jac, aux) if has_aux else jac

    return wrapper


def hessian(func, argnums=0):
    """The Hessian of a scalar function, as a function (``torch.func.hessian``):
    the Jacobian of the gradient, both by reverse mode here.

    Args:
        func: a function returning a one-element tensor.
        argnums: index, or tuple of indices, of the positional arguments to differentiate with
            respect to.
    """
    return jacrev(jacrev(func, argnums), argnums)


@contextlib.contextmanager
def _swapped(module, tensors: dict, strict: bool):
    names = {n for n, _ in module.named_parameters(remove_duplicate=False)}
    names |= {n for n, _ in module.named_buffers(remove_duplicate=False)}
    if strict:
        missing = sorted(names - set(tensors))
        unexpected = sorted(set(tensors) - names)
        if missing or unexpected:
            parts = []
            if unexpected:
                parts.append(f"Unexpected key(s): {', '.join(repr(k) for k in unexpected)}.")
            if missing:
                parts.append(f"Missing key(s): {', '.join(repr(k) for k in missing)}.")
            raise RuntimeError(
                f"Error(s) in reparametrizing for {type(module).__name__}:\n\t" + "\n\t".join(parts)
            )
    saved = []
    try:
        for name, value in tensors.items():
            owner = module
            *path, leaf = name.split(".")
            for p in path:
                owner = getattr(owner, p)
            for store in ("_parameters", "_buffers"):
                d = owner.__dict__[store]
                if leaf in d:
                    saved.append((d, leaf, d[leaf]))
                    d[leaf] = value
                    break
            else:
                saved.append((owner.__dict__, leaf, owner.__dict__.get(leaf, _MISSING)))
                owner.__dict__[leaf] = value
        yield
    finally:
        for d, leaf, old in reversed(saved):
            if old is _MISSING:
                d.pop(leaf, None)
            else:
                d[leaf] = old


_MISSING = object()


def functional_call(
    module,
    parameter_and_buffer_dicts,
    args=None,
    kwargs=None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
):
    """Call ``module`` with its parameters and buffers replaced by the given tensors
    (``torch.func.functional_call``); the module is unchanged afterwards.

    Args:
        module: the ``nn.Module`` to call.
        parameter_and_buffer_dicts: a dict (or tuple of dicts) from dotted names to the tensors used
            in place of the module's parameters and buffers.
        args: positional arguments for the call: a tuple, or a single argument.
        kwargs: keyword arguments for the call, or ``None``.
        tie_weights: accepted for PyTorch's signature; unused.
        strict: raise if the given names do not match the module's parameters and buffers exactly.
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        tensors = dict(parameter_and_buffer_dicts)
    else:
        tensors = {}
        for d in parameter_and_buffer_dicts:
            for k, v in d.items():
                if k in tensors:
                    raise ValueError(
                        f"{k} appeared in multiple dictionaries; behavior of functional call is "
                        "ambiguous"
                    )
                tensors[k] = v
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _swapped(module, tensors, strict):
        return module(*args, **(kwargs or {}))

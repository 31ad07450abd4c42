"""``vmap``: the vectorizing map of ``torch.func``, with its in/out dims, randomness
modes, chunking and PyTorch's errors. The batched execution lives in ``_batched.py``;
this file prepares the inputs, undoes the batching of the outputs and runs the
sample-by-sample loop when the batched execution asks for it.
"""

from __future__ import annotations

import functools

from .. import _random
from .._tensor import Tensor
from . import _batched as B

_RANDOMNESS = ("error", "different", "same")


def _name(func) -> str:
    if hasattr(func, "__name__"):
        return func.__name__
    if isinstance(func, functools.partial):
        return f"functools.partial({_name(func.func)}, ...)"
    return repr(func)


# pytrees: tuples, lists and dicts are nodes, None has no leaves, anything else is a leaf


def _flatten(tree) -> tuple[list, object]:
    leaves: list = []

    def spec(t):
        if isinstance(t, (tuple, list)):
            return (type(t), [spec(c) for c in t])
        if isinstance(t, dict):
            return (dict, [(k, spec(v)) for k, v in t.items()])
        if t is None:
            return (None, None)
        leaves.append(t)
        return ("*", None)

    return leaves, spec(tree)


def _unflatten(spec, leaves):
    it = iter(leaves)

    def build(s):
        kind, children = s
        if kind == "*":
            return next(it)
        if kind is None:
            return None
        if kind is dict:
            return {k: build(c) for k, c in children}
        if hasattr(kind, "_fields"):  # a named tuple (torch.return_types.max, ...)
            return kind(*[build(c) for c in children])
        return kind(build(c) for c in children)

    return build(spec)


def _spec_str(spec) -> str:
    kind, children = spec
    if kind == "*":
        return "*"
    if kind is None:
        return "None"
    if kind is dict:
        return "{" + ", ".join(f"{k!r}: {_spec_str(c)}" for k, c in children) + "}"
    inner = ", ".join(_spec_str(c) for c in children)
    return (
        f"({inner},)"
        if kind is tuple and len(children) == 1
        else (f"({inner})" if kind is tuple else f"[{inner}]")
    )


def _n_leaves(spec) -> int:
    kind, children = spec
    if kind == "*":
        return 1
    if kind is None:
        return 0
    if kind is dict:
        return sum(_n_leaves(c) for _, c in children)
    return sum(_n_leaves(c) for c in children)


def _broadcast_flatten(dims, spec):
    """``dims`` (an int/None, or a tree of them matching a prefix of ``spec``) as one
    entry per leaf; None when the structures do not match."""
    if not isinstance(dims, (tuple, list, dict)):
        return [dims] * _n_leaves(spec)
    kind, children = spec
    if kind in (tuple, list) and type(dims) is kind and len(dims) == len(children):
        out = []
        for d, c in zip(dims, children):
            sub = _broadcast_flatten(d, c)
            if sub is None:
                return None
            out += sub
        return out
    if kind is dict and isinstance(dims, dict) and set(dims) == {k for k, _ in children}:
        out = []
        for k, c in children:
            sub = _broadcast_flatten(dims[k], c)
            if sub is None:
                return None
            out += sub
        return out
    return None


def _dims_spec_str(dims) -> str:
    return _spec_str(_flatten(dims)[1]) if not isinstance(dims, int) else "*"


def _process_inputs(func, in_dims, args):
    name = _name(func)
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or "
            "a (potentially nested) tuple matching the structure of inputs, got: "
            f"{type(in_dims)}."
        )
    if len(args) == 0:
        raise ValueError(
            f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you "
            "are trying to vmap over a function with no inputs. The latter is unsupported."
        )
    flat_args, spec = _flatten(args)
    flat_dims = _broadcast_flatten(in_dims, spec)
    if flat_dims is None:
        raise ValueError(
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with "
            f"the structure of `inputs`. in_dims has structure {_dims_spec_str(in_dims)} but "
            f"inputs has structure {_spec_str(spec)}."
        )
    for i, (arg, d) in enumerate(zip(flat_args, flat_dims)):
        if d is not None and (not isinstance(d, int) or isinstance(d, bool)):
            raise ValueError(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for an input "
                "but in_dim must be either an integer dimension or None."
            )
        if d is not None and not isinstance(arg, Tensor):
            raise ValueError(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for an input "
                f"but the input is of type {type(arg)}. We cannot vmap over non-Tensor "
                "arguments, please use None as the respective in_dim"
            )
        if d is not None and not -arg.dim() <= d < arg.dim():
            raise ValueError(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for some "
                f"input, but that input is a Tensor of dimensionality {arg.dim()} so expected "
                f"in_dim to satisfy -{arg.dim()} <= in_dim < {arg.dim()}."
            )
        if d is not None and d < 0:
            flat_dims[i] = d % arg.dim()
    return _batch_size(flat_dims, flat_args), flat_dims, flat_args, spec


def _batch_size(flat_dims, flat_args) -> int:
    sizes = [a.size(d) for d, a in zip(flat_dims, flat_args) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError(
            "vmap: Expected all tensors to have the same size in the mapped dimension, got "
            f"sizes {sizes} for the mapped dimension"
        )
    return sizes[0]


def _check_out_dims(out_dims, func) -> None:
    leaves, _ = _flatten(out_dims) if not isinstance(out_dims, int) else ([out_dims], None)
    for d in leaves:
        if not isinstance(d, int) or isinstance(d, bool):
            raise ValueError(
                f"vmap({_name(func)}, ..., out_dims={out_dims}): `out_dims` must be an int, "
                "None or a python collection of ints representing where in the outputs the "
                "vmapped dimension should appear."
            )


def _flat_out_dims(outputs, out_dims, func) -> tuple[list, list, object]:
    flat, spec = _flatten(outputs)
    if isinstance(outputs, Tensor):
        if isinstance(out_dims, int) or out_dims is None:
            dims = [out_dims]
        elif isinstance(out_dims, tuple) and len(out_dims) == 1:
            dims = list(out_dims)
        else:
            dims = None
    else:
        dims = _broadcast_flatten(out_dims, spec)
    if dims is None:
        raise ValueError(
            f"vmap({_name(func)}, ..., out_dims={out_dims})(<inputs>): out_dims is not "
            "compatible with the structure of `outputs`. out_dims has structure "
            f"{_dims_spec_str(out_dims)} but outputs has structure {_spec_str(spec)}."
        )
    return flat, dims, spec


def _not_tensor_error(name, out):
    return ValueError(
        f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(out)}. Did you "
        "mean to set out_dims= to None for output?"
    )


def _unwrap(outputs, out_dims, level, batch_size, func):
    name = _name(func)
    flat, dims, spec = _flat_out_dims(outputs, out_dims, func)
    res = []
    for out, d in zip(flat, dims):
        batched = B.is_batched_at(out, level.index)
        if d is None:
            if batched:
                raise ValueError(
                    f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim "
                    "is None"
                )
            res.append(out)
            continue
        if not isinstance(out, Tensor):
            raise _not_tensor_error(name, out)
        phys = out._value if batched else out.unsqueeze(0).expand(batch_size, *out.shape)
        res.append(phys.movedim(0, d))
    return _unflatten(spec, res)


def _loop(func, batch_size, flat_dims, flat_args, spec, out_dims, randomness, kwargs):
    """The whole function once per sample, outputs stacked at their out dims."""
    from ..ops.shape import stack

    if batch_size == 0:
        raise RuntimeError(
            f"vmap({_name(func)}): this function runs sample by sample in tapegrad (see the "
            "warning above), which needs a batch of at least one sample"
        )
    gen = _random.default_generator
    state = gen.get_state() if randomness == "same" else None
    per_sample = []
    for i in range(batch_size):
        if state is not None:
            gen.set_state(state)  # every sample draws the same numbers
        sample = [a if d is None else a.select(d, i) for a, d in zip(flat_args, flat_dims)]
        per_sample.append(func(*_unflatten(spec, sample), **kwargs))
    flat0, dims, out_spec = _flat_out_dims(per_sample[0], out_dims, func)
    flats = [_flatten(o)[0] for o in per_sample]
    res = []
    for j, (out, d) in enumerate(zip(flat0, dims)):
        if d is None:
            res.append(out)
            continue
        if not isinstance(out, Tensor):
            raise _not_tensor_error(_name(func), out)
        res.append(stack([f[j] for f in flats], d))
    return _unflatten(out_spec, res)


def _flat_vmap(func, batch_size, flat_dims, flat_args, spec, out_dims, randomness, kwargs):
    level = B.push_level(batch_size, randomness)
    try:
        try:
            batched = [
                a if d is None else B.make_batched(a.movedim(d, 0), level.index)
                for a, d in zip(flat_args, flat_dims)
            ]
            outputs = func(*_unflatten(spec, batched), **kwargs)
            return _unwrap(outputs, out_dims, level, batch_size, func)
        except B.VmapFallback as e:
            if e.level != level.index:
                raise
            reason = e.reason
        level.active = False
        B.warn_fallback(reason, stacklevel=4)
        return _loop(func, batch_size, flat_dims, flat_args, spec, out_dims, randomness, kwargs)
    finally:
        B.pop_level(level)


def _chunked(func, chunk_size, batch_size, flat_dims, flat_args, spec, out_dims, randomness, kw):
    from ..ops.shape import cat

    bounds = list(range(0, batch_size, chunk_size)) + [batch_size]
    gen = _random.default_generator
    state = gen.get_state() if randomness == "same" else None
    results = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        chunk = [a if d is None else a.narrow(d, lo, hi - lo) for a, d in zip(flat_args, flat_dims)]
        if state is not None:
            gen.set_state(state)
        results.append(_flat_vmap(func, hi - lo, flat_dims, chunk, spec, out_dims, randomness, kw))
    flat0, dims, out_spec = _flat_out_dims(results[0], out_dims, func)
    flats = [_flatten(r)[0] for r in results]
    res = [
        out if d is None else cat([f[j] for f in flats], d)
        for j, (out, d) in enumerate(zip(flat0, dims))
    ]
    return _unflatten(out_spec, res)


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """Vectorize ``func`` over a dim of its inputs (``torch.func.vmap`` / ``torch.vmap``).

    ``vmap(f)(x)`` equals ``torch.stack([f(x[i]) for i in range(x.shape[0])])``: inside
    ``f`` every batched input looks like one sample. Primitives with a batching rule run
    once on the whole batch (elementwise math, reductions, softmax, matmul/linear, views,
    indexing, cat/stack); other primitives run per sample with PyTorch's "There is a
    performance drop" warning; ``grad`` inside is batched too (one backward for all
    samples); and a function that needs per-sample Python (reading values, in-place
    changes of a batched tensor, random draws, a ``vjp``/``jvp``/``jacrev``/``jacfwd``
    inside) is rerun sample by sample as a whole, with the same warning.
    In that loop a function's side effects (printing, in-place changes of captured
    tensors) happen once per sample instead of once.

    Example (per-sample gradients)::

        grads = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)

    Args:
        func: the function to vectorize; its outputs must be tensors (or pytrees of them).
        in_dims: the vmapped dim of each positional input: an int, None (not mapped), or
            a tuple/list/dict tree matching the inputs. Keyword arguments are not mapped.
        out_dims: where the vmapped dim goes in each output (int, None, or a tree).
        randomness: "error" (random operations raise), "different" (each sample draws
            its own numbers) or "same" (every sample sees the same numbers).
        chunk_size: map this many samples at a time (None: all at once).

    Returns:
        The vectorized function.

    Raises:
        RuntimeError: an unknown ``randomness``; a random operation in "error" mode.
        ValueError: bad ``chunk_size``, ``in_dims`` or ``out_dims``, inputs whose mapped
            sizes differ, or outputs that are not tensors (PyTorch's messages).
    """
    if randomness not in _RANDOMNESS:
        raise RuntimeError(
            "Only allowed values for randomness are 'error', 'different', or 'same'. Got "
            f"{randomness}"
        )
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        _check_out_dims(out_dims, func)
        batch_size, flat_dims, flat_args, spec = _process_inputs(func, in_dims, args)
        if chunk_size is not None:
            return _chunked(
                func,
                chunk_size,
                batch_size,
                flat_dims,
                flat_args,
                spec,
                out_dims,
                randomness,
                kwargs,
            )
        return _flat_vmap(
            func, batch_size, flat_dims, flat_args, spec, out_dims, randomness, kwargs
        )

    return wrapped

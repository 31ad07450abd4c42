"""Activation checkpointing (mirrors ``torch.utils.checkpoint``).

A checkpointed function runs its forward without keeping the intermediate tensors of
its graph; only its inputs are kept. The backward runs the function again from those
inputs, under the RNG state of the first run (so dropout draws the same masks), and
backpropagates through the recomputed graph. Memory is traded for one extra forward.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

from .. import _random
from .._tensor import Tensor
from ..autograd import Function
from ..autograd import backward as _backward
from ..autograd import grad as _grad
from ..autograd.function import AccumulateGrad
from ..autograd.grad_mode import enable_grad, is_grad_enabled, no_grad

__all__ = ["checkpoint", "checkpoint_sequential", "detach_variable"]

_USE_REENTRANT_MSG = (
    "torch.utils.checkpoint: the use_reentrant parameter should be "
    "passed explicitly. Starting in PyTorch 2.9, calling checkpoint "
    "without use_reentrant will raise an exception. use_reentrant=False is "
    "recommended, but if you need to preserve the current default "
    "behavior, you can pass use_reentrant=True. Refer to docs for more "
    "details on the differences between the two variants."
)
_SEQUENTIAL_USE_REENTRANT_MSG = (
    "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant "
    "parameter should be passed explicitly. "
    "In version 2.9 we will raise an exception if use_reentrant "
    "is not passed. use_reentrant=False is "
    "recommended, but if you need to preserve the current default "
    "behavior, you can pass use_reentrant=True. Refer to docs for more "
    "details on the differences between the two variants."
)


def detach_variable(inputs: tuple) -> tuple:
    """Detach every tensor of ``inputs``, keeping its ``requires_grad``
    (``torch.utils.checkpoint.detach_variable``).

    Args:
        inputs: A tuple of values.

    Returns:
        The tuple, its tensors detached.
    """
    if not isinstance(inputs, tuple):
        raise RuntimeError(
            "Only tuple of tensors is supported. Got Unsupported input type: "
            f"{type(inputs).__name__}"
        )
    out = []
    for inp in inputs:
        if not isinstance(inp, Tensor):
            out.append(inp)
            continue
        x = inp.detach()
        x.requires_grad = inp.requires_grad
        out.append(x)
    return tuple(out)


class _ForkedRng:
    """Run a block under a saved RNG state, restoring the surrounding state afterwards
    (the CPU part of ``torch.random.fork_rng``)."""

    def __init__(self, state):
        self.state = state

    def __enter__(self):
        if self.state is not None:
            self.outer = _random.get_rng_state()
            _random.set_rng_state(self.state)

    def __exit__(self, *exc):
        if self.state is not None:
            _random.set_rng_state(self.outer)


def _recompute(ctx, tensors: tuple, detach: bool = True):
    """Run ``ctx.run_function`` again on detached inputs, under the forward's RNG state.

    ``detach=False`` recomputes from the inputs themselves, so that gradients taken
    through the recomputed graph stay connected to them (double backward)."""
    inputs = list(ctx.inputs)
    for i, idx in enumerate(ctx.tensor_indices):
        inputs[idx] = tensors[i]
    with _ForkedRng(ctx.fwd_cpu_state):
        detached = detach_variable(tuple(inputs)) if detach else tuple(inputs)
        with enable_grad():
            outputs = ctx.run_function(*detached, **ctx.kwargs)
    if isinstance(outputs, Tensor):
        outputs = (outputs,)
    return detached, outputs


def _stash_inputs(ctx, run_function, preserve_rng_state, args, kwargs) -> list:
    ctx.run_function = run_function
    ctx.kwargs = kwargs
    ctx.fwd_cpu_state = _random.get_rng_state() if preserve_rng_state else None
    # non-tensor arguments ride on ctx; tensors are saved (version-checked) for backward
    ctx.inputs = []
    ctx.tensor_indices = []
    tensors = []
    for i, arg in enumerate(args):
        if isinstance(arg, Tensor):
            tensors.append(arg)
            ctx.tensor_indices.append(i)
            ctx.inputs.append(None)
        else:
            ctx.inputs.append(arg)
    return tensors


class CheckpointFunction(Function):
    """The reentrant checkpoint (``torch.utils.checkpoint.CheckpointFunction``): its
    backward runs a nested ``backward`` through the recomputed forward, which also
    accumulates the gradients of parameters the function uses."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        if not any(a.requires_grad for a in args if isinstance(a, Tensor)):
            warnings.warn(
                "None of the inputs have requires_grad=True. Gradients will be None",
                stacklevel=2,
            )
        tensors = _stash_inputs(ctx, run_function, preserve_rng_state, args, {})
        ctx.save_for_backward(*tensors)
        with no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        detached, outputs = _recompute(ctx, ctx.saved_tensors)
        with_grad, their_grads = [], []
        for out, g in zip(outputs, grads):
            if isinstance(out, Tensor) and out.requires_grad:
                with_grad.append(out)
                their_grads.append(g)
        if not with_grad:
            raise RuntimeError(
                "none of output has requires_grad=True, this checkpoint() is not necessary"
            )
        with enable_grad():
            _backward(with_grad, their_grads)
        return (None, None) + tuple(
            inp.grad if isinstance(inp, Tensor) else None for inp in detached
        )


class _NonReentrantCheckpoint(Function):
    """The non-reentrant checkpoint: the tensors the function captures and that need a
    gradient (its parameters) are explicit inputs of this node, so gradients reach them
    through the node's own edges (``autograd.grad`` and ``backward(inputs=...)`` work,
    and outputs require grad even when no argument does)."""

    @staticmethod
    def forward(ctx, run_function, kwargs, state, values, n_args, *args_and_leaves):
        args = args_and_leaves[:n_args]
        tensors = _stash_inputs(ctx, run_function, False, args, kwargs)
        ctx.fwd_cpu_state = state
        ctx.save_for_backward(*tensors, *args_and_leaves[n_args:])
        ctx.n_tensors = len(tensors)
        # the forward already ran (see _checkpoint_non_reentrant): hand out its values
        return values

    @staticmethod
    def backward(ctx, *grads):
        saved = ctx.saved_tensors
        leaves = saved[ctx.n_tensors :]
        # under create_graph the engine runs this backward with grad mode on: stay
        # differentiable so that a double backward works through the checkpoint
        create = is_grad_enabled()
        detached, outputs = _recompute(ctx, saved[: ctx.n_tensors], detach=not create)
        with_grad, their_grads = [], []
        for out, g in zip(outputs, grads):
            if isinstance(out, Tensor) and out.requires_grad:
                with_grad.append(out)
                their_grads.append(g)
        wrt = [t for t in detached if isinstance(t, Tensor) and t.requires_grad]
        n_wrt_args = len(wrt)
        wrt += list(leaves)
        got = (None,) * len(wrt)
        if with_grad and wrt:
            # retain_graph: a tensor the function captures from the outer graph (not an
            # argument) makes this pass run through outer nodes that the outer backward
            # still needs; the recomputed graph itself dies with this frame anyway
            with enable_grad():
                got = _grad(
                    with_grad,
                    wrt,
                    their_grads,
                    retain_graph=True,
                    create_graph=create,
                    allow_unused=True,
                )
        arg_grads, it = [], iter(got[:n_wrt_args])
        for t in detached:
            needs = isinstance(t, Tensor) and t.requires_grad
            arg_grads.append(next(it) if needs else None)
        return (None,) * 5 + tuple(arg_grads) + tuple(got[n_wrt_args:])


def _captured_leaves(outputs, inputs) -> list:
    """Leaf tensors requiring grad that ``outputs`` depend on, other than ``inputs``."""
    skip = {id(t) for t in inputs}
    roots = [o.grad_fn for o in outputs if isinstance(o, Tensor) and o.grad_fn is not None]
    seen, leaves, stack = set(), [], list(roots)
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, AccumulateGrad):
            if id(node.variable) not in skip:
                leaves.append(node.variable)
            continue
        stack.extend(fn for fn, _ in node.next_functions or ())
    return leaves


def _checkpoint_non_reentrant(function, preserve, args, kwargs):
    if not is_grad_enabled():
        return function(*args, **kwargs)
    state = _random.get_rng_state() if preserve else None
    # The forward runs once with its graph recorded, to find the parameters the
    # function uses; the graph (its intermediate tensors) is dropped right away and
    # only the output values and the inputs are kept.
    inputs = detach_variable(tuple(args))
    out = function(*inputs, **kwargs)
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    leaves = _captured_leaves(outs, inputs)
    values = tuple(o.detach() if isinstance(o, Tensor) else o for o in outs)
    del out, outs, inputs
    return _NonReentrantCheckpoint.apply(
        function, kwargs, state, values[0] if single else values, len(args), *args, *leaves
    )


def checkpoint(
    function: Callable,
    *args: Any,
    use_reentrant: bool | None = None,
    preserve_rng_state: bool = True,
    **kwargs: Any,
):
    """Run ``function(*args)`` without keeping its intermediate tensors, recomputing them
    in backward (``torch.utils.checkpoint.checkpoint``).

    ``use_reentrant=True`` (the default, with PyTorch's warning when it is not passed)
    is the reentrant variant: its outputs require grad only when a tensor argument
    does, and ``kwargs`` are refused. ``use_reentrant=False`` also passes ``kwargs``
    to ``function`` and gives gradients to the parameters it uses when no argument
    requires grad. With ``preserve_rng_state`` the recomputation replays the forward's
    random draws (equal dropout masks).

    >>> y = checkpoint(block, x, use_reentrant=False)

    Args:
        function: The function to run.
        *args: Its positional arguments.
        use_reentrant: Which variant, as described above (unset: reentrant, with PyTorch's
            warning).
        preserve_rng_state: Restore the random state before recomputing, so that dropout masks
            repeat.
        **kwargs: Its keyword arguments (non-reentrant variant only).

    Returns:
        What ``function`` returns.
    """
    if use_reentrant is None:
        warnings.warn(_USE_REENTRANT_MSG, stacklevel=2)
        use_reentrant = True
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
        return CheckpointFunction.apply(function, preserve_rng_state, *args)
    return _checkpoint_non_reentrant(function, preserve_rng_state, args, kwargs)


def checkpoint_sequential(
    functions: Iterable[Callable] | Any,
    segments: int,
    input: Tensor,
    use_reentrant: bool | None = None,
    **kwargs: Any,
):
    """Run a sequence of functions (or an ``nn.Sequential``) in ``segments`` chunks,
    checkpointing all but the last (``torch.utils.checkpoint.checkpoint_sequential``).

    Args:
        functions: The functions to run one after the other, or an ``nn.Sequential``.
        segments: Number of chunks; each is checkpointed except the last.
        input: The input of the first function.
        use_reentrant: Which variant, as described above (unset: reentrant, with PyTorch's
            warning).
        **kwargs: Keyword arguments for ``checkpoint`` (``preserve_rng_state``).

    Returns:
        The output of the last function.
    """
    from ..nn.modules.container import Sequential

    if use_reentrant is None:
        warnings.warn(_SEQUENTIAL_USE_REENTRANT_MSG, stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))

    def run_function(start, end, functions):
        def forward(input):
            for j in range(start, end + 1):
                input = functions[j](input)
            return input

        return forward

    if isinstance(functions, Sequential):
        functions = list(functions.children())
    segment_size = len(functions) // segments
    # the last chunk runs normally: its output is needed for the loss right away
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(
            run_function(start, end, functions),
            input,
            use_reentrant=use_reentrant,
            preserve_rng_state=preserve,
        )
    return run_function(end + 1, len(functions) - 1, functions)(input)

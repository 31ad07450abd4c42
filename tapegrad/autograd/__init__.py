"""Automatic differentiation (mirrors ``torch.autograd``)."""

from __future__ import annotations

import numpy as _np

from . import anomaly_mode, functional, grad_mode, profiler, profiler_util
from . import function as _function
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .engine import run_backward
from .function import FunctionCtx, _edge
from .function import UserFunction as Function
from .grad_mode import enable_grad, inference_mode, no_grad, set_grad_enabled
from .gradcheck import gradcheck, gradgradcheck


def _as_list(x):
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _root_grads(tensors, grad_tensors, who, create_graph=False):
    Tensor = _function._Tensor
    grads = _as_list(grad_tensors) or [None] * len(tensors)
    if len(grads) != len(tensors):
        raise RuntimeError(f"got {len(grads)} tensors and {len(tensors)} gradients")
    out = []
    for t, g in zip(tensors, grads):
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: expected Tensors, got {type(t).__name__}")
        if not t._requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn"
            )
        if g is None:
            if t._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not t.dtype.is_floating_point:
                raise RuntimeError(
                    f"grad can be implicitly created only for real scalar outputs but got {t.dtype}"
                )
            ones = _np.ones(t._data.shape, dtype=t._data.dtype)
            out.append(Tensor._make(ones) if create_graph else ones)
        else:
            if not isinstance(g, Tensor):
                from ..ops.creation import tensor

                g = tensor(g, dtype=t.dtype)
            if g.shape != t.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of {g.shape} and output[0] "
                    f"has a shape of {t.shape}."
                )
            if create_graph:
                # the given gradient may itself require grad (double-vjp tricks)
                out.append(g if g.dtype is t.dtype else g.to(t.dtype))
            else:
                out.append(g._data.astype(t._data.dtype, copy=False))
    return out


def _edges(tensors):
    return [_edge(t) for t in tensors]


def backward(
    tensors,
    grad_tensors=None,
    retain_graph=None,
    create_graph=False,
    grad_variables=None,
    inputs=None,
) -> None:
    """Accumulate gradients of ``tensors`` into the graph's leaves (``torch.autograd.backward``).

    With ``create_graph=True`` the backward pass is itself recorded: the leaves'
    ``.grad`` carry a ``grad_fn`` and can be differentiated again. ``retain_graph``
    defaults to ``create_graph``, as in PyTorch.

    Args:
        tensors: the tensor, or sequence of tensors, to differentiate.
        grad_tensors: the gradients with respect to ``tensors`` (one per tensor, ``None`` allowed
            for one-element tensors); ``None`` for all one-element tensors.
        retain_graph: keep the graph for another backward pass; ``None`` means ``create_graph``.
        create_graph: record the backward pass so that the gradients can be differentiated again.
        grad_variables: the deprecated name of ``grad_tensors``.
        inputs: if given, only these tensors accumulate into ``.grad``.
    """
    Tensor = _function._Tensor
    tensors = _as_list(tensors)
    if grad_tensors is None:
        grad_tensors = grad_variables
    create_graph = bool(create_graph)
    grads = _root_grads(tensors, grad_tensors, "backward", create_graph)
    retain = create_graph if retain_graph is None else bool(retain_graph)
    if inputs is not None:
        inputs = _as_list(inputs)
        if not inputs:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
        for t in inputs:
            if not t._requires_grad:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
        results = run_backward(
            _edges(tensors),
            grads,
            retain,
            inputs=_edges(inputs),
            allow_unused=True,
            create_graph=create_graph,
        )
        for t, g in zip(inputs, results):
            if g is None:
                continue
            if t.grad_fn is None:
                t._accumulator().accumulate(g)
            elif create_graph:
                t._grad = g if t._grad is None else t._grad + g
            else:
                t._grad = Tensor._make(g.copy()) if t._grad is None else t._grad + Tensor._make(g)
        return
    run_backward(_edges(tensors), grads, retain, create_graph=create_graph)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    only_inputs=True,
    allow_unused=None,
    is_grads_batched=False,
    materialize_grads=False,
):
    """Gradients of ``outputs`` with respect to ``inputs`` (``torch.autograd.grad``).

    With ``create_graph=True`` the returned gradients are recorded in the graph and
    can be differentiated again (Hessian-vector products, gradient penalties).

    Args:
        outputs: the tensor, or sequence of tensors, to differentiate.
        inputs: the tensor, or sequence of tensors, the gradients are taken with respect to; each
            must require grad.
        grad_outputs: the gradients with respect to ``outputs`` (the vector of the vector-Jacobian
            product); ``None`` for one-element outputs.
        retain_graph: keep the graph for another backward pass; ``None`` means ``create_graph``.
        create_graph: record the backward pass so that the gradients can be differentiated again.
        only_inputs: deprecated and ignored, as in PyTorch.
        allow_unused: return ``None`` for an input the outputs do not depend on instead of raising;
            ``None`` means ``materialize_grads``.
        is_grads_batched: not supported: True raises ``NotImplementedError``.
        materialize_grads: return zeros instead of ``None`` for unused inputs.

    Returns:
        a tuple with one gradient per input.
    """
    import numpy as np

    from .._tensor import Tensor

    if is_grads_batched:
        raise NotImplementedError(
            "autograd.grad(is_grads_batched=True) needs vmap, which tapegrad does not "
            "provide; loop over the batch of grad_outputs instead"
        )
    create_graph = bool(create_graph)
    outputs = _as_list(outputs)
    inputs = _as_list(inputs)
    for t in inputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"grad(): inputs must be Tensors, got {type(t).__name__}")
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if materialize_grads and allow_unused is False:
        raise ValueError(
            "Expected allow_unused to be True or not passed when materialize_grads=True, "
            "but got: allow_unused=False."
        )
    grads = _root_grads(outputs, grad_outputs, "grad", create_graph)
    if allow_unused is None:
        allow_unused = materialize_grads
    retain = create_graph if retain_graph is None else bool(retain_graph)
    res = run_backward(
        _edges(outputs),
        grads,
        retain,
        inputs=_edges(inputs),
        allow_unused=allow_unused,
        create_graph=create_graph,
    )
    out = []
    for t, g in zip(inputs, res):
        if g is None:
            out.append(
                Tensor._make(np.zeros(t._data.shape, t._data.dtype)) if materialize_grads else None
            )
            continue
        if create_graph:
            if tuple(g.shape) != t._data.shape:
                from ..ops import graph_xp
                from .engine import sum_to

                g = sum_to(g, t._data.shape, graph_xp)
            out.append(g if g.dtype is t.dtype else g.to(t.dtype))
            continue
        if g.shape != t._data.shape:
            from .engine import sum_to

            g = sum_to(g, t._data.shape)
        out.append(Tensor._make(g.astype(t._data.dtype, copy=True)))
    return tuple(out)


class _VariableMeta(type):
    def __instancecheck__(cls, obj) -> bool:
        from .._tensor import Tensor

        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableMeta):
    """The old ``torch.autograd.Variable``: now just a tensor (``Variable(t, requires_grad)``).

    Called as ``Variable(data, requires_grad=False, volatile=False)``: ``data`` is detached,
    ``requires_grad`` sets whether the result requires grad, and ``volatile`` is deprecated and
    ignored, as in PyTorch.
    """

    def __new__(cls, data, requires_grad: bool = False, volatile: bool = False):
        t = data.detach()
        return t.requires_grad_(True) if requires_grad else t


__all__ = [
    "Variable",
    "functional",
    "Function",
    "FunctionCtx",
    "backward",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "grad_mode",
    "anomaly_mode",
    "profiler",
    "profiler_util",
    "detect_anomaly",
    "set_detect_anomaly",
]

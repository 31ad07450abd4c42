"""Recording one forward pass for export: the primitive ops and the whole modules it runs.

While a :class:`Tracer` is active, ``Function.apply`` hands every primitive call on the
tracing thread to :meth:`Tracer.on_apply` (through ``apply``'s observer slot, the one
module-global check that normal execution pays anyway), and the modules that have a
converter of their own (recurrent layers, embeddings) run with their ``forward`` wrapped
so that they are recorded as one node and their inner ops are not. The result is a list
of :class:`Node` in execution order, which the converters turn into ONNX nodes.
"""

from __future__ import annotations

import threading

import numpy as np

from .._tensor import Tensor
from ..autograd import function as _function
from ..autograd import grad_mode
from ..func import _leaves, _tree_map
from .errors import UnsupportedOperatorError


class Node:
    """One recorded call: a primitive ``Function`` (``kind == "op"``) or a module.

    ``args``/``kwargs`` are the call's arguments (for an op: the input tensors and the
    attributes), with tensors modified in place before the call replaced by the tensor
    that computed their current value; ``inputs``/``outputs`` are the flat tensor lists.
    ``b`` is the same node of the second trace (see ``export``), or ``None``.
    """

    __slots__ = ("kind", "target", "args", "kwargs", "inputs", "outputs", "result", "b")

    def __init__(self, kind, target, args, kwargs, result):
        self.kind = kind
        self.target = target
        self.args = args
        self.kwargs = kwargs
        self.inputs = flatten_tensors((args, kwargs))
        self.result = result
        self.outputs = flatten_tensors(result)
        self.b: Node | None = None

    @property
    def name(self) -> str:
        """The op's name as the error messages show it (``aten::softmax``-like)."""
        if self.kind == "op":
            return f"tapegrad::{self.target.__name__}"
        return f"nn.{type(self.target).__name__}"


def flatten_tensors(obj) -> list:
    """The tensors in a nest of tuples, lists and dicts, in order."""
    return [t for t in _leaves(obj) if isinstance(t, Tensor)]


def map_tensors(obj, fn):
    """``obj`` (a nest of tuples, lists and dicts) with each tensor ``t`` replaced by ``fn(t)``."""
    return _tree_map(lambda o: fn(o) if isinstance(o, Tensor) else o, obj)


class Tracer:
    """Records the ops and converter-backed modules of forward passes on this thread.

    Args:
        model: the module being exported; its submodules for which ``module_filter``
            is true are recorded whole.
        module_filter: says whether a module has a converter of its own.
        opset: the target opset (for error messages).
    """

    def __init__(self, model, module_filter, opset: int) -> None:
        self.model = model
        self.module_filter = module_filter
        self.opset = opset
        self.nodes: list[Node] = []
        self._depth = 0
        self._tid = threading.get_ident()
        # id(tensor) -> the version it had when the trace last saw it
        self._versions: dict[int, int] = {}
        # id(tensor) -> the tensor holding its current value (after an in-place write)
        self._alias: dict[int, Tensor] = {}
        # id(array) -> the produced tensor holding that array (for detach() and raw attrs)
        self.arrays: dict[int, Tensor] = {}
        # (id(grad_fn), output_nr) -> the produced tensor: an in-place op's snapshot of a
        # tensor carries its history, and so names the tensor it copies
        self._by_node: dict[tuple[int, int], Tensor] = {}
        self.inputs: list[Tensor] = []
        self._keep: list = []  # every recorded object stays alive: ids stay unique
        self._prev = None  # the observer installed before this tracer (the profiler's)

    # -- recording ---------------------------------------------------------

    def run(self, args: tuple, kwargs: dict):
        """Run ``model(*args, **kwargs)`` once, recording it; returns its output.

        The run records autograd history: in-place ops then go through the recorded path,
        which the trace follows (an in-place op's fast path on tensors that need no
        gradient writes arrays directly and could not be seen). Floating inputs are
        replaced by copies that require grad (``self.inputs`` holds them, in order).
        """
        self.inputs = []

        def as_input(t: Tensor) -> Tensor:
            if t._data.dtype.kind in "fc":
                leaf = Tensor._make(t._data.copy()).requires_grad_(True)
                with grad_mode.enable_grad():
                    t = leaf.clone()  # not a leaf: in-place ops on it stay legal
                self._by_node[(id(t.grad_fn), t._output_nr)] = t
            self.inputs.append(t)
            self._see(t)
            self.arrays[id(t._data)] = t
            return t

        args, kwargs = map_tensors((args, kwargs), as_input)
        patched = []
        for m in self.model.modules():
            if "forward" not in m.__dict__ and self.module_filter(m):
                m.__dict__["forward"] = self._wrap_module(m)
                patched.append(m)
        # the tracer watches Function.apply through the observer slot that anomaly mode and
        # the profiler use; a profiler already watching keeps seeing every op through it
        self._prev = _function._apply_observer
        _function._apply_observer = self.on_apply
        try:
            with grad_mode.enable_grad():
                out = self.model(*args, **kwargs)
        finally:
            _function._apply_observer = self._prev
            for m in patched:
                del m.__dict__["forward"]
        self._keep.append(out)
        return map_tensors(out, self._current)

    def on_apply(self, cls, inputs, attrs):
        """The ``Function.apply`` observer: run a primitive op and record it.

        Returns ``NotImplemented`` (run ``apply`` as usual, after the previous observer)
        for calls it does not record: its own re-entry, ops inside a module recorded
        whole, other threads, and custom ``autograd.Function``s (their ops are recorded).
        """
        if (
            self._depth
            or threading.get_ident() != self._tid
            or not issubclass(cls, _function.Function)
        ):
            prev = self._prev
            return NotImplemented if prev is None else prev(cls, inputs, attrs)
        inputs = tuple(None if t is None else self._current(t) for t in inputs)
        self._depth += 1
        try:
            out = cls.apply(*inputs, **attrs)
        finally:
            self._depth -= 1
        self._record(Node("op", cls, inputs, attrs, out))
        return out

    def _wrap_module(self, module):
        forward = type(module).forward.__get__(module)

        def traced_forward(*args, **kwargs):
            if self._depth:
                return forward(*args, **kwargs)
            args = map_tensors(args, self._current)
            kwargs = map_tensors(kwargs, self._current)
            self._depth += 1
            try:
                out = forward(*args, **kwargs)
            finally:
                self._depth -= 1
            self._record(Node("module", module, args, kwargs, out))
            return out

        return traced_forward

    def _record(self, node: Node) -> None:
        self.nodes.append(node)
        self._keep.append(node)
        for t in node.outputs:
            self._versions[id(t)] = t._version_counter.v
            self.arrays.setdefault(id(t._data), t)
            if t.grad_fn is not None:
                self._by_node.setdefault((id(t.grad_fn), t._output_nr), t)

    def _see(self, t: Tensor) -> None:
        self._versions.setdefault(id(t), t._version_counter.v)
        self._keep.append(t)

    def _current(self, t: Tensor) -> Tensor:
        """``t``, or the tensor that computed its value if it was written in place."""
        key = id(t)
        alias = self._alias.get(key)
        seen = self._versions.get(key)
        if seen is None:
            self._see(t)
            # a tensor that shares a traced tensor's array (detach(), .data), or that carries
            # its history (an in-place op's snapshot), is that tensor
            src = None
            if t.grad_fn is not None:
                src = self._by_node.get((id(t.grad_fn), t._output_nr))
            if src is None:
                src = self.arrays.get(id(t._data))
            if src is not None and src is not t and src.shape == t.shape:
                self._alias[key] = src
                return src
            return t
        if t._version_counter.v == seen:
            return t if alias is None else alias
        # written in place since last seen: find the op whose result was copied into it
        if t.grad_fn is not None:
            src = self._by_node.get((id(t.grad_fn), t._output_nr))
            if src is not None and src is not t:
                self._alias[key] = src
                self._versions[key] = t._version_counter.v
                return src
        for node in reversed(self.nodes[-16:]):
            for o in node.outputs:
                if (
                    o is not t
                    and o.shape == t.shape
                    and o._data.dtype == t._data.dtype
                    and not np.shares_memory(o._data, t._data)
                    and np.array_equal(o._data, t._data, equal_nan=o._data.dtype.kind in "fc")
                ):
                    self._alias[key] = o
                    self._versions[key] = t._version_counter.v
                    return o
        raise UnsupportedOperatorError(
            "aten::copy_",
            self.opset,
            None,
            "a tensor of shape "
            f"{list(t.shape)} was modified in place through a view or by an operation the "
            "exporter cannot trace; write the forward without in-place writes into views",
        )

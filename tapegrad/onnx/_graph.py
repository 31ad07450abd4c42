"""The ONNX graph under construction: value names, nodes, initializers and shape helpers.

Converters call :meth:`Graph.v` for the ONNX name of a traced tensor (an earlier op's
output, a graph input, a parameter or a constant) and :meth:`Graph.op` to add nodes.
Sizes that vary with the dynamic axes are found by comparing the two traces (sizes
``a`` from the first, ``b`` from the second): :meth:`Graph.dim` expresses such a size
through ``Shape`` of a graph input.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from .errors import UnsupportedOperatorError

INT64_MAX = 9223372036854775807
INT64_MIN = -9223372036854775808


def onnx_dtype(np_dtype) -> int:
    """The ONNX element type of a NumPy dtype."""
    return helper.np_dtype_to_tensor_dtype(np.dtype(np_dtype))


class Graph:
    """An ONNX graph being built from a trace.

    Args:
        opset: the target opset.
        params: ``id(tensor) -> state_dict name`` of the model's parameters and buffers.
        export_params: store parameters as initializers (else they become graph inputs).
    """

    def __init__(self, opset: int, params: dict, export_params: bool) -> None:
        self.opset = opset
        self.params = params
        self.export_params = export_params
        self.nodes: list = []
        self.initializers: dict[str, np.ndarray] = {}
        self.param_inputs: list = []  # value infos of parameters when export_params=False
        self.values: dict[int, str] = {}
        self.const_b: dict[int, object] = {}  # id(constant) -> the second trace's tensor
        self.dyn: list[tuple[str, int, int, int]] = []  # (input, axis, size a, size b)
        self._names: set[str] = set()
        self._cache: dict = {}
        self._counter = itertools.count()
        self._keep: list = []
        # id(tensor) -> the op whose converter could not give this output
        self.unavailable: dict[int, str] = {}
        # id(array) -> the traced tensor holding it (raw index arrays passed as attributes)
        self.arrays: dict = {}
        # id(module) -> its qualified name (names derived initializers)
        self.module_names: dict[int, str] = {}

    # -- names and nodes ----------------------------------------------------

    def fresh(self, base: str) -> str:
        """A value or node name not used yet, derived from ``base``."""
        name = base
        while name in self._names:
            name = f"{base}_{next(self._counter)}"
        self._names.add(name)
        return name

    def reserve(self, name: str) -> None:
        """Claim ``name`` (a graph input or output) so that no other value takes it."""
        self._names.add(name)

    def op(self, op_type: str, *inputs, outputs: int = 1, out_names=None, **attrs):
        """Add a node; returns its output name (or the list of names when ``outputs > 1``)."""
        if out_names is None:
            out_names = [self.fresh(f"/{op_type}_output_{i}") for i in range(outputs)]
        ins = ["" if i is None else i for i in inputs]
        while ins and ins[-1] == "":
            ins.pop()
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(
            helper.make_node(op_type, ins, list(out_names), name=self.fresh(f"/{op_type}"), **attrs)
        )
        return out_names[0] if outputs == 1 else list(out_names)

    def mark(self) -> tuple:
        """The graph's current extent, for :meth:`rollback`."""
        state = (dict(self.values), dict(self._cache), set(self._names))
        return len(self.nodes), len(self.param_inputs), list(self.initializers), state

    def rollback(self, mark: tuple) -> None:
        """Drop what was added since ``mark`` (a converter that gave up half way)."""
        n_nodes, n_params, inits, (values, cache, names) = mark
        del self.nodes[n_nodes:]
        del self.param_inputs[n_params:]
        for name in list(self.initializers):
            if name not in inits:
                del self.initializers[name]
        self.values, self._cache, self._names = values, cache, names

    def set(self, tensor, name: str) -> None:
        """Record that ``tensor``'s value is the ONNX value ``name``."""
        self.values[id(tensor)] = name
        self._keep.append(tensor)

    # -- constants -----------------------------------------------------------

    def const(self, array, hint: str = "onnx::Constant") -> str:
        """An initializer holding ``array`` (small ones are shared between uses)."""
        array = np.asarray(array)
        key = None
        if array.size <= 64:
            key = (array.dtype.str, array.shape, array.tobytes())
            hit = self._cache.get(key)
            if hit is not None:
                return hit
        name = self.fresh(hint)
        self.initializers[name] = np.array(array, order="C")
        if key is not None:
            self._cache[key] = name
        return name

    def ints(self, values) -> str:
        """A 1-D int64 constant."""
        return self.const(np.asarray(list(values), dtype=np.int64))

    def scalar(self, value, dtype) -> str:
        """A 0-d constant of ``dtype``."""
        return self.const(np.asarray(value, dtype=dtype))

    def v(self, tensor) -> str:
        """The ONNX name of a traced tensor's value."""
        name = self.values.get(id(tensor))
        if name is not None:
            return name
        key = id(tensor)
        if key in self.unavailable:
            raise UnsupportedOperatorError(
                self.unavailable[key],
                self.opset,
                None,
                "this output of it (e.g. pooling indices) has no ONNX equivalent",
            )
        if key in self.params:
            name = self.params[key]
            if self.export_params:
                self.initializers[name] = np.array(tensor._data, order="C")
            else:
                self.param_inputs.append(
                    helper.make_tensor_value_info(
                        name, onnx_dtype(tensor._data.dtype), list(tensor._data.shape)
                    )
                )
            self._names.add(name)
        else:
            name = self._constant(tensor)
        self.set(tensor, name)
        return name

    def _constant(self, tensor) -> str:
        a = tensor._data
        b = self.const_b.get(id(tensor))
        if b is None or b._data.shape == a.shape:
            return self.const(a)
        # a constant whose shape follows the dynamic axes (torch.zeros(x.size(0), ...))
        flat_a, flat_b = a.reshape(-1), b._data.reshape(-1)
        if a.size and b._data.size and (flat_a == flat_a[0]).all() and (flat_b == flat_a[0]).all():
            value = numpy_helper.from_array(flat_a[:1].copy())
            return self.op("ConstantOfShape", self.shape_vec(a.shape, b._data.shape), value=value)
        raise UnsupportedOperatorError(
            "prim::Constant",
            self.opset,
            None,
            f"a tensor of shape {list(a.shape)} made in forward from the input's sizes holds "
            "values that vary with those sizes (e.g. torch.arange(x.size(1))); only constant "
            "fills (zeros, ones, full) can follow a dynamic axis",
        )

    def tensor_of_array(self, array):
        """The traced tensor whose data is ``array`` (an index passed as a raw array)."""
        t = self.arrays.get(id(array))
        if t is not None and (id(t) in self.values or id(t) in self.params):
            return t
        return None

    # -- shapes ----------------------------------------------------------------

    def shape_of(self, name: str) -> str:
        """``Shape(name)``, made once per value."""
        key = ("shape", name)
        if key not in self._cache:
            self._cache[key] = self.op("Shape", name)
        return self._cache[key]

    def dim(self, a: int, b: int) -> str:
        """A 1-element int64 value equal to a size that is ``a`` in the first trace and
        ``b`` in the second, computed from the graph inputs' shapes."""
        if a == b:
            return self.ints([a])
        key = ("dim", a, b)
        if key in self._cache:
            return self._cache[key]
        found = None
        for n in (1, 2, 3):
            for combo in itertools.combinations(self.dyn, n):
                pa = math.prod(e[2] for e in combo)
                pb = math.prod(e[3] for e in combo)
                if pa and pb and a % pa == 0 and b % pb == 0 and a // pa == b // pb:
                    found = (combo, a // pa)
                    break
            if found:
                break
        if found is None:
            raise UnsupportedOperatorError(
                "aten::size",
                self.opset,
                None,
                f"a size that is {a} for the example input and {b} for another size of its "
                "dynamic axes is not a multiple of the dynamic input sizes; compute shapes "
                "from x.size(d) products or use -1 in view/reshape",
            )
        combo, c = found
        out = None
        for name, axis, _, _ in combo:
            d = self.op("Gather", self.shape_of(name), self.ints([axis]), axis=0)
            out = d if out is None else self.op("Mul", out, d)
        if c != 1:
            out = self.op("Mul", out, self.ints([c]))
        self._cache[key] = out
        return out

    def shape_vec(self, sa, sb) -> str:
        """A 1-D int64 shape that is ``sa`` in the first trace and ``sb`` in the second."""
        if tuple(sa) == tuple(sb):
            return self.ints(sa)
        parts: list[str] = []
        run: list[int] = []
        for a, b in zip(sa, sb):
            if a == b:
                run.append(a)
                continue
            if run:
                parts.append(self.ints(run))
                run = []
            parts.append(self.dim(a, b))
        if run:
            parts.append(self.ints(run))
        return parts[0] if len(parts) == 1 else self.op("Concat", *parts, axis=0)

    # -- opset-dependent helpers -------------------------------------------------

    def reduce(self, op_type: str, x: str, axes, keepdims: bool) -> str:
        """``Reduce*`` over ``axes`` (an input from opset 18, ReduceSum from 13)."""
        axes = [int(a) for a in axes]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, x, self.ints(axes), keepdims=int(keepdims))
        return self.op(op_type, x, axes=axes, keepdims=int(keepdims))

    def unsqueeze(self, x: str, axes) -> str:
        """``Unsqueeze`` with axes as an input (opset 13+)."""
        return self.op("Unsqueeze", x, self.ints(axes))

    def squeeze(self, x: str, axes) -> str:
        """``Squeeze`` with axes as an input (opset 13+)."""
        return self.op("Squeeze", x, self.ints(axes))

    def cast(self, x: str, np_dtype) -> str:
        """``Cast`` to a NumPy dtype."""
        return self.op("Cast", x, to=onnx_dtype(np_dtype))


__all__ = ["INT64_MAX", "INT64_MIN", "Graph", "TensorProto", "onnx_dtype"]

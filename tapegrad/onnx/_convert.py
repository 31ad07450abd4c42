"""``export``: trace a module, convert the trace to an ONNX graph, check it and write it.

With ``dynamic_axes`` the model runs twice: on the example inputs and on copies whose
dynamic axes are a little longer. Sizes that differ between the two traces follow the
dynamic axes; the converters express them through ``Shape`` of the inputs (or ``-1``
and ``0`` in ``Reshape``), so that ``x.view(x.size(0), -1)`` works for every batch size.
Constants that differ between the traces reveal a computation the tracer cannot see
and stop the export with an error instead of baking in the example's values.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
from onnx import helper

from .._tensor import Tensor
from ._graph import Graph, onnx_dtype
from ._modules import module_converter
from ._ops import converter_for
from ._trace import Tracer, flatten_tensors, map_tensors
from .errors import OnnxExporterError, OnnxExporterWarning, UnsupportedOperatorError


def _split_args(args, kwargs):
    if isinstance(args, Tensor):
        args = (args,)
    elif isinstance(args, list):
        args = tuple(args)
    elif not isinstance(args, tuple):
        args = (args,)
    kw = dict(kwargs or {})
    if args and isinstance(args[-1], dict):
        # PyTorch: a trailing dict holds keyword arguments of forward
        kw = {**args[-1], **kw}
        args = args[:-1]
    return args, kw


def _input_names(model, args, kwargs, given) -> list[str]:
    try:
        params = [p for p in inspect.signature(model.forward).parameters.values()]
    except (TypeError, ValueError):
        params = []
    names: list[str] = []
    for i, a in enumerate(args):
        base = params[i].name if i < len(params) else f"input_{i}"
        ts = flatten_tensors(a)
        names.extend(
            [base]
            if len(ts) == 1 and isinstance(a, Tensor)
            else [f"{base}.{k}" for k in range(len(ts))]
        )
    for k, v in kwargs.items():
        ts = flatten_tensors(v)
        names.extend([k] if isinstance(v, Tensor) else [f"{k}.{j}" for j in range(len(ts))])
    given = list(given or [])
    if len(given) > len(names):
        raise ValueError(
            f"input_names has {len(given)} names but the model takes {len(names)} input tensors"
        )
    return given + names[len(given) :]


def _dynamic_spec(dynamic_axes, names_in, names_out) -> dict[str, dict[int, str]]:
    spec: dict[str, dict[int, str]] = {}
    for key, axes in (dynamic_axes or {}).items():
        if key not in names_in and key not in names_out:
            warnings.warn(
                f"Provided key {key} for dynamic axes is not a valid input/output name",
                OnnxExporterWarning,
                stacklevel=3,
            )
            continue
        if isinstance(axes, dict):
            spec[key] = {int(a): str(n) for a, n in axes.items()}
        else:
            spec[key] = {int(a): f"{key}_dynamic_axes_{i + 1}" for i, a in enumerate(axes)}
    return spec


def _resized(t: Tensor, axes: dict[int, int]) -> Tensor:
    """Another input like ``t``: the given axes lengthened (cycling through its values)
    and floating values in reverse order, so that values computed from the input
    outside the trace differ between the two runs. Integer values (indices) are kept."""
    a = t._data
    for ax, new in axes.items():
        a = np.take(a, np.arange(new) % max(a.shape[ax], 1), axis=ax)
    if a.dtype.kind in "fc" and a.ndim:
        a = a.reshape(-1)[::-1].reshape(a.shape)
    return Tensor._make(np.array(a, order="C"))


def _replace_tensors(obj, tensors):
    """``obj`` with its tensors replaced, in order, by ``tensors``."""
    it = iter(tensors)
    return map_tensors(obj, lambda _: next(it))


def _second_trace(model, filt, opset, args, kw, names_in, in_spec):
    """Trace again on other input values, with every dynamic axis lengthened: by its own
    amount per symbol, or, when the model rejects that (axes it ties together, such as an
    LSTM's input batch and its initial state's), by one amount per example size."""
    in_tensors = flatten_tensors((args, kw))
    axes_of = [(nm, t, in_spec.get(nm, {})) for nm, t in zip(names_in, in_tensors)]
    symbols = sorted({s for ax in in_spec.values() for s in ax.values()})
    sizes = sorted({t.shape[ax] for _, t, axes in axes_of for ax in axes})
    by_symbol = {s: i + 1 for i, s in enumerate(symbols)}
    by_size = {n: i + 1 for i, n in enumerate(sizes)}
    error = None
    for delta in (lambda t, ax, s: by_symbol[s], lambda t, ax, s: by_size[t.shape[ax]]):
        new_ts = [
            _resized(t, {ax % t.ndim: t.shape[ax] + delta(t, ax, s) for ax, s in axes.items()})
            for _, t, axes in axes_of
        ]
        args_b, kw_b = _replace_tensors((args, kw), new_ts)
        trace_b = Tracer(model, filt, opset)
        try:
            return trace_b, trace_b.run(args_b, kw_b), new_ts
        except Exception as e:  # the model's own error on inputs of other sizes
            error = e
    raise OnnxExporterError(
        "with dynamic_axes the model runs a second time with longer dynamic axes to find the "
        f"sizes that follow them, and that run failed: {error}"
    ) from error


def _same_call(a, b) -> bool:
    # some ops make their Function class per call (split's, with its number of outputs)
    if a.kind == "op":
        same = a.target is b.target or a.target.__qualname__ == b.target.__qualname__
    else:
        same = a.target is b.target
    return same and len(a.inputs) == len(b.inputs) and len(a.outputs) == len(b.outputs)


def _align(trace_a, trace_b):
    if len(trace_a.nodes) != len(trace_b.nodes) or not all(
        _same_call(a, b) for a, b in zip(trace_a.nodes, trace_b.nodes)
    ):
        raise OnnxExporterError(
            "the model runs different operations for other sizes of its dynamic axes "
            "(its forward branches on a size); export it without dynamic_axes"
        )
    for a, b in zip(trace_a.nodes, trace_b.nodes):
        a.b = b


def build(model, args, kw, opset, input_names, output_names, dynamic_axes,
          export_params, keep_init, fold):  # fmt: skip
    """The ONNX ``ModelProto`` of ``model`` run on ``args`` (see ``export``)."""
    args, kw = _split_args(args, kw)
    names_in = _input_names(model, args, kw, input_names)
    filt = lambda m: module_converter(m, opset) is not None  # noqa: E731
    trace = Tracer(model, filt, opset)
    out = trace.run(args, kw)
    in_tensors = trace.inputs
    outs = flatten_tensors(out)
    names_out = list(output_names or [])
    if len(names_out) > len(outs):
        raise ValueError(
            f"output_names has {len(names_out)} names but the model returns {len(outs)} tensors"
        )
    default_out = ["output"] if len(outs) == 1 else [f"output_{i}" for i in range(len(outs))]
    names_out += default_out[len(names_out) :]
    spec = _dynamic_spec(dynamic_axes, names_in, names_out)

    trace_b = outs_b = None
    in_spec = {nm: ax for nm, ax in spec.items() if nm in names_in}
    for nm, t in zip(names_in, in_tensors):
        for ax in in_spec.get(nm, {}):
            if not -t.ndim <= ax < t.ndim:
                raise ValueError(f"dynamic axis {ax} of input {nm} is out of range")
    new_ts = in_tensors
    try:
        trace_b, out_b, new_ts = _second_trace(model, filt, opset, args, kw, names_in, in_spec)
        _align(trace, trace_b)
        outs_b = flatten_tensors(out_b)
    except OnnxExporterError:
        if in_spec:
            raise
        # without dynamic axes the second run only checks for values computed outside
        # the trace; a model that branches on its input values cannot be checked
        trace_b = outs_b = None
        new_ts = in_tensors
        for node in trace.nodes:
            node.b = None

    params: dict[int, str] = {}
    for name, t in model.state_dict(keep_vars=True).items():
        params.setdefault(id(t), name)
    g = Graph(opset, params, export_params)
    g.arrays = trace.arrays
    g.module_names = {id(m): name for name, m in model.named_modules()}

    graph_inputs = []
    for nm, t, tb in zip(names_in, in_tensors, new_ts):
        g.reserve(nm)
        g.set(t, nm)
        sym = in_spec.get(nm, {})
        dims = []
        for ax, size in enumerate(t.shape):
            s = sym.get(ax, sym.get(ax - t.ndim))
            if s is not None:
                dims.append(s)
                g.dyn.append((nm, ax, size, tb.shape[ax]))
            else:
                dims.append(size)
        graph_inputs.append(helper.make_tensor_value_info(nm, onnx_dtype(t._data.dtype), dims))
    for nm in names_out:
        g.reserve(nm)

    produced = {id(t) for t in in_tensors}
    for node in trace.nodes:
        produced.update(id(t) for t in node.outputs)
    if trace_b is not None:
        for node in trace.nodes:
            for ta, tb in zip(node.inputs, node.b.inputs):
                key = id(ta)
                if key in produced or key in params:
                    continue
                if ta.shape == tb.shape and not np.array_equal(ta._data, tb._data, equal_nan=True):
                    raise UnsupportedOperatorError(
                        node.name,
                        opset,
                        None,
                        f"an input of shape {list(ta.shape)} changes with the input data but was "
                        "computed by an operation the exporter cannot trace (e.g. a comparison, "
                        "argmax, or a NumPy round trip)",
                    )
                g.const_b[key] = tb

    live = {id(t) for t in in_tensors}  # values that depend on the graph inputs
    for node in trace.nodes:
        static = not any(id(t) in live for t in node.inputs)
        if not static:
            live.update(id(t) for t in node.outputs)
        if fold and node.kind == "op" and _foldable(g, node, produced):
            continue
        try:
            res = _convert(g, node, opset)
        except UnsupportedOperatorError:
            if not (fold and static and _static_shapes(node)):
                raise
            # an op on parameters only (a parametrization's weight): computed here, as
            # PyTorch's constant folding does, its result becomes an initializer
            continue
        for t, nm in zip(node.outputs, res):
            if nm is None:
                g.unavailable[id(t)] = node.name
            else:
                g.set(t, nm)

    graph_outputs = []
    out_spec = {nm: ax for nm, ax in spec.items() if nm in names_out}
    for i, (nm, t) in enumerate(zip(names_out, outs)):
        if id(t) not in g.values and id(t) not in params and outs_b is not None:
            tb = outs_b[i]
            if tb.shape != t.shape or not np.array_equal(tb._data, t._data, equal_nan=True):
                raise UnsupportedOperatorError(
                    f"output {nm}",
                    opset,
                    None,
                    "it was computed from the input by an operation the exporter cannot trace "
                    "(e.g. argmax, a comparison, or a NumPy round trip)",
                )
            g.const_b[id(t)] = tb
        g.op("Identity", g.v(t), out_names=[nm])
        sb = tuple(outs_b[i].shape) if outs_b is not None else tuple(t.shape)
        sym = out_spec.get(nm, {})
        dims = []
        for ax, (a, b) in enumerate(zip(t.shape, sb)):
            s = sym.get(ax, sym.get(ax - t.ndim))
            if s is None and a != b:
                s = next((f"{e[0]}_dim_{e[1]}" if not _sym(in_spec, e) else _sym(in_spec, e)
                          for e in g.dyn if (e[2], e[3]) == (a, b)), f"{nm}_dim_{ax}")  # fmt: skip
            dims.append(s if s is not None else a)
        graph_outputs.append(helper.make_tensor_value_info(nm, onnx_dtype(t._data.dtype), dims))

    from onnx import numpy_helper

    inits = [numpy_helper.from_array(a, name) for name, a in g.initializers.items()]
    inputs = graph_inputs + g.param_inputs
    if keep_init:
        inputs += [helper.make_tensor_value_info(i.name, i.data_type, list(i.dims)) for i in inits]
    graph = helper.make_graph(g.nodes, "main_graph", inputs, graph_outputs, initializer=inits)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="tapegrad")
    proto.ir_version = helper.find_min_ir_version_for(opsets)
    from ..version import __version__

    proto.producer_version = __version__
    return proto


def _convert(g: Graph, node, opset: int) -> list:
    """The ONNX names of a node's outputs; nothing is added to ``g`` when it fails."""
    if node.kind == "op":
        conv = converter_for(node.target)
        if conv is None:
            raise UnsupportedOperatorError(
                node.name, opset, None, "tapegrad's exporter has no ONNX conversion for it"
            )
    else:
        conv = module_converter(node.target, opset)
    mark = g.mark()
    try:
        res = conv(g, node)
    except UnsupportedOperatorError:
        g.rollback(mark)
        raise
    res = res if isinstance(res, list) else [res]
    return (res + [None] * len(node.outputs))[: len(node.outputs)]


def _static_shapes(node) -> bool:
    return node.b is None or all(a.shape == b.shape for a, b in zip(node.outputs, node.b.outputs))


def _sym(in_spec, e):
    return in_spec.get(e[0], {}).get(e[1])


def _foldable(g: Graph, node, produced) -> bool:
    """An op on constants only (no input, no parameter, no earlier op's value)."""
    for t in node.inputs:
        if id(t) in produced or id(t) in g.params or id(t) in g.values:
            return False
    # a constant whose shape follows the dynamic axes must stay an op
    if node.b is not None:
        for ta, tb in zip(node.outputs, node.b.outputs):
            if ta.shape != tb.shape:
                return False
    for t in node.outputs:
        produced.discard(id(t))
    return True

"""A module's graph for TensorBoard's graph plugin, from a tapegrad forward pass
(what ``torch.utils.tensorboard._pytorch_graph.graph`` builds from a JIT trace).

The forward runs once, in eval mode, with the floating-point inputs made leaves that
require grad, so every operation that depends on them or on a parameter is recorded in
the autograd graph. Forward hooks on every submodule say which module each recorded
node belongs to: when a module returns, the nodes behind its outputs that no module
has claimed yet are its own (inner modules return first and claim theirs); when a
module is called, the nodes behind its inputs that are still unclaimed were made by
the caller. Nodes are then named by module path as PyTorch names them
(``Net/Sequential[features]/Conv2d[0]/Convolution``), parameters are nodes of their
module (``Net/Linear[fc]/weight``), inputs are ``input/<argument name>`` and outputs
``output/output.<i>``; every edge carries the shape of the tensor it holds.

Only what autograd records is shown: integer inputs (token indices, say) and values
computed from constants alone appear without edges.
"""

from __future__ import annotations

import inspect
from typing import Any

from tensorboard.compat.proto.attr_value_pb2 import AttrValue
from tensorboard.compat.proto.config_pb2 import RunMetadata
from tensorboard.compat.proto.graph_pb2 import GraphDef
from tensorboard.compat.proto.node_def_pb2 import NodeDef
from tensorboard.compat.proto.step_stats_pb2 import DeviceStepStats, StepStats
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.compat.proto.versions_pb2 import VersionDef

import tapegrad
from tapegrad.autograd.function import AccumulateGrad

# The tensors in a (nested) tuple, list or dict, in order: DDP walks outputs the same way.
from tapegrad.nn.parallel.distributed import _output_tensors as _tensors

__all__ = ["graph"]


def _op_name(node: Any) -> str:
    # A user-defined autograd.Function's node is named after the Function.
    return getattr(node, "_fn_cls", type(node)).__name__


class _Recorder:
    """Which module scope made each node of the autograd graph."""

    def __init__(self, root_scope: str) -> None:
        self.root_scope = root_scope
        self.owner: dict[int, str] = {}
        self.nodes: dict[int, Any] = {}  # keeps the nodes alive and gives them by id
        self.stack: list[str] = []

    def claim(self, tensors: Any, scope: str) -> None:
        """Give ``scope`` every unclaimed node behind ``tensors`` (iteratively: graphs
        can be deeper than Python's recursion limit)."""
        todo = [t.grad_fn for t in _tensors(tensors) if t.grad_fn is not None]
        while todo:
            node = todo.pop()
            if id(node) in self.owner:
                continue  # claimed, and so is everything behind it
            self.owner[id(node)] = scope
            self.nodes[id(node)] = node
            todo.extend(
                fn
                for fn, _ in node.next_functions or ()
                if fn is not None and not isinstance(fn, AccumulateGrad)
            )

    def pre_hook(self, scope: str):
        def hook(module, args, kwargs):
            self.claim((args, kwargs), self.stack[-1] if self.stack else self.root_scope)
            self.stack.append(scope)

        return hook

    def post_hook(self, scope: str):
        def hook(module, args, output):
            self.claim(output, scope)
            self.stack.pop()

        return hook


def _execution_order(nodes: dict[int, Any]) -> list:
    """The nodes with every producer before its consumers (an iterative depth-first
    post-order over the edges), so names number operations in the order they ran."""
    order: list = []
    done: set[int] = set()
    for start in nodes.values():
        stack = [(start, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in done:
                continue
            if expanded:
                done.add(id(node))
                order.append(node)
                continue
            stack.append((node, True))
            for fn, _ in reversed(node.next_functions or ()):
                if fn is not None and id(fn) in nodes and id(fn) not in done:
                    stack.append((fn, False))
    return order


def _scopes(model: Any) -> dict[str, str]:
    """Module path to scope name: ``"features.0"`` -> ``"Net/Sequential[features]/Conv2d[0]"``."""
    root = type(model).__name__
    scopes = {"": root}
    for path, module in model.named_modules():
        if path:
            parent = path.rpartition(".")[0]
            scopes[path] = f"{scopes[parent]}/{type(module).__name__}[{path.rpartition('.')[2]}]"
    return scopes


def _input_names(model: Any, count: int) -> list[str]:
    # The forward's argument names, as PyTorch's trace shows them ("input/x").
    try:
        params = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = []
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
    names += [f"input.{i}" for i in range(len(names), count)]
    return names[:count]


def _shape_attr(shapes: list) -> dict[str, AttrValue]:
    attr = {"attr": AttrValue(s=b"")}
    if shapes and all(s is not None for s in shapes):
        protos = [TensorShapeProto(dim=[TensorShapeProto.Dim(size=d) for d in s]) for s in shapes]
        attr["_output_shapes"] = AttrValue(list=AttrValue.ListValue(shape=protos))
    return attr


def _run(model: Any, inputs: tuple, scopes: dict[str, str]) -> tuple[list, _Recorder]:
    """Call ``model`` once in eval mode with hooks on every module; its output tensors,
    and which scope made each node behind them."""
    recorder = _Recorder(scopes[""])
    handles = []
    for path, module in model.named_modules():
        pre = recorder.pre_hook(scopes[path])
        handles.append(module.register_forward_pre_hook(pre, with_kwargs=True))
        handles.append(module.register_forward_hook(recorder.post_hook(scopes[path])))
    was_training = model.training
    model.train(False)
    try:
        with tapegrad.enable_grad():
            output = model(*inputs)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    outputs = list(_tensors(output))
    recorder.claim(outputs, scopes[""])
    return outputs, recorder


def _node_names(nodes: list, owner: dict[int, str]) -> dict[int, str]:
    # "<scope>/<Op>", then "<scope>/<Op>_1", ... in the order the operations ran.
    names: dict[int, str] = {}
    counters: dict[str, int] = {}
    for node in nodes:
        base = f"{owner[id(node)]}/{_op_name(node)}"
        k = counters.get(base, 0)
        counters[base] = k + 1
        names[id(node)] = base if k == 0 else f"{base}_{k}"
    return names


def _output_shapes(nodes: list, outputs: list) -> dict[int, dict[int, tuple]]:
    """Shape of output ``nr`` of each node: what its consumers recorded of their inputs
    (and, for the model's outputs, the tensors themselves)."""
    shapes: dict[int, dict[int, tuple]] = {}
    for node in nodes:
        meta = getattr(node, "_in_meta", None) or ()
        for (fn, nr), m in zip(node.next_functions or (), meta):
            if fn is not None and m is not None:
                shapes.setdefault(id(fn), {})[nr] = tuple(m[0])
    for t in outputs:
        if t.grad_fn is not None:
            shapes.setdefault(id(t.grad_fn), {})[t._output_nr] = tuple(t.shape)
    return shapes


def graph(model: Any, args: Any) -> tuple[GraphDef, RunMetadata]:
    """The ``GraphDef`` of ``model`` run on ``args`` (a tensor or a tuple/list of them),
    and the (empty) run metadata PyTorch logs with it.

    Raises:
        TypeError: ``model`` is not a ``tapegrad.nn.Module``.
    """
    if not isinstance(model, tapegrad.nn.Module):
        raise TypeError(f"add_graph expects a tapegrad.nn.Module, got {type(model).__name__}")
    if args is None:
        args = ()
    elif not isinstance(args, (tuple, list)):
        args = (args,)
    # Fresh leaves that require grad, so that operations on the inputs are recorded too.
    inputs = tuple(
        a.detach().requires_grad_(True)
        if isinstance(a, tapegrad.Tensor) and a.is_floating_point()
        else a
        for a in args
    )
    scopes = _scopes(model)
    outputs, recorder = _run(model, inputs, scopes)
    nodes = _execution_order(recorder.nodes)
    names = _node_names(nodes, recorder.owner)
    out_shapes = _output_shapes(nodes, outputs)

    # The leaves: the inputs, and the parameters in their module's scope.
    leaf_names: dict[int, tuple[str, str, tuple]] = {}  # id(tensor) -> (name, op, shape)
    tensor_inputs = [
        (name, a)
        for name, a in zip(_input_names(model, len(args)), inputs)
        if isinstance(a, tapegrad.Tensor)
    ]
    for name, a in tensor_inputs:
        leaf_names[id(a)] = (f"input/{name}", "IO Node", tuple(a.shape))
    for path, p in model.named_parameters():
        module_path, _, attr = path.rpartition(".")
        scope = scopes.get(module_path, scopes[""])
        leaf_names.setdefault(id(p), (f"{scope}/{attr}", "Parameter", tuple(p.shape)))

    defs: list[NodeDef] = []
    used_leaves: dict[int, str] = {}

    def ref(fn: Any, nr: int) -> str:
        """The name an edge from output ``nr`` of ``fn`` points at (adding leaf nodes)."""
        if not isinstance(fn, AccumulateGrad):
            return names[id(fn)] if nr == 0 else f"{names[id(fn)]}:{nr}"
        var = fn.variable
        if id(var) not in used_leaves:
            # A tensor requiring grad that is neither an input nor a parameter: a "Leaf".
            default = (f"{scopes['']}/Leaf_{len(used_leaves)}", "Leaf", tuple(var.shape))
            name, op, shape = leaf_names.get(id(var), default)
            used_leaves[id(var)] = name
            defs.append(NodeDef(name=name, op=op, attr=_shape_attr([shape])))
        return used_leaves[id(var)]

    for name, a in tensor_inputs:  # every input is shown, connected or not
        if a.requires_grad:
            ref(a._accumulator(), 0)
        else:  # integer inputs: autograd records no edge from them
            shape = _shape_attr([tuple(a.shape)])
            defs.append(NodeDef(name=f"input/{name}", op="IO Node", attr=shape))
    for node in nodes:
        inputs_of = [ref(fn, nr) for fn, nr in node.next_functions or () if fn is not None]
        found = out_shapes.get(id(node), {})
        attr = _shape_attr([found.get(i) for i in range(getattr(node, "num_outputs", 1))])
        defs.append(NodeDef(name=names[id(node)], op=_op_name(node), input=inputs_of, attr=attr))
    for i, t in enumerate(outputs):
        if t.grad_fn is not None:
            source = [ref(t.grad_fn, t._output_nr)]
        else:  # an input returned as it is, or a value autograd did not record
            source = [used_leaves[id(t)]] if id(t) in used_leaves else []
        shape = _shape_attr([tuple(t.shape)])
        defs.append(NodeDef(name=f"output/output.{i + 1}", op="IO Node", input=source, attr=shape))
    stats = RunMetadata(step_stats=StepStats(dev_stats=[DeviceStepStats(device="/device:CPU:0")]))
    return GraphDef(node=defs, versions=VersionDef(producer=22)), stats

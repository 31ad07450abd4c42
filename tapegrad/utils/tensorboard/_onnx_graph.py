"""An ONNX model file as a ``GraphDef`` for TensorBoard's graph plugin (mirrors
``torch.utils.tensorboard._onnx_graph``); reading the file needs the ``onnx`` package."""

from __future__ import annotations

import os

from tensorboard.compat.proto.attr_value_pb2 import AttrValue
from tensorboard.compat.proto.graph_pb2 import GraphDef
from tensorboard.compat.proto.node_def_pb2 import NodeDef
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.compat.proto.versions_pb2 import VersionDef

__all__ = ["load_onnx_graph", "parse"]


def load_onnx_graph(fname: str | os.PathLike) -> GraphDef:
    """The ``GraphDef`` of the ONNX model in ``fname``.

    Raises:
        ImportError: the ``onnx`` package is not installed.
    """
    try:
        import onnx
    except ImportError as e:
        raise ImportError(
            'add_onnx_graph reads ONNX files with the onnx package: pip install "tapegrad[onnx]"'
        ) from e
    return parse(onnx.load(os.fspath(fname)).graph)


def parse(graph) -> GraphDef:
    """A ``GraphDef`` of an ONNX ``GraphProto``, laid out as PyTorch lays it out: the
    graph's inputs and outputs as ``Variable`` nodes with their element type and shape,
    then one node per operator, named after its first output, with its attributes as
    text."""
    nodes = []
    for value in [*graph.input, *graph.output]:
        tensor_type = value.type.tensor_type
        shape = TensorShapeProto(
            dim=[TensorShapeProto.Dim(size=d.dim_value) for d in tensor_type.shape.dim]
        )
        attr = {"dtype": AttrValue(type=tensor_type.elem_type), "shape": AttrValue(shape=shape)}
        nodes.append(NodeDef(name=value.name, op="Variable", input=[], attr=attr))
    for node in graph.node:
        described = [" = ".join(str(f[1]) for f in a.ListFields()) for a in node.attribute]
        params = AttrValue(s=", ".join(described).encode("utf_8"))
        nodes.append(
            NodeDef(
                name=node.output[0], op=node.op_type, input=node.input, attr={"parameters": params}
            )
        )
    return GraphDef(node=nodes, versions=VersionDef(producer=22))

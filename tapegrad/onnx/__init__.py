"""ONNX export (mirrors ``torch.onnx``).

:func:`export` traces a module's forward and writes an ONNX model built with the
``onnx`` package (the optional extra ``pip install "tapegrad[onnx]"``); the exported
file runs in ONNX Runtime and any other ONNX consumer::

    >>> import tapegrad as torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    >>> torch.onnx.export(net, torch.randn(2, 4), "net.onnx", input_names=["x"],
    ...                   dynamic_axes={"x": {0: "batch"}})
"""

from __future__ import annotations

from . import errors
from ._export import DEFAULT_OPSET, TrainingMode, export, is_in_onnx_export
from .errors import OnnxExporterError, UnsupportedOperatorError

__all__ = [
    "DEFAULT_OPSET",
    "OnnxExporterError",
    "TrainingMode",
    "UnsupportedOperatorError",
    "errors",
    "export",
    "is_in_onnx_export",
]

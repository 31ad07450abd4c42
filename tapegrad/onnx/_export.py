"""``torch.onnx.export``: its signature and modes; the work is in ``_convert``.

This module imports without the ``onnx`` package (the optional extra), so that
``tapegrad.onnx`` always imports and ``export`` can say how to install it.
"""

from __future__ import annotations

import enum
import io
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from ..serialization import _atomic_write

if TYPE_CHECKING:
    from ..nn import Module

DEFAULT_OPSET = 20  # PyTorch 2.13's default for the TorchScript exporter
MIN_OPSET = 14
_MISSING = 'tapegrad.onnx.export needs the onnx package: pip install "tapegrad[onnx]"'


class TrainingMode(enum.IntEnum):
    """The mode a model is exported in (``torch.onnx.TrainingMode``)."""

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


_state = {"in_export": False}


def is_in_onnx_export() -> bool:
    """Whether an export is running (``torch.onnx.is_in_onnx_export``)."""
    return _state["in_export"]


def _opset(opset_version) -> int:
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not MIN_OPSET <= opset <= DEFAULT_OPSET:
        raise ValueError(
            f"Unsupported ONNX opset version: {opset}; tapegrad exports opsets {MIN_OPSET} to "
            f"{DEFAULT_OPSET}"
        )
    return opset


def export(
    model: Module,
    args: Any = (),
    f: str | os.PathLike | BinaryIO | None = None,
    *,
    kwargs: dict[str, Any] | None = None,
    verbose: bool | None = None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    opset_version: int | None = None,
    dynamo: bool = False,
    export_params: bool = True,
    keep_initializers_as_inputs: bool = False,
    dynamic_axes: Mapping[str, Mapping[int, str] | Sequence[int]] | None = None,
    training: TrainingMode = TrainingMode.EVAL,
    do_constant_folding: bool = True,
    **unused,
) -> None:
    """Export a module to an ONNX file (``torch.onnx.export`` with ``dynamo=False``).

    The module's forward runs once on ``args`` (twice with ``dynamic_axes``) while its
    primitive ops and its recurrent, embedding and normalization layers are recorded;
    the record becomes an ONNX graph checked with ``onnx.checker.check_model``.

    Args:
        model: the ``nn.Module`` to export.
        args: the example input: a tensor or a tuple of arguments of ``forward``; a
            trailing dict holds keyword arguments.
        f: a path, or a binary file object the model's bytes are written to.
        kwargs: more keyword arguments of ``forward``.
        verbose: print the exported graph.
        input_names: names of the graph inputs (the flattened input tensors); defaults
            to forward's parameter names.
        output_names: names of the graph outputs; defaults to ``output`` (``output_i``).
        opset_version: the ONNX opset, 14 to 20 (default 20, PyTorch's default).
        dynamo: accepted for compatibility; tapegrad always uses its tracing exporter.
        export_params: store the parameters as initializers (else they are inputs).
        keep_initializers_as_inputs: also list the initializers as graph inputs.
        dynamic_axes: ``{name: {axis: symbol}}`` or ``{name: [axes]}``: sizes left open.
        training: ``TrainingMode.EVAL`` (export in eval mode, the default) or
            ``TrainingMode.PRESERVE`` (the model's current mode); the mode is restored.
        do_constant_folding: compute ops on constants (not on parameters) at export time.
        **unused: other ``torch.onnx.export`` options (``operator_export_type``,
            ``custom_opsets``, ...) are accepted and ignored.

    Raises:
        ImportError: the ``onnx`` package is missing.
        tapegrad.onnx.errors.UnsupportedOperatorError: an op or module has no ONNX form.
        ValueError: an unsupported opset or training mode, or too many input names.
    """
    try:
        import onnx
        import onnx.printer

        from ._convert import build
    except ModuleNotFoundError as e:
        if e.name is None or e.name.split(".")[0] != "onnx":
            raise
        raise ImportError(_MISSING) from e
    opset = _opset(opset_version)
    if training == TrainingMode.TRAINING:
        raise ValueError(
            "training=TrainingMode.TRAINING is not supported by tapegrad's exporter; export "
            "with TrainingMode.EVAL (or PRESERVE on a model in eval mode)"
        )
    if f is None:
        raise ValueError("torch.onnx.export: f (a path or a binary file object) is required")
    modes = [(m, m.training) for m in model.modules()]
    if training == TrainingMode.EVAL:
        model.eval()
    _state["in_export"] = True
    try:
        proto = build(
            model, args, kwargs, opset, input_names, output_names, dynamic_axes,
            export_params, keep_initializers_as_inputs, do_constant_folding,
        )  # fmt: skip
    finally:
        _state["in_export"] = False
        for m, mode in modes:
            m.training = mode
    onnx.checker.check_model(proto)
    if verbose:
        print(onnx.printer.to_text(proto.graph))
    data = proto.SerializeToString()
    if isinstance(f, (str, os.PathLike)):
        # the same atomic write as tapegrad.save: a temporary file, then a rename
        _atomic_write(os.fspath(f), lambda fp: fp.write(data))
    elif isinstance(f, io.TextIOBase) or not hasattr(f, "write"):
        raise TypeError(
            f"torch.onnx.export: f must be a path or a binary file object, got {type(f).__name__}"
        )
    else:
        f.write(data)

"""ONNX exporter exceptions (mirrors ``torch.onnx.errors``)."""

from __future__ import annotations

__all__ = ["OnnxExporterError", "OnnxExporterWarning", "UnsupportedOperatorError"]


class OnnxExporterWarning(UserWarning):
    """Warnings in the ONNX exporter (``torch.onnx.errors.OnnxExporterWarning``)."""


class OnnxExporterError(RuntimeError):
    """Base class of the exporter's errors (``torch.onnx.errors.OnnxExporterError``)."""


class UnsupportedOperatorError(OnnxExporterError):
    """An operation or module the exporter cannot express in ONNX
    (``torch.onnx.errors.UnsupportedOperatorError``).

    Args:
        name: the operation, e.g. ``"aten::erfinv"`` or ``"nn.EmbeddingBag"``.
        version: the ONNX opset version being exported to.
        supported_version: the first opset that supports it, or ``None`` when none does.
        detail: why it is unsupported and what to do instead, appended to the message.
    """

    def __init__(
        self, name: str, version: int, supported_version: int | None = None, detail: str = ""
    ) -> None:
        if supported_version is not None:
            msg = (
                f"Exporting the operator '{name}' to ONNX opset version {version} is not "
                f"supported. Support for this operator was added in version {supported_version}, "
                "try exporting with this version"
            )
        else:
            msg = (
                f"Exporting the operator '{name}' to ONNX opset version {version} is not supported"
            )
        if detail:
            msg += f": {detail}"
        super().__init__(msg)
        self.name = name

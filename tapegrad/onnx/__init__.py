"""ONNX export (mirrors ``torch.onnx``).

The package imports, so programs that ``import torch.onnx`` run; the exporter itself
is not available yet, and :func:`export` says so.
"""

from __future__ import annotations

__all__ = ["export", "is_in_onnx_export"]


def export(model, args=(), f=None, *pargs, **kwargs):
    """Export a model to ONNX (``torch.onnx.export``): not available in tapegrad yet.

    Raises ``NotImplementedError`` (nothing is written); save the weights with
    ``tapegrad.save(model.state_dict(), path)`` and export them from PyTorch meanwhile.
    """
    raise NotImplementedError(
        "torch.onnx.export: tapegrad's ONNX exporter is not available yet; save the "
        "weights with tapegrad.save(model.state_dict(), PATH), load them into the same "
        "model in PyTorch and export from there"
    )


def is_in_onnx_export() -> bool:
    """``False``: no export is ever in progress (``torch.onnx.is_in_onnx_export``)."""
    return False

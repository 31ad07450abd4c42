"""Padding layers: constant, zero, reflection, replication and circular, 1-D to 3-D."""

from __future__ import annotations

from .. import functional as F
from .module import Module
from .utils import _ntuple, _pair, _quadruple

__all__ = [
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
]

_sextuple = _ntuple(6, "_sextuple")
_EXPAND = {1: _pair, 2: _quadruple, 3: _sextuple}


def _check_dim(input, n: int) -> None:
    # Circular padding of an n-d layer takes (n+1)-D or (n+2)-D inputs.
    if input.dim() not in (n + 1, n + 2):
        raise ValueError(f"expected {n + 1}D or {n + 2}D input (got {input.dim()}D input)")


class _ConstantPadNd(Module):
    """Pad with a constant value (``torch.nn.modules.padding._ConstantPadNd``)."""

    _n = 1

    def __init__(self, padding, value: float) -> None:
        super().__init__()
        self.padding = _EXPAND[self._n](padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _PadNd(Module):
    """Pad by a non-constant ``mode`` (reflect, replicate or circular)."""

    _n = 1
    _mode = "reflect"

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _EXPAND[self._n](padding)

    def forward(self, input):
        if self._mode == "circular":
            _check_dim(input, self._n)
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last 1 dim(s) with a constant (``nn.ConstantPad1d``).

    Args:
        padding: The padding: an int for every side, or a tuple (left, right, top, bottom,
            front, back: as many as the padded dimensions).
        value: The fill value.
    """

    _n = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last 2 dim(s) with a constant (``nn.ConstantPad2d``).

    Args:
        padding: The padding: an int for every side, or a tuple (left, right, top, bottom,
            front, back: as many as the padded dimensions).
        value: The fill value.
    """

    _n = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last 3 dim(s) with a constant (``nn.ConstantPad3d``).

    Args:
        padding: The padding: an int for every side, or a tuple (left, right, top, bottom,
            front, back: as many as the padded dimensions).
        value: The fill value.
    """

    _n = 3


class ZeroPad1d(ConstantPad1d):
    """Pad the last 1 dim(s) with zeros (``nn.ZeroPad1d``).

    Args:
        padding: The padding: an int for every side, or a tuple (left, right, top, bottom,
            front, back: as many as the padded dimensions).
    """

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last 2 dim(s) with zeros (``nn.ZeroPad2d``).

    Args:
        padding: The padding: an int for every side, or a tuple (left, right, top, bottom,
            front, back: as many as the padded dimensions).
    """

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pad the last 3 dim(s) with zeros (``nn.ZeroPad3d``).

    Args:
        padding: The padding: an int for every side, or a tuple (left, right, top, bottom,
            front, back: as many as the padded dimensions).
    """

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Pad the last 1 dim(s) with the reflection of the input (``nn.ReflectionPad1d``).

    Args:
        padding: The padding: an int for every side, or a tuple (left, right, top, bottom,
            front, back: as many as the padded dimensions).
    """

    _n = 1
    _mode = "reflect"


class ReflectionPad2d(_PadNd):
    """Pad the last 2 dim(s) with the reflection of the input (``nn.ReflectionPad2d``).

    Args:
        padding: The padding: an int for every side, or a tuple (left, right, top, bottom,
            front, back: as many as the padded dimensions).
    """

    _n = 2
    _mode = "reflect"


class ReflectionPad3d(_PadNd):
    """Pad the last 3 dim(s) with the reflection of the input (``nn.ReflectionPad3d``).

    Args:
        padding: The padding: an int for every side, or a tuple (left, right, top, bottom,
            front, back: as many as the padded dimensions).
    """

    _n = 3
    _mode = "reflect"


class ReplicationPad1d(_PadNd):
    """Pad the last 1 dim(s) with copies of the edge (``nn.ReplicationPad1d``).

    Args:
        padding: The padding: an int for every side, or a tuple (left, right, top, bottom,
            front, back: as many as the padded dimensions).
    """

    _n = 1
    _mode = "replicate"


class ReplicationPad2d(_PadNd):
    """Pad the last 2 dim(s) with copies of the edge (``nn.ReplicationPad2d``).

    Args:
        padding: The padding: an int for every side, or a tuple (left, right, top, bottom,
            front, back: as many as the padded dimensions).
    """

    _n = 2
    _mode = "replicate"


class ReplicationPad3d(_PadNd):
    """Pad the last 3 dim(s) with copies of the edge (``nn.ReplicationPad3d``).

    Args:
        padding: The padding: an int for every side, or a tuple (left, right, top, bottom,
            front, back: as many as the padded dimensions).
    """

    _n = 3
    _mode = "replicate"


class CircularPad1d(_PadNd):
    """Pad the last 1 dim(s) with the input wrapped around (``nn.CircularPad1d``).

    Args:
        padding: The padding: an int for every side, or a tuple (left, right, top, bottom,
            front, back: as many as the padded dimensions).
    """

    _n = 1
    _mode = "circular"


class CircularPad2d(_PadNd):
    """Pad the last 2 dim(s) with the input wrapped around (``nn.CircularPad2d``).

    Args:
        padding: The padding: an int for every side, or a tuple (left, right, top, bottom,
            front, back: as many as the padded dimensions).
    """

    _n = 2
    _mode = "circular"


class CircularPad3d(_PadNd):
    """Pad the last 3 dim(s) with the input wrapped around (``nn.CircularPad3d``).

    Args:
        padding: The padding: an int for every side, or a tuple (left, right, top, bottom,
            front, back: as many as the padded dimensions).
    """

    _n = 3
    _mode = "circular"

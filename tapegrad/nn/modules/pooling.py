"""Pooling layers: max, average, LP, adaptive pooling and max-unpooling (``torch.nn``)."""

from __future__ import annotations

from .. import functional as F
from .module import Module
from .utils import _pair, _single


class _MaxPoolNd(Module):
    """Shared arguments of the max-pooling layers (``torch.nn.modules.pooling._MaxPoolNd``)."""

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )

    def _pool(self, fn, input):
        return fn(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling over (N, C, L) (``nn.MaxPool1d``); stride defaults to kernel_size.

    Args:
        kernel_size: Size of the window: an int or a tuple per dimension.
        stride: Step of the window (default: ``kernel_size``).
        padding: Implicit padding on each side (negative infinity for max pooling, zeros for
            average pooling).
        dilation: Spacing between the kernel's elements.
        return_indices: Also return the indices of the maxima (for ``MaxUnpool``).
        ceil_mode: Round the output size up instead of down.
    """

    def forward(self, input):
        return self._pool(F.max_pool1d, input)


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling over (N, C, H, W) (``nn.MaxPool2d``); stride defaults to kernel_size.

    >>> pool = MaxPool2d(3)  # the seed CNN's first pooling

    Args:
        kernel_size: Size of the window: an int or a tuple per dimension.
        stride: Step of the window (default: ``kernel_size``).
        padding: Implicit padding on each side (negative infinity for max pooling, zeros for
            average pooling).
        dilation: Spacing between the kernel's elements.
        return_indices: Also return the indices of the maxima (for ``MaxUnpool``).
        ceil_mode: Round the output size up instead of down.
    """

    def forward(self, input):
        return self._pool(F.max_pool2d, input)


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling over (N, C, D, H, W) (``nn.MaxPool3d``).

    Args:
        kernel_size: Size of the window: an int or a tuple per dimension.
        stride: Step of the window (default: ``kernel_size``).
        padding: Implicit padding on each side (negative infinity for max pooling, zeros for
            average pooling).
        dilation: Spacing between the kernel's elements.
        return_indices: Also return the indices of the maxima (for ``MaxUnpool``).
        ceil_mode: Round the output size up instead of down.
    """

    def forward(self, input):
        return self._pool(F.max_pool3d, input)


class _AvgPoolNd(Module):
    """Shared repr of the average-pooling layers (``torch.nn.modules.pooling._AvgPoolNd``)."""

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """1-D average pooling over (N, C, L) (``nn.AvgPool1d``).

    Args:
        kernel_size: Size of the window: an int or a tuple per dimension.
        stride: Step of the window (default: ``kernel_size``).
        padding: Implicit padding on each side (negative infinity for max pooling, zeros for
            average pooling).
        ceil_mode: Round the output size up instead of down.
        count_include_pad: Count the zero padding in the divisor of the average.
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):
        return F.avg_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )


class AvgPool2d(_AvgPoolNd):
    """2-D average pooling over (N, C, H, W) (``nn.AvgPool2d``).

    Args:
        kernel_size: Size of the window: an int or a tuple per dimension.
        stride: Step of the window (default: ``kernel_size``).
        padding: Implicit padding on each side (negative infinity for max pooling, zeros for
            average pooling).
        ceil_mode: Round the output size up instead of down.
        count_include_pad: Count the zero padding in the divisor of the average.
        divisor_override: If given, the divisor of the sums instead of the window size.
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override=None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return F.avg_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )


class AvgPool3d(_AvgPoolNd):
    """3-D average pooling over (N, C, D, H, W) (``nn.AvgPool3d``).

    Args:
        kernel_size: Size of the window: an int or a tuple per dimension.
        stride: Step of the window (default: ``kernel_size``).
        padding: Implicit padding on each side (negative infinity for max pooling, zeros for
            average pooling).
        ceil_mode: Round the output size up instead of down.
        count_include_pad: Count the zero padding in the divisor of the average.
        divisor_override: If given, the divisor of the sums instead of the window size.
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override=None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return F.avg_pool3d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )


class _LPPoolNd(Module):
    """Shared arguments of the power-average pooling layers (``_LPPoolNd``)."""

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False):
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (
            f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, ceil_mode={self.ceil_mode}"
        )


class LPPool1d(_LPPoolNd):
    """1-D power-average pooling (``nn.LPPool1d``).

    Args:
        norm_type: The power p of the p-norm.
        kernel_size: Size of the window: an int or a tuple per dimension.
        stride: Step of the window (default: ``kernel_size``).
        ceil_mode: Round the output size up instead of down.
    """

    def forward(self, input):
        return F.lp_pool1d(
            input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode
        )


class LPPool2d(_LPPoolNd):
    """2-D power-average pooling (``nn.LPPool2d``).

    Args:
        norm_type: The power p of the p-norm.
        kernel_size: Size of the window: an int or a tuple per dimension.
        stride: Step of the window (default: ``kernel_size``).
        ceil_mode: Round the output size up instead of down.
    """

    def forward(self, input):
        return F.lp_pool2d(
            input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode
        )


class _AdaptiveMaxPoolNd(Module):
    """Shared arguments of the adaptive max-pooling layers."""

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """1-D adaptive max pooling to ``output_size`` (``nn.AdaptiveMaxPool1d``).

    Args:
        output_size: The output size: an int or a tuple (``None`` keeps the input's size in that
            dimension).
        return_indices: Also return the indices of the maxima (for ``MaxUnpool``).
    """

    def forward(self, input):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """2-D adaptive max pooling to ``output_size`` (``nn.AdaptiveMaxPool2d``).

    Args:
        output_size: The output size: an int or a tuple (``None`` keeps the input's size in that
            dimension).
        return_indices: Also return the indices of the maxima (for ``MaxUnpool``).
    """

    def forward(self, input):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """3-D adaptive max pooling to ``output_size`` (``nn.AdaptiveMaxPool3d``).

    Args:
        output_size: The output size: an int or a tuple (``None`` keeps the input's size in that
            dimension).
        return_indices: Also return the indices of the maxima (for ``MaxUnpool``).
    """

    def forward(self, input):
        return F.adaptive_max_pool3d(input, self.output_size, self.return_indices)


class _AdaptiveAvgPoolNd(Module):
    """Shared arguments of the adaptive average-pooling layers."""

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """1-D adaptive average pooling to ``output_size`` (``nn.AdaptiveAvgPool1d``).

    Args:
        output_size: The output size: an int or a tuple (``None`` keeps the input's size in that
            dimension).
    """

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """2-D adaptive average pooling to ``output_size`` (``nn.AdaptiveAvgPool2d``).

    >>> gap = AdaptiveAvgPool2d(1)  # global average pooling

    Args:
        output_size: The output size: an int or a tuple (``None`` keeps the input's size in that
            dimension).
    """

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """3-D adaptive average pooling to ``output_size`` (``nn.AdaptiveAvgPool3d``).

    Args:
        output_size: The output size: an int or a tuple (``None`` keeps the input's size in that
            dimension).
    """

    def forward(self, input):
        return F.adaptive_avg_pool3d(input, self.output_size)


class _MaxUnpoolNd(Module):
    """Shared repr of the max-unpooling layers."""

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of MaxPool1d (``nn.MaxUnpool1d``).

    Args:
        kernel_size: The window size of the max pooling inverted.
        stride: Its stride (default: ``kernel_size``).
        padding: Its padding.
    """

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if (stride is not None) else kernel_size)
        self.padding = _single(padding)

    def forward(self, input, indices, output_size=None):
        return F.max_unpool1d(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of MaxPool2d (``nn.MaxUnpool2d``): values back at their indices.

    Args:
        kernel_size: The window size of the max pooling inverted.
        stride: Its stride (default: ``kernel_size``).
        padding: Its padding.
    """

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride if (stride is not None) else kernel_size)
        self.padding = _pair(padding)

    def forward(self, input, indices, output_size=None):
        return F.max_unpool2d(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )


__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "LPPool1d",
    "LPPool2d",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
]

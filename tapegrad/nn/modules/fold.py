"""Sliding-block layers: Fold (col2im) and Unfold (im2col)."""

from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["Fold", "Unfold"]


class Fold(Module):
    """Sum sliding local blocks back into a (N, C, H, W) tensor (``nn.Fold``).

    Args:
        output_size: The spatial shape of the output (H, W).
        kernel_size: Size of the sliding blocks: an int or a pair.
        dilation: Spacing between the kernel's elements.
        padding: Implicit zero padding on both sides of the spatial dimensions.
        stride: Step of the sliding blocks.
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return F.fold(
            input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride
        )

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
            f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}"
        )


class Unfold(Module):
    """Extract sliding local blocks of a (N, C, H, W) tensor as columns (``nn.Unfold``).

    Args:
        kernel_size: Size of the sliding blocks: an int or a pair.
        dilation: Spacing between the kernel's elements.
        padding: Implicit zero padding on both sides of the spatial dimensions.
        stride: Step of the sliding blocks.
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
            f"stride={self.stride}"
        )

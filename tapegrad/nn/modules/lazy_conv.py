"""Lazy convolutions: ``in_channels`` is read from the first input, then the layer
becomes the regular convolution (``torch.nn.LazyConv*``)."""

from __future__ import annotations

from ..parameter import UninitializedParameter
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .lazy import LazyModuleMixin

__all__ = [
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
]


class _LazyConvXdMixin(LazyModuleMixin):
    """Shape inference shared by the lazy convolutions
    (``torch.nn.modules.conv._LazyConvXdMixin``)."""

    _spatial = 2

    def _uninitialized(self, out_channels: int, bias: bool, device, dtype) -> None:
        """Replace the placeholder parameters of the 0-channel base with uninitialised ones."""
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation once the shapes are known."""
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def _get_in_channels(self, input) -> int:
        no_batch = self._spatial + 1
        if input.dim() not in (no_batch, no_batch + 1):
            raise RuntimeError(
                f"Expected {no_batch}D (unbatched) or {no_batch + 1}D (batched) input to "
                f"{self.__class__.__name__}, but got input of size: {input.shape}"
            )
        return input.shape[1] if input.dim() == no_batch + 1 else input.shape[0]

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        """Infer ``in_channels`` from ``input`` and initialise weight and bias."""
        if self.has_uninitialized_params():
            self.in_channels = self._get_in_channels(input)
            if self.in_channels % self.groups != 0:
                raise ValueError("in_channels must be divisible by groups")
            if self.transposed:
                shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
            else:
                shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
            self.weight.materialize(shape)
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()


class LazyConv1d(_LazyConvXdMixin, Conv1d):
    """Conv1d with ``in_channels`` inferred from the first input (``nn.LazyConv1d``).

    Args:
        out_channels: Channels of the output.
        kernel_size: Size of the window: an int or a tuple per dimension.
        stride: Step of the window: an int or a tuple per dimension.
        padding: Zero padding on each side: an int, a tuple per dimension, or ``'valid'`` /
            ``'same'``.
        dilation: Spacing between the kernel's elements.
        groups: Blocked connections from input to output channels (both divisible by it).
        bias: Learn an additive bias.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
    """

    cls_to_become = Conv1d
    _spatial = 1

    def __init__(
        self,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode,
            device=device, dtype=dtype,
        )  # fmt: skip
        self._uninitialized(out_channels, bias, device, dtype)


class LazyConv2d(_LazyConvXdMixin, Conv2d):
    """Conv2d with ``in_channels`` inferred from the first input (``nn.LazyConv2d``).

    Args:
        out_channels: Channels of the output.
        kernel_size: Size of the window: an int or a tuple per dimension.
        stride: Step of the window: an int or a tuple per dimension.
        padding: Zero padding on each side: an int, a tuple per dimension, or ``'valid'`` /
            ``'same'``.
        dilation: Spacing between the kernel's elements.
        groups: Blocked connections from input to output channels (both divisible by it).
        bias: Learn an additive bias.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
    """

    cls_to_become = Conv2d
    _spatial = 2

    def __init__(
        self,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode,
            device=device, dtype=dtype,
        )  # fmt: skip
        self._uninitialized(out_channels, bias, device, dtype)


class LazyConv3d(_LazyConvXdMixin, Conv3d):
    """Conv3d with ``in_channels`` inferred from the first input (``nn.LazyConv3d``).

    Args:
        out_channels: Channels of the output.
        kernel_size: Size of the window: an int or a tuple per dimension.
        stride: Step of the window: an int or a tuple per dimension.
        padding: Zero padding on each side: an int, a tuple per dimension, or ``'valid'`` /
            ``'same'``.
        dilation: Spacing between the kernel's elements.
        groups: Blocked connections from input to output channels (both divisible by it).
        bias: Learn an additive bias.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
    """

    cls_to_become = Conv3d
    _spatial = 3

    def __init__(
        self,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode,
            device=device, dtype=dtype,
        )  # fmt: skip
        self._uninitialized(out_channels, bias, device, dtype)


class LazyConvTranspose1d(_LazyConvXdMixin, ConvTranspose1d):
    """ConvTranspose1d with ``in_channels`` inferred from the first input
    (``nn.LazyConvTranspose1d``).

    Args:
        out_channels: Channels of the output.
        kernel_size: Size of the window: an int or a tuple per dimension.
        stride: Step of the window: an int or a tuple per dimension.
        padding: Zero padding on each side: an int, a tuple per dimension, or ``'valid'`` /
            ``'same'``.
        output_padding: Size added to one side of the output, to choose among the sizes a stride
            allows.
        groups: Blocked connections from input to output channels (both divisible by it).
        bias: Learn an additive bias.
        dilation: Spacing between the kernel's elements.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
    """

    cls_to_become = ConvTranspose1d
    _spatial = 1

    def __init__(
        self,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation,
            padding_mode, device=device, dtype=dtype,
        )  # fmt: skip
        self._uninitialized(out_channels, bias, device, dtype)


class LazyConvTranspose2d(_LazyConvXdMixin, ConvTranspose2d):
    """ConvTranspose2d with ``in_channels`` inferred from the first input
    (``nn.LazyConvTranspose2d``).

    Args:
        out_channels: Channels of the output.
        kernel_size: Size of the window: an int or a tuple per dimension.
        stride: Step of the window: an int or a tuple per dimension.
        padding: Zero padding on each side: an int, a tuple per dimension, or ``'valid'`` /
            ``'same'``.
        output_padding: Size added to one side of the output, to choose among the sizes a stride
            allows.
        groups: Blocked connections from input to output channels (both divisible by it).
        bias: Learn an additive bias.
        dilation: Spacing between the kernel's elements.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
    """

    cls_to_become = ConvTranspose2d
    _spatial = 2

    def __init__(
        self,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation,
            padding_mode, device=device, dtype=dtype,
        )  # fmt: skip
        self._uninitialized(out_channels, bias, device, dtype)


class LazyConvTranspose3d(_LazyConvXdMixin, ConvTranspose3d):
    """ConvTranspose3d with ``in_channels`` inferred from the first input
    (``nn.LazyConvTranspose3d``).

    Args:
        out_channels: Channels of the output.
        kernel_size: Size of the window: an int or a tuple per dimension.
        stride: Step of the window: an int or a tuple per dimension.
        padding: Zero padding on each side: an int, a tuple per dimension, or ``'valid'`` /
            ``'same'``.
        output_padding: Size added to one side of the output, to choose among the sizes a stride
            allows.
        groups: Blocked connections from input to output channels (both divisible by it).
        bias: Learn an additive bias.
        dilation: Spacing between the kernel's elements.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        device: The device of the parameters and buffers.
        dtype: The dtype of the parameters and buffers (default: the default dtype).
    """

    cls_to_become = ConvTranspose3d
    _spatial = 3

    def __init__(
        self,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation,
            padding_mode, device=device, dtype=dtype,
        )  # fmt: skip
        self._uninitialized(out_channels, bias, device, dtype)

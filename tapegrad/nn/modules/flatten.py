"""Flatten and Unflatten."""

from __future__ import annotations

from ...ops import shape as S
from .module import Module


class Flatten(Module):
    """Flatten dims start_dim..end_dim into one (``nn.Flatten``).

    Args:
        start_dim: First dimension to flatten.
        end_dim: Last dimension to flatten.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        return S.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expand one dim into ``unflattened_size`` (``nn.Unflatten``).

    Args:
        dim: The dimension to unflatten.
        unflattened_size: The shape the dimension ``dim`` is unflattened into.
    """

    def __init__(self, dim, unflattened_size) -> None:
        super().__init__()
        if isinstance(dim, int):
            if not isinstance(unflattened_size, (tuple, list)):
                raise TypeError(
                    "unflattened_size must be a tuple of ints, but found type "
                    f"{type(unflattened_size).__name__}"
                )
            for idx, elem in enumerate(unflattened_size):
                if not isinstance(elem, int):
                    raise TypeError(
                        "unflattened_size must be tuple of ints, but found element of type "
                        f"{type(elem).__name__} at pos {idx}"
                    )
        elif isinstance(dim, str):
            raise TypeError("named tensors are not supported by tapegrad's Unflatten")
        else:
            raise TypeError("invalid argument type for dim parameter")
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input):
        return S.unflatten(input, self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"

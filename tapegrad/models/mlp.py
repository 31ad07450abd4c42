"""A multi-layer perceptron for flattened images."""

from __future__ import annotations

from collections.abc import Sequence

from .. import nn


class MLP(nn.Sequential):
    """Flatten, then ``Linear``/``ReLU`` (and optional ``Dropout``) layers, then a final
    ``Linear`` to ``num_classes`` logits (cf. ``torchvision.ops.MLP``).

    The layers are numbered as in an ``nn.Sequential`` (``0`` is the ``Flatten``).

    Example:

        >>> net = MLP(784, [256, 128], 10)      # 784 -> 256 -> 128 -> 10

    Args:
        in_features: Features of the (flattened) input.
        hidden_features: Widths of the hidden layers.
        num_classes: Number of output classes (logits).
        dropout: Dropout probability (0: no dropout layer).
    """

    def __init__(
        self,
        in_features: int = 784,
        hidden_features: Sequence[int] = (256,),
        num_classes: int = 10,
        dropout: float = 0.0,
    ) -> None:
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for hidden in hidden_features:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = hidden
        layers.append(nn.Linear(width, num_classes))
        super().__init__(*layers)


def mlp(in_features: int = 784, num_classes: int = 10, **kwargs) -> MLP:
    """An ``MLP`` with one hidden layer of 256 units by default.

    Args:
        in_features: Features of the (flattened) input.
        num_classes: Number of output classes (logits).
        **kwargs: Passed to the model's class.

    Returns:
        An ``MLP``.
    """
    return MLP(in_features, num_classes=num_classes, **kwargs)

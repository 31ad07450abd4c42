"""TensorBoard logging (mirrors ``torch.utils.tensorboard``).

``SummaryWriter`` writes event files with the ``tensorboard`` package's own
``EventFileWriter`` and protocol buffers, so TensorBoard reads them as it reads
PyTorch's. Install the extra with ``pip install "tapegrad[tensorboard]"``, then view a
run with ``tensorboard --logdir runs``.

Example::

    >>> from tapegrad.utils.tensorboard import SummaryWriter
    >>> with SummaryWriter("runs/exp1") as writer:
    ...     for step in range(100):
    ...         writer.add_scalar("loss/train", 1.0 / (step + 1), step)
"""

try:
    import tensorboard  # noqa: F401
except ImportError as e:  # an optional extra: say how to get it
    raise ImportError(
        "tapegrad.utils.tensorboard needs the tensorboard package, which is not installed; "
        'install it with: pip install "tapegrad[tensorboard]"'
    ) from e

from .writer import FileWriter, SummaryWriter

__all__ = ["FileWriter", "SummaryWriter"]

"""cuDNN flags (mirrors ``torch.backends.cudnn``); tapegrad never uses cuDNN.

``enabled``, ``benchmark``, ``deterministic`` and ``allow_tf32`` hold PyTorch's defaults
on a CPU-only build; programs may set them, to no effect.
"""

from __future__ import annotations

enabled: bool = True
benchmark: bool = False
benchmark_limit: int | None = None
deterministic: bool = False
allow_tf32: bool = True


def is_available() -> bool:
    """Whether cuDNN can be used: never in tapegrad (``torch.backends.cudnn.is_available``)."""
    return False


def version() -> int | None:
    """The cuDNN version: ``None``, as without cuDNN (``torch.backends.cudnn.version``)."""
    return None

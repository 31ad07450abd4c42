"""Apple Metal flags (mirrors ``torch.backends.mps``); tapegrad has no MPS backend."""


def is_available() -> bool:
    """``False``: tapegrad cannot run on MPS (``torch.backends.mps.is_available``)."""
    return False


def is_built() -> bool:
    """``False``: tapegrad was not built with MPS (``torch.backends.mps.is_built``)."""
    return False

"""OpenMP flag (mirrors ``torch.backends.openmp``): tapegrad uses Python threads."""


def is_available() -> bool:
    """``False``: tapegrad's parallel work uses threads, not OpenMP."""
    return False

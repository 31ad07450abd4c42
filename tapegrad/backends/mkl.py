"""MKL flag (mirrors ``torch.backends.mkl``): tapegrad calls BLAS through NumPy."""


def is_available() -> bool:
    """``False``: tapegrad does not link MKL itself (``torch.backends.mkl.is_available``)."""
    return False

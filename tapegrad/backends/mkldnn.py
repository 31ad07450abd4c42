"""oneDNN (MKL-DNN) flags (mirrors ``torch.backends.mkldnn``).

tapegrad's CPU kernels are NumPy's (BLAS), not oneDNN's, so ``is_available()`` is
``False``; ``enabled`` may be set, to no effect.
"""

enabled: bool = True
deterministic: bool = False


def is_available() -> bool:
    """``False``: tapegrad does not use oneDNN (``torch.backends.mkldnn.is_available``)."""
    return False

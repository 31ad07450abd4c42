"""CUDA matmul flags (mirrors ``torch.backends.cuda``); settable, to no effect."""

from __future__ import annotations


class _MatmulFlags:
    """``torch.backends.cuda.matmul``: TF32 and reduced-precision switches."""

    def __init__(self) -> None:
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True


matmul = _MatmulFlags()


def is_built() -> bool:
    """``False``: tapegrad reaches GPUs through CuPy, not a CUDA build of its own."""
    return False

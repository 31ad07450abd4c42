"""Backend flags (mirrors ``torch.backends``).

tapegrad computes on NumPy (and CuPy where installed) and uses none of cuDNN, MPS or
oneDNN (MKL-DNN); the flags exist so that programs setting them run unchanged, and
setting them changes nothing: tapegrad's CPU results are deterministic already.
"""

from . import cpu, cuda, cudnn, mkl, mkldnn, mps, openmp

__all__ = ["cpu", "cuda", "cudnn", "mkl", "mkldnn", "mps", "openmp"]

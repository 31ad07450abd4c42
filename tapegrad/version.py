"""Version information (mirrors ``torch.version``): tapegrad's version; no CUDA or ROCm
build (``cuda`` and ``hip`` are ``None``, as in a CPU build of PyTorch)."""

from __future__ import annotations

from . import __version__

__all__ = ["__version__", "cuda", "debug", "git_version", "hip"]

cuda: str | None = None
hip: str | None = None
debug = False
git_version = "unknown"

"""A warning when the real PyTorch is imported into a process that uses tapegrad.

``import tapegrad as torch`` followed by ``import torch.nn as nn`` loads the real PyTorch
(where installed) next to tapegrad, and the two libraries' tensors do not mix. This
meta-path finder, installed by ``import tapegrad``, notices the first import of ``torch``
after tapegrad's and warns once, saying which imports to write instead. It never changes
what is imported.
"""

from __future__ import annotations

import sys
import warnings

__all__ = ["TorchImportWarning", "install"]


class TorchImportWarning(UserWarning):
    """The real PyTorch was imported into a process that already uses tapegrad."""


MESSAGE = (
    "the real PyTorch (`torch`) is being imported into a process that already uses tapegrad; "
    "the two libraries' tensors and modules do not mix. After `import tapegrad as torch`, "
    "write `import tapegrad.nn as nn`, `import tapegrad.nn.functional as F`, "
    "`from tapegrad.utils.data import DataLoader` (not `import torch.nn as nn`, which loads "
    "PyTorch), or run the unchanged PyTorch program with `tapegrad run SCRIPT`."
)


def _caller_frame():
    # The frame of the import statement: the first one outside the import machinery.
    frame = sys._getframe(2)
    while frame is not None and (
        frame.f_code.co_filename.startswith("<frozen importlib")
        or frame.f_code.co_filename == __file__
    ):
        frame = frame.f_back
    return frame


class _TorchImportGuard:
    """Warns once at the first import of the real ``torch``; finds nothing itself."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "torch":
            uninstall()
            frame = _caller_frame()
            if frame is None:
                warnings.warn(MESSAGE, TorchImportWarning, stacklevel=2)
            else:
                warnings.warn_explicit(
                    MESSAGE,
                    TorchImportWarning,
                    frame.f_code.co_filename,
                    frame.f_lineno,
                    module=frame.f_globals.get("__name__"),
                    registry=frame.f_globals.setdefault("__warningregistry__", {}),
                )
        return None


_guard = _TorchImportGuard()


def install() -> None:
    """Watch for the real ``torch`` unless it is imported already (then it is deliberate)."""
    if "torch" not in sys.modules and _guard not in sys.meta_path:
        sys.meta_path.insert(0, _guard)


def uninstall() -> None:
    if _guard in sys.meta_path:
        sys.meta_path.remove(_guard)

"""Installed by ``tapegrad run`` in child processes (put first on ``PYTHONPATH``): serve
``torch`` imports from tapegrad here too, then run the ``sitecustomize`` this one hides."""

import importlib.machinery
import importlib.util
import os
import sys

try:
    from tapegrad._torch_shim import install
except ImportError:  # another Python, without tapegrad (or NumPy): leave it alone
    pass
else:
    install()

_here = os.path.dirname(os.path.abspath(__file__))
# The sitecustomize this one hides, if any, runs in its place: it takes over the name in
# sys.modules (the import system re-reads that entry after this module ran, so the
# entry must not be deleted: that printed "Error in sitecustomize: KeyError").
_spec = importlib.machinery.PathFinder.find_spec(
    "sitecustomize", [p for p in sys.path if os.path.abspath(p or ".") != _here]
)
if _spec is not None and _spec.loader is not None:
    _hidden = importlib.util.module_from_spec(_spec)
    sys.modules["sitecustomize"] = _hidden
    _spec.loader.exec_module(_hidden)

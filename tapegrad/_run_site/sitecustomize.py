"""Installed by ``tapegrad run`` in child processes (put first on ``PYTHONPATH``): serve
``torch`` imports from tapegrad here too, then run the ``sitecustomize`` this one hides."""

import importlib
import os
import sys

try:
    from tapegrad._torch_shim import install
except ImportError:  # another Python, without tapegrad (or NumPy): leave it alone
    pass
else:
    install()

_here = os.path.dirname(os.path.abspath(__file__))
_path = sys.path[:]
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
del sys.modules["sitecustomize"]
try:
    importlib.import_module("sitecustomize")
except ImportError:
    pass
finally:
    sys.path[:] = _path

"""The operator library, one module per op family."""

from . import _util, creation, elementwise, index, linalg, reduce, shape  # noqa: F401

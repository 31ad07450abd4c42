"""Anomaly detection for the backward pass (mirrors ``torch.autograd.anomaly_mode``).

While it is on, every graph node records the traceback of the forward call that created
it (``node.metadata["traceback_"]``; under ``create_graph`` also the node whose backward
created it, ``"parent_"``). When a node's backward raises, a ``UserWarning`` shows that
traceback before the error propagates; with ``check_nan`` a backward that returns NaN
raises ``RuntimeError`` naming the node. Example::

    with torch.autograd.detect_anomaly():
        y = x.sqrt()          # x has a negative entry
        y.sum().backward()    # RuntimeError: Function 'SqrtBackward0' returned nan values ...
"""

from __future__ import annotations

import warnings

from . import _observe

__all__ = [
    "detect_anomaly",
    "set_detect_anomaly",
    "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled",
    "set_anomaly_enabled",
]


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on (``torch.is_anomaly_enabled``).

    Returns:
        True inside ``detect_anomaly()`` or after ``set_detect_anomaly(True)``.
    """
    return _observe.anomaly


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly mode checks gradients for NaN (``torch.is_anomaly_check_nan_enabled``).

    Returns:
        The ``check_nan`` flag last set (True by default, also while anomaly mode is off).
    """
    return _observe.check_nan


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off (``torch.set_anomaly_enabled``).

    Args:
        enabled: Whether nodes record forward tracebacks and backward errors are reported.
        check_nan: Whether a backward that returns NaN raises ``RuntimeError``.
    """
    _observe.anomaly = bool(enabled)
    _observe.check_nan = bool(check_nan)
    _observe.refresh()


class detect_anomaly:
    """Context manager that turns anomaly detection on (``torch.autograd.detect_anomaly``).

    Creating it warns, as PyTorch does, that the mode slows the program down. Leaving the
    block restores the previous mode and ``check_nan`` flag, so it nests. (Like PyTorch's,
    it is not a decorator.)

    Args:
        check_nan: Raise ``RuntimeError`` when a backward function returns NaN (default True).
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.prev = is_anomaly_enabled()
        self.check_nan = check_nan
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and should "
            "only be enabled for debugging.",
            UserWarning,
            stacklevel=2,
        )

    def __enter__(self) -> None:
        set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *args: object) -> None:
        set_anomaly_enabled(self.prev, self.prev_check_nan)


class set_detect_anomaly:
    """Set anomaly detection on or off (``torch.autograd.set_detect_anomaly``).

    Works as a function (the mode stays set) and as a context manager (the previous mode
    comes back when the block ends).

    Args:
        mode: True to enable anomaly detection, False to disable it.
        check_nan: Raise ``RuntimeError`` when a backward function returns NaN (default True).
    """

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = is_anomaly_enabled()
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *args: object) -> None:
        set_anomaly_enabled(self.prev, self.prev_check_nan)

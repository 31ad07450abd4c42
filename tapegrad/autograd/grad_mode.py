"""Gradient-recording switches: no_grad, enable_grad, set_grad_enabled."""

from __future__ import annotations

import functools
import threading


class _GradState(threading.local):
    """The grad-mode flag, one per thread as in PyTorch (DataLoader workers are threads).

    Ops read it on every call as ``_enabled.enabled``; a new thread starts with recording on.
    """

    enabled = True

    def __getitem__(self, _index: int) -> bool:
        return self.enabled

    def __setitem__(self, _index: int, value: bool) -> None:
        self.enabled = value


_enabled = _GradState()


def is_grad_enabled() -> bool:
    """Whether operations are recorded for autograd (``torch.is_grad_enabled``)."""
    return _enabled.enabled


class _Mode:
    """A context manager that is also a decorator, setting the grad mode."""

    _mode: bool = True

    def __enter__(self):
        self._prev = _enabled.enabled
        _enabled.enabled = self._mode
        return self

    def __exit__(self, *exc):
        _enabled.enabled = self._prev
        return False

    def __call__(self, fn):
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = _enabled.enabled
            _enabled.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _enabled.enabled = prev

        return wrapper

    def clone(self):
        return type(self)()


class no_grad(_Mode):  # noqa: N801
    """Disable gradient recording (``torch.no_grad``), as a context or decorator.

    Args:
        orig_func: a function to wrap, when the class is used as a bare decorator (``@no_grad``).
    """

    _mode = False

    def __init__(self, orig_func=None):
        # Allows the bare-decorator form @no_grad as well as @no_grad().
        self._func = orig_func

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        if callable(orig_func):
            self.__init__()
            return self(orig_func)
        return self


class enable_grad(no_grad):  # noqa: N801
    """Enable gradient recording (``torch.enable_grad``), as a context or decorator.

    Args:
        orig_func: a function to wrap, when the class is used as a bare decorator
            (``@enable_grad``).
    """

    _mode = True


class inference_mode(no_grad):  # noqa: N801
    """Like ``no_grad`` (``torch.inference_mode``).

    Args:
        mode: True to disable gradient recording, False to enable it; a function here is
            wrapped, as with a bare decorator.
    """

    def __init__(self, mode: bool = True):
        self._mode = not mode

    def __new__(cls, mode=True):
        self = object.__new__(cls)
        if callable(mode):
            self.__init__()
            return self(mode)
        return self


class set_grad_enabled(_Mode):  # noqa: N801
    """Set grad mode (``torch.set_grad_enabled``): takes effect at once, or as a context.

    Args:
        mode: True to record operations for autograd, False not to.
    """

    def __init__(self, mode: bool):
        self._prev = _enabled.enabled
        self._mode = bool(mode)
        _enabled.enabled = self._mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _enabled.enabled = self._prev
        return False

    def __call__(self, fn):
        # As a decorator the mode applies inside ``fn`` only: undo the switch made by __init__.
        _enabled.enabled = self._prev
        return super().__call__(fn)

    def clone(self):
        return type(self)(self._mode)

"""TorchScript entry points (mirrors ``torch.jit``), run eagerly.

tapegrad has no compiler: ``script`` and ``trace`` return the module or function
they are given, unchanged, so a program that scripts or traces its model computes the
same numbers in plain Python. What needs a compiled artefact (``save``, ``load``)
raises ``NotImplementedError``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

__all__ = [
    "Final",
    "export",
    "ignore",
    "is_scripting",
    "is_tracing",
    "load",
    "save",
    "script",
    "trace",
    "trace_module",
    "unused",
]

T = TypeVar("T")


def script(obj: T, optimize=None, _frames_up: int = 0, _rcb=None, example_inputs=None) -> T:
    """Compile ``obj`` with TorchScript (``torch.jit.script``): in tapegrad, ``obj`` itself,
    run eagerly (a module or function behaves exactly as before).

    Args:
        obj: A module or function.
        optimize: Accepted for PyTorch's signature.
        _frames_up: Accepted for PyTorch's signature.
        _rcb: Accepted for PyTorch's signature.
        example_inputs: Accepted for PyTorch's signature.

    Returns:
        ``obj``.
    """
    return obj


def trace(func: T, example_inputs: Any = None, *args, **kwargs) -> T:
    """Trace ``func`` on ``example_inputs`` (``torch.jit.trace``): in tapegrad, ``func``
    itself, run eagerly (so data-dependent control flow keeps working, unlike a trace).

    Args:
        func: A module or function.
        example_inputs: Accepted for PyTorch's signature.
        *args: Accepted for PyTorch's signature.
        **kwargs: Accepted for PyTorch's signature.

    Returns:
        ``func``.
    """
    return func


def trace_module(mod: T, inputs: Any = None, *args, **kwargs) -> T:
    """``torch.jit.trace_module``: the module itself, run eagerly.

    Args:
        mod: A module.
        inputs: Accepted for PyTorch's signature.
        *args: Accepted for PyTorch's signature.
        **kwargs: Accepted for PyTorch's signature.

    Returns:
        ``mod``.
    """
    return mod


def ignore(drop: Any = False, **kwargs) -> Any:
    """``@torch.jit.ignore`` (with or without arguments): leaves the function as it is.

    Args:
        drop: Accepted for PyTorch's signature (or the function, when used without arguments).
        **kwargs: Accepted for PyTorch's signature.
    """
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn: Callable) -> Callable:
    """``@torch.jit.unused``: leaves the function as it is.

    Args:
        fn: The function.

    Returns:
        ``fn``.
    """
    return fn


def export(fn: Callable) -> Callable:
    """``@torch.jit.export``: leaves the method as it is.

    Args:
        fn: The function.

    Returns:
        ``fn``.
    """
    return fn


def is_scripting() -> bool:
    """``False``: code never runs under TorchScript here (``torch.jit.is_scripting``)."""
    return False


def is_tracing() -> bool:
    """``False``: code never runs under a trace here (``torch.jit.is_tracing``)."""
    return False


def save(m, f, _extra_files=None) -> None:
    """``torch.jit.save``: tapegrad has no TorchScript archives; raises
    ``NotImplementedError`` pointing to ``tapegrad.save(model.state_dict(), f)``.

    Args:
        m: The model.
        f: A path or a file object.
        _extra_files: Accepted for PyTorch's signature.

    Raises:
        NotImplementedError: Always.
    """
    raise NotImplementedError(
        "torch.jit.save: tapegrad runs scripted models eagerly and writes no TorchScript "
        "archive; save the weights with torch.save(model.state_dict(), f) instead"
    )


def load(f, map_location=None, _extra_files=None):
    """``torch.jit.load``: tapegrad cannot run TorchScript archives; raises
    ``NotImplementedError``.

    Args:
        f: A path or a file object.
        map_location: Accepted for PyTorch's signature.
        _extra_files: Accepted for PyTorch's signature.

    Raises:
        NotImplementedError: Always.
    """
    raise NotImplementedError(
        "torch.jit.load: tapegrad cannot run TorchScript archives; rebuild the model in "
        "Python and load its state_dict with torch.load instead"
    )

"""Automatic mixed precision: ``torch.autocast`` and its thread-local state.

While autocast is on for a device type, the ops in :mod:`tapegrad.amp._policy` cast
their floating inputs before running: matrix products and convolutions to the
autocast dtype (bfloat16 on the CPU by default), losses and linear algebra to
float32, ``cat``/``stack`` to their widest input. The casts are ordinary
differentiable ``.to()`` calls, so gradients reach each parameter in its own dtype.

The hook costs one attribute check when autocast is off: each listed entry point
starts with ``if _ac.state.active:``.
"""

from __future__ import annotations

import functools
import threading
import warnings
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from .. import _dtype as D
from ._policy import FP32, LOWER, NATIVE, POLICY

__all__ = [
    "autocast",
    "autocast_call",
    "autocast_decrement_nesting",
    "autocast_increment_nesting",
    "clear_autocast_cache",
    "get_autocast_cpu_dtype",
    "get_autocast_dtype",
    "is_autocast_available",
    "is_autocast_cache_enabled",
    "is_autocast_cpu_enabled",
    "is_autocast_enabled",
    "set_autocast_cache_enabled",
    "set_autocast_dtype",
    "set_autocast_enabled",
]

F = TypeVar("F", bound=Callable[..., Any])

# Every device type PyTorch's device strings know (for its error message), and the
# ones autocast accepts with their default dtypes.
_DEVICE_TYPES = (
    "cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, maia, xla, lazy, "
    "vulkan, mps, meta, hpu, mtia, privateuseone"
)
_DEFAULT_DTYPES = {
    "cpu": D.bfloat16,
    "cuda": D.float16,
    "mps": D.float16,
    "xpu": D.bfloat16,
    "hpu": D.bfloat16,
    "xla": D.bfloat16,
    "ipu": D.float16,
    "mtia": D.float16,
    "maia": D.float16,
}


class _AutocastState(threading.local):
    """Per-thread autocast state (PyTorch's is thread-local too)."""

    def __init__(self):
        self.enabled: dict[str, bool] = {}
        self.dtype: dict[str, D.dtype] = dict(_DEFAULT_DTYPES)
        self.cache_enabled = True
        self.nesting = 0
        # True while autocast is on for some device type and no listed op is running
        # (inside one, the op's own calls are not cast again, as PyTorch excludes the
        # autocast dispatch key while it redispatches)
        self.active = False
        self.cache: dict[int, tuple[weakref.ref, Any]] = {}

    def refresh(self) -> None:
        self.active = any(self.enabled.values())


state = _AutocastState()


def _check_device_type(device_type) -> str:
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    name = device_type.split(":", 1)[0]
    if name not in _DEVICE_TYPES.split(", "):
        raise RuntimeError(
            f"Expected one of {_DEVICE_TYPES} device type at start of device string: {device_type}"
        )
    return name


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast supports ``device_type`` (``torch.amp.is_autocast_available``).

    Args:
        device_type: A device type such as ``"cpu"`` or ``"cuda"``.

    Returns:
        ``True`` for the device types PyTorch's autocast knows.
    """
    return _check_device_type(device_type) in _DEFAULT_DTYPES


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` (``torch.is_autocast_enabled``).

    Args:
        device_type: The device type; ``None`` asks about CUDA, as PyTorch's no-argument
            form does.

    Returns:
        The thread's autocast flag for that device type.
    """
    name = "cuda" if device_type is None else _check_device_type(device_type)
    return state.enabled.get(name, False)


def set_autocast_enabled(device_type: str, enabled: bool) -> None:
    """Turn autocast on or off for ``device_type`` (``torch.set_autocast_enabled``).

    Args:
        device_type: The device type, e.g. ``"cpu"``.
        enabled: The new flag.
    """
    state.enabled[_check_device_type(device_type)] = bool(enabled)
    state.refresh()


def get_autocast_dtype(device_type: str) -> D.dtype:
    """The dtype autocast casts to on ``device_type`` (``torch.get_autocast_dtype``).

    Args:
        device_type: The device type, e.g. ``"cpu"`` (default ``torch.bfloat16``) or
            ``"cuda"`` (default ``torch.float16``).

    Returns:
        The thread's autocast dtype for that device type.
    """
    name = _check_device_type(device_type)
    return state.dtype.get(name, D.float16)


def set_autocast_dtype(device_type: str, dtype: D.dtype) -> None:
    """Set the dtype autocast casts to on ``device_type`` (``torch.set_autocast_dtype``).

    Args:
        device_type: The device type, e.g. ``"cpu"``.
        dtype: The lower-precision dtype (``torch.bfloat16`` or ``torch.float16``).
    """
    state.dtype[_check_device_type(device_type)] = D.to_dtype(dtype)


def is_autocast_cache_enabled() -> bool:
    """Whether casts of parameters are cached in autocast regions
    (``torch.is_autocast_cache_enabled``).

    Returns:
        The thread's cache flag (``True`` by default).
    """
    return state.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    """Turn the autocast cast cache on or off (``torch.set_autocast_cache_enabled``).

    Args:
        enabled: The new flag.
    """
    state.cache_enabled = bool(enabled)


def autocast_increment_nesting() -> int:
    """Enter one more autocast region (``torch.autocast_increment_nesting``).

    Returns:
        The new nesting depth.
    """
    state.nesting += 1
    return state.nesting


def autocast_decrement_nesting() -> int:
    """Leave an autocast region (``torch.autocast_decrement_nesting``).

    Returns:
        The new nesting depth (0 when outside every autocast region).
    """
    state.nesting -= 1
    return state.nesting


def clear_autocast_cache() -> None:
    """Drop the cached casts of parameters (``torch.clear_autocast_cache``)."""
    state.cache.clear()


class autocast:  # noqa: N801 - mirrors torch.autocast
    """Run a region in mixed precision (``torch.autocast`` / ``torch.amp.autocast``).

    Inside ``with torch.autocast("cpu"):`` the ops on PyTorch's CPU lists cast their
    inputs: ``linear``, ``matmul``, convolutions... to ``dtype`` (bfloat16 by default),
    losses and linear algebra to float32. It also works as a decorator, nests, and
    ``autocast(..., enabled=False)`` turns it off for a sub-region.

    Args:
        device_type: ``"cpu"`` or ``"cuda"`` (other PyTorch device types are accepted
            and affect nothing here).
        dtype: The lower-precision dtype; ``None`` takes :func:`get_autocast_dtype`.
        enabled: Whether casting is on in the region.
        cache_enabled: Whether casts of parameters are cached within the region;
            ``None`` takes :func:`is_autocast_cache_enabled`.

    Raises:
        ValueError: ``device_type`` is not a string.
        RuntimeError: ``device_type`` is not a device type.

    Example:
        >>> with torch.autocast("cpu"):
        ...     y = model(x)  # linear layers run in bfloat16
    """

    def __init__(
        self,
        device_type: str,
        dtype: D.dtype | None = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ):
        name = _check_device_type(device_type)
        self.device = device_type
        self.fast_dtype = get_autocast_dtype(name) if dtype is None else dtype
        if name not in _DEFAULT_DTYPES:
            raise RuntimeError(f"User specified an unsupported autocast device_type '{name}'")
        self._cache_enabled = (
            is_autocast_cache_enabled() if cache_enabled is None else bool(cache_enabled)
        )
        if enabled:
            if name == "cuda":
                from .. import cuda

                if not cuda.is_available():
                    warnings.warn(
                        "CUDA is not available or torch_xla is imported. Disabling autocast.",
                        stacklevel=2,
                    )
                    enabled = False
            elif self.fast_dtype not in (D.bfloat16, D.float16):
                upper = name.upper()
                warnings.warn(
                    f"In {upper} autocast, but the target dtype is not supported. Disabling "
                    f"autocast.\n{upper} Autocast only supports dtypes of torch.bfloat16, "
                    "torch.float16 currently.",
                    stacklevel=2,
                )
                enabled = False
        self._enabled = bool(enabled)
        self._name = name

    def __enter__(self) -> autocast:
        self.prev_cache_enabled = is_autocast_cache_enabled()
        self.prev = is_autocast_enabled(self._name)
        self.prev_fastdtype = get_autocast_dtype(self._name)
        set_autocast_enabled(self._name, self._enabled)
        set_autocast_dtype(self._name, self.fast_dtype)
        autocast_increment_nesting()
        set_autocast_cache_enabled(self._cache_enabled)
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> bool:
        # the cache lives as long as the outermost region
        if autocast_decrement_nesting() == 0:
            clear_autocast_cache()
        set_autocast_enabled(self._name, self.prev)
        set_autocast_dtype(self._name, self.prev_fastdtype)
        set_autocast_cache_enabled(self.prev_cache_enabled)
        return False

    def __call__(self, func: F) -> F:
        if not callable(func):
            raise TypeError(
                f"autocast()(func) requires a callable, but got {type(func).__name__}. "
                "Did you mean to use autocast as a context manager? For example:\n"
                "    with torch.autocast(device_type=...):\n"
                "        output = model(input)"
            )

        @functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return decorate_autocast  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------
# the hook the listed entry points call


def _device_type(t) -> str:
    return "cpu" if type(t._data) is np.ndarray else "cuda"


def _eligible(t, enabled: dict[str, bool]) -> bool:
    dt = t.dtype
    return dt.is_floating_point and dt is not D.float64 and enabled.get(_device_type(t), False)


def _cast(t, to: D.dtype, lower: bool):
    if t.dtype is to:
        return t
    # PyTorch caches the casts of parameters (float32 leaves that require grad) to the
    # lower dtype for the whole region: a weight used twice is cast once
    cacheable = (
        lower
        and state.cache_enabled
        and t.dtype is D.float32
        and t._requires_grad
        and t.grad_fn is None
        and t._base is None
    )
    if cacheable:
        hit = state.cache.get(id(t))
        if hit is not None and hit[0]() is t and hit[1].dtype is to:
            return hit[1]
    out = t.to(to)
    if cacheable:
        state.cache[id(t)] = (weakref.ref(t), out)
    return out


def _map_tensors(value, fn):
    from ..ops import _util as U

    if isinstance(value, U.Tensor):
        return fn(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_map_tensors(v, fn) for v in value)
    return value


def _each_tensor(value, out: list) -> list:
    from ..ops import _util as U

    if isinstance(value, U.Tensor):
        out.append(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _each_tensor(v, out)
    return out


def _promote_dtype(tensors, enabled: dict[str, bool]) -> D.dtype:
    # PyTorch's at::autocast::prioritize: float32 wins over the lower dtype, float64
    # inputs are ignored (and left as they are)
    current = None
    for t in tensors:
        if not _eligible(t, enabled):
            continue
        lower = state.dtype.get(_device_type(t), D.float16)
        current = current or lower
        nxt = t.dtype
        if current is D.float32 or nxt is D.float32:
            current = D.float32
        elif not (current is lower and nxt is lower):
            raise RuntimeError("Unexpected floating ScalarType in at::autocast::prioritize")
    return current


def autocast_call(op: str, fn: Callable[..., Any], *args, **kwargs):
    """Run the listed op ``op`` (``fn``) with its inputs cast per autocast's policy.

    The entry points of the ops in :data:`tapegrad.amp._policy.POLICY` call this when
    ``state.active``; ``fn`` then runs with autocast suspended, so the op's own calls
    are not cast again.

    Args:
        op: The op's name in the policy table.
        fn: The entry point itself.
        *args: Its positional arguments.
        **kwargs: Its keyword arguments.

    Returns:
        What ``fn`` returns on the cast arguments.
    """
    policy = POLICY[op]
    enabled = state.enabled
    if policy == LOWER:

        def cast(t):
            if not _eligible(t, enabled):
                return t
            return _cast(t, state.dtype.get(_device_type(t), D.float16), True)

    elif policy == FP32:

        def cast(t):
            return _cast(t, D.float32, False) if _eligible(t, enabled) else t

    elif policy == NATIVE:

        def cast(t):
            return t

    else:
        inputs = (args, tuple(v for k, v in kwargs.items() if k != "out"))
        to = _promote_dtype(_each_tensor(inputs, []), enabled)

        def cast(t):
            return _cast(t, to, False) if to is not None and _eligible(t, enabled) else t

    args = tuple(_map_tensors(a, cast) for a in args)
    # an ``out=`` tensor receives the result: it is never cast
    kwargs = {k: v if k == "out" else _map_tensors(v, cast) for k, v in kwargs.items()}
    state.active = False
    try:
        return fn(*args, **kwargs)
    finally:
        state.refresh()


def is_autocast_cpu_enabled() -> bool:
    """Deprecated ``torch.is_autocast_cpu_enabled``: ``is_autocast_enabled("cpu")``.

    Returns:
        Whether CPU autocast is on.
    """
    warnings.warn(
        "torch.is_autocast_cpu_enabled() is deprecated. Please use "
        "torch.is_autocast_enabled('cpu') instead.",
        DeprecationWarning,
        stacklevel=2,
    )
    return is_autocast_enabled("cpu")


def get_autocast_cpu_dtype() -> D.dtype:
    """Deprecated ``torch.get_autocast_cpu_dtype``: ``get_autocast_dtype("cpu")``.

    Returns:
        The CPU autocast dtype.
    """
    warnings.warn(
        "torch.get_autocast_cpu_dtype() is deprecated. Please use "
        "torch.get_autocast_dtype('cpu') instead.",
        DeprecationWarning,
        stacklevel=2,
    )
    return get_autocast_dtype("cpu")

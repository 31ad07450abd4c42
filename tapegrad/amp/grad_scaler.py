"""Gradient scaling for mixed precision (``torch.amp.GradScaler``).

Small float16 gradients underflow to zero; scaling the loss by a large factor before
``backward`` keeps them representable. The scaler divides the gradients back before
the optimizer step, skips the step when a gradient is inf or NaN (and halves the
scale), and doubles the scale after ``growth_interval`` clean steps.
"""

from __future__ import annotations

import warnings
from collections import abc, defaultdict
from enum import Enum
from typing import Any

import numpy as np

from .. import _dtype as D

__all__ = ["GradScaler", "OptState"]


class OptState(Enum):
    """Where an optimizer is in the current iteration (mirrors PyTorch's)."""

    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state() -> dict[str, Any]:
    return {"stage": OptState.READY, "found_inf_per_device": {}}


def _full(value, dtype: D.dtype):
    from ..ops import _util as U

    return U.Tensor._make(np.full((), value, dtype=dtype.np))


class GradScaler:
    """Scale losses and unscale gradients for mixed precision (``torch.amp.GradScaler``).

    A typical step::

        scaler = torch.amp.GradScaler("cpu")
        with torch.autocast("cpu", dtype=torch.float16):
            loss = loss_fn(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)   # skipped if a gradient is inf/NaN
        scaler.update()

    Args:
        device: The device type of the gradients; ``"cuda"`` (PyTorch's default) turns
            the scaler off with PyTorch's warning when no GPU is available.
        init_scale: The first scale factor.
        growth_factor: What the scale is multiplied by after ``growth_interval``
            consecutive steps without inf/NaN gradients (must be > 1).
        backoff_factor: What the scale is multiplied by after a step with inf/NaN
            gradients (must be < 1).
        growth_interval: The number of clean steps between growths.
        enabled: ``False`` makes every method a pass-through.

    Raises:
        AssertionError: ``growth_factor <= 1`` or ``backoff_factor >= 1``, as PyTorch.
    """

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        self._device = device
        self._enabled = enabled
        if self._device == "cuda" and enabled:
            from .. import cuda

            if not cuda.is_available():
                warnings.warn(
                    "torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.",
                    stacklevel=2,
                )
                self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale = None  # made on the first scale(), like PyTorch's lazy init
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker = None
            self._per_optimizer_states: dict[int, dict[str, Any]] = defaultdict(
                _refresh_per_optimizer_state
            )

    def _check_scale_growth_tracker(self, funcname: str):
        fix = (
            "This may indicate your script did not use scaler.scale(loss or outputs) earlier "
            "in the iteration."
        )
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  " + fix)
        if self._growth_tracker is None:
            raise AssertionError(f"Attempted {funcname} but _growth_tracker is None.  " + fix)
        return self._scale, self._growth_tracker

    def _lazy_init_scale_growth_tracker(self) -> None:
        self._scale = _full(self._init_scale, D.float32)
        self._growth_tracker = _full(self._init_growth_tracker, D.int32)

    def scale(self, outputs):
        """Multiply a tensor, or each tensor in an iterable, by the scale factor
        (``GradScaler.scale``).

        Args:
            outputs: A tensor (usually the loss) or a (nested) list/tuple/iterable of them.

        Returns:
            The scaled outputs, in the same container type; ``outputs`` unchanged when
            the scaler is disabled.

        Raises:
            ValueError: Something other than tensors and iterables of tensors.
        """
        from ..ops import _util as U

        if not self._enabled:
            return outputs
        if self._scale is None:
            self._lazy_init_scale_growth_tracker()
        scale = self._scale

        def apply_scale(val):
            if isinstance(val, U.Tensor):
                return val * scale
            if isinstance(val, abc.Iterable):
                scaled = map(apply_scale, val)
                if isinstance(val, (list, tuple)):
                    return type(val)(scaled)
                return scaled
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply_scale(outputs)

    def _unscale_grads_(self, optimizer, inv_scale: float, allow_fp16: bool) -> dict:
        from ..autograd import grad_mode

        found = None
        with grad_mode.no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    g = param.grad
                    if g is None:
                        continue
                    if not allow_fp16 and g.dtype is D.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    if found is None:
                        found = 0.0
                    if not np.isfinite(g._data).all():
                        found = 1.0
                    if inv_scale != 1.0:
                        # PyTorch multiplies in float32 and rounds once to the grad's dtype
                        scaled = (g._data.astype(np.float32) * np.float32(inv_scale)).astype(
                            g._data.dtype
                        )
                        if g._data.flags.writeable:
                            g._data[...] = scaled
                        else:  # a gradient kept as a broadcast view
                            g._data = scaled
                        g._version_counter.v += 1
        if found is None:
            return {}
        return {"cpu": _full(found, D.float32)}

    def unscale_(self, optimizer) -> None:
        """Divide the optimizer's gradients by the scale, in place (``GradScaler.unscale_``).

        Also records whether any gradient is inf or NaN, for :meth:`step`. Call it before
        clipping gradients; :meth:`step` calls it otherwise.

        Args:
            optimizer: The optimizer whose parameters' gradients to unscale.

        Raises:
            RuntimeError: Called twice for ``optimizer`` since the last :meth:`update`, or
                after :meth:`step`.
            ValueError: A gradient is float16.
        """
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update()."
            )
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # the reciprocal in float64, rounded to float32, as PyTorch's unscale_
        inv_scale = float(np.float32(1.0 / np.float64(self._scale._data)))
        optimizer_state["found_inf_per_device"] = self._unscale_grads_(optimizer, inv_scale, False)
        optimizer_state["stage"] = OptState.UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """Unscale the gradients and step the optimizer unless one is inf/NaN
        (``GradScaler.step``).

        Args:
            optimizer: The optimizer to step.
            *args: Passed to ``optimizer.step``.
            **kwargs: Passed to ``optimizer.step``.

        Returns:
            What ``optimizer.step`` returned, or ``None`` when the step was skipped.

        Raises:
            RuntimeError: ``closure`` was passed, or ``step`` was already called since
                the last :meth:`update`.
        """
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if optimizer_state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if len(optimizer_state["found_inf_per_device"]) == 0:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = None
        if not sum(v.item() for v in optimizer_state["found_inf_per_device"].values()):
            retval = optimizer.step(*args, **kwargs)
        optimizer_state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale=None) -> None:
        """Update the scale factor for the next iteration (``GradScaler.update``).

        After a step with inf/NaN gradients the scale is multiplied by
        ``backoff_factor``; after ``growth_interval`` clean steps in a row, by
        ``growth_factor``.

        Args:
            new_scale: Set the scale to this float, or to this one-element tensor's
                value, instead.

        Raises:
            AssertionError: ``new_scale`` is a tensor with more than one element or that
                requires grad; or no optimizer was stepped since the last update.
        """
        from ..ops import _util as U

        if not self._enabled:
            return
        scale, tracker = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, float):
                scale._data[...] = new_scale
            else:
                reason = (
                    "new_scale should be a float or a 1-element torch.cuda.FloatTensor or "
                    "torch.FloatTensor with requires_grad=False."
                )
                if not isinstance(new_scale, U.Tensor) or new_scale.device.type != self._device:
                    raise AssertionError(reason)
                if new_scale.numel() != 1 or new_scale.requires_grad:
                    raise AssertionError(reason)
                scale._data[...] = new_scale._data.reshape(())
        else:
            found_infs = [
                found_inf
                for st in self._per_optimizer_states.values()
                for found_inf in st["found_inf_per_device"].values()
            ]
            if len(found_infs) == 0:
                raise AssertionError("No inf checks were recorded prior to update.")
            found = sum(float(f._data) for f in found_infs)
            # PyTorch's _amp_update_scale_
            if found:
                scale._data[...] = np.float32(np.float64(scale._data) * self._backoff_factor)
                tracker._data[...] = 0
            else:
                successful = int(tracker._data) + 1
                if successful == self._growth_interval:
                    grown = np.float32(np.float64(scale._data) * self._growth_factor)
                    if np.isfinite(grown):
                        scale._data[...] = grown
                    tracker._data[...] = 0
                else:
                    tracker._data[...] = successful
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _get_scale_async(self):
        return self._scale

    def get_scale(self) -> float:
        """The current scale factor (``GradScaler.get_scale``); 1.0 when disabled.

        Returns:
            The scale as a Python float.
        """
        if self._enabled:
            return self._init_scale if self._scale is None else self._scale.item()
        return 1.0

    def get_growth_factor(self) -> float:
        """The scale growth factor (``GradScaler.get_growth_factor``).

        Returns:
            The growth factor.
        """
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        """Set the scale growth factor (``GradScaler.set_growth_factor``).

        Args:
            new_factor: The new growth factor.
        """
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        """The scale backoff factor (``GradScaler.get_backoff_factor``).

        Returns:
            The backoff factor.
        """
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        """Set the scale backoff factor (``GradScaler.set_backoff_factor``).

        Args:
            new_factor: The new backoff factor.
        """
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        """The number of clean steps between growths (``GradScaler.get_growth_interval``).

        Returns:
            The growth interval.
        """
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        """Set the growth interval (``GradScaler.set_growth_interval``).

        Args:
            new_interval: The new growth interval.
        """
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if self._enabled:
            if self._growth_tracker is None:
                return self._init_growth_tracker
            return self._growth_tracker.item()
        return 0

    def is_enabled(self) -> bool:
        """Whether this scaler scales (``GradScaler.is_enabled``).

        Returns:
            ``False`` when made with ``enabled=False`` or disabled for a missing GPU.
        """
        return self._enabled

    def state_dict(self) -> dict[str, Any]:
        """The scaler's state (``GradScaler.state_dict``); empty when disabled.

        Returns:
            ``scale``, ``growth_factor``, ``backoff_factor``, ``growth_interval`` and
            ``_growth_tracker``.
        """
        if self._enabled:
            return {
                "scale": self.get_scale(),
                "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker(),
            }
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state from :meth:`state_dict` (``GradScaler.load_state_dict``).

        Args:
            state_dict: The state; a no-op when this scaler is disabled.

        Raises:
            RuntimeError: ``state_dict`` is empty (saved from a disabled scaler).
        """
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved "
                "from a disabled instance of GradScaler."
            )
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale._data[...] = state_dict["scale"]
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker._data[...] = state_dict["_growth_tracker"]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._enabled:
            if len(self._per_optimizer_states) != 0:
                raise AssertionError(
                    "A GradScaler instance may only be pickled at the beginning "
                    "of an iteration, or at the end after scaler.update()."
                )
            state["_init_scale"] = self.get_scale()
            state["_init_growth_tracker"] = self._get_growth_tracker()
            state["_scale"] = None
            state["_growth_tracker"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def _check_inf_per_device(self, optimizer) -> dict:
        self._check_scale_growth_tracker("_check_inf_per_device")
        found = self._unscale_grads_(optimizer, 1.0, True)
        self._per_optimizer_states[id(optimizer)]["found_inf_per_device"] = found
        return found

    def _found_inf_per_device(self, optimizer) -> dict:
        return self._per_optimizer_states[id(optimizer)]["found_inf_per_device"]

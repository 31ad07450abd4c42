"""The default generator's functions (mirrors ``torch.random``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ._random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)

__all__ = [
    "Generator",
    "default_generator",
    "fork_rng",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "seed",
    "set_rng_state",
]


@contextlib.contextmanager
def fork_rng(
    devices=None, enabled: bool = True, _caller: str = "fork_rng",
    _devices_kw: str = "devices", device_type: str = "cuda",
) -> Iterator[None]:  # fmt: skip
    """Restore the default generator's state on exit (``torch.random.fork_rng``).

    Args:
        devices: accepted for compatibility; there are no CUDA devices to fork.
        enabled: when False, the state is not saved or restored.
        device_type: accepted for compatibility; only the CPU generator is forked.
    """
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)

"""Strategies for sharing CPU tensors between processes, kept for PyTorch's programs
(``torch.multiprocessing.set_sharing_strategy`` and its two companions).

tapegrad shares tensors (``share_memory_``) through files under ``/dev/shm`` and pickles
the others by value, so the strategy changes nothing; the functions check and keep it as
PyTorch does, so that a program that sets or reads it runs unchanged.
"""

import sys as _sys

__all__ = ["get_all_sharing_strategies", "get_sharing_strategy", "set_sharing_strategy"]

# PyTorch's strategies for sharing CPU tensors, by platform (see the module's notes).
_ALL_SHARING_STRATEGIES = (
    {"file_system"} if _sys.platform in ("darwin", "win32") else {"file_descriptor", "file_system"}
)
_sharing_strategy = "file_system" if _sys.platform in ("darwin", "win32") else "file_descriptor"


def set_sharing_strategy(new_strategy: str) -> None:
    """Record the strategy for sharing CPU tensors (``torch.multiprocessing.set_sharing_strategy``).

    tapegrad shares tensors through files either way, so the strategy changes nothing;
    it is checked and kept as PyTorch does.

    Args:
        new_strategy: One of :func:`get_all_sharing_strategies`.

    Raises:
        AssertionError: an unknown strategy (PyTorch's exception).
    """
    global _sharing_strategy
    if new_strategy not in _ALL_SHARING_STRATEGIES:
        raise AssertionError(
            f"invalid sharing strategy {new_strategy!r}, expected one of {_ALL_SHARING_STRATEGIES}"
        )
    _sharing_strategy = new_strategy


def get_sharing_strategy() -> str:
    """The strategy last set (``torch.multiprocessing.get_sharing_strategy``)."""
    return _sharing_strategy


def get_all_sharing_strategies() -> set[str]:
    """PyTorch's sharing strategies on this platform
    (``torch.multiprocessing.get_all_sharing_strategies``)."""
    return set(_ALL_SHARING_STRATEGIES)

"""What ``fit`` needs to run under ``DistributedDataParallel``: which rank prints and
writes, metrics summed over the ranks, the wrapped model, the sampler's epoch.

Without an initialised process group every helper is the single-process identity.
"""

from __future__ import annotations

from typing import Any

from .metrics import Metric

__all__ = ["world", "is_main_process", "reduce_metrics", "unwrap", "strip_module_prefix"]


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of the default process group; ``(0, 1)`` without one."""
    from .. import distributed as dist

    if not dist.is_initialized():
        return 0, 1
    return dist.get_rank(), dist.get_world_size()


def is_main_process() -> bool:
    """True on rank 0 (and in a single process): the rank that prints and writes files."""
    return world()[0] == 0


# The accumulated state of the built-in metrics: sums, so the global value is their sum.
_STATE = ("total", "count", "matrix")


def reduce_metrics(trackers: list[Metric]) -> None:
    """Sum every metric's accumulated counts over the ranks, so ``compute()`` gives the
    value over all ranks' batches (in place; nothing to do in a single process).

    Args:
        trackers: the metrics of this rank, updated with its batches; every rank passes the same
            kinds in the same order.
    """
    rank, size = world()
    if size == 1 or not trackers:
        return
    from .. import distributed as dist

    mine = [{k: getattr(m, k) for k in _STATE if hasattr(m, k)} for m in trackers]
    everyone: list = [None] * size
    dist.all_gather_object(everyone, mine)
    for i, m in enumerate(trackers):
        for key in mine[i]:
            parts = [states[i][key] for states in everyone]
            total = parts[0]
            for p in parts[1:]:
                total = total + p
            setattr(m, key, total)


def unwrap(model: Any) -> Any:
    """The model inside a ``DistributedDataParallel`` / ``DataParallel`` wrapper (what
    checkpoints hold, so they load on any number of processes).

    Args:
        model: a module, wrapped (possibly more than once) or not.
    """
    from ..nn.parallel import DataParallel, DistributedDataParallel

    while isinstance(model, (DistributedDataParallel, DataParallel)):
        model = model.module
    return model


def strip_module_prefix(state_dict: dict) -> dict:
    """A state dict saved from a wrapped model (keys ``module.*``) with the prefix removed
    (``torch.nn.modules.utils.consume_prefix_in_state_dict_if_present``).

    Args:
        state_dict: a state dict; returned as is unless every key starts with ``module.``.
    """
    if state_dict and all(k.startswith("module.") for k in state_dict):
        return {k[len("module.") :]: v for k, v in state_dict.items()}
    return state_dict


def set_sampler_epoch(data: Any, epoch: int) -> None:
    """Tell a ``DistributedSampler`` (in ``data``'s sampler or batch sampler) the epoch,
    so each epoch gets a new order, the same on every rank (and after a resume).

    Args:
        data: a data loader (or any iterable; nothing happens without a sampler that has
            ``set_epoch``).
        epoch: the number of the epoch about to run.
    """
    candidates = [getattr(data, "sampler", None)]
    candidates.append(getattr(getattr(data, "batch_sampler", None), "sampler", None))
    for sampler in candidates:
        if sampler is not None and callable(getattr(sampler, "set_epoch", None)):
            sampler.set_epoch(epoch)
            return

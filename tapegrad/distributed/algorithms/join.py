"""``torch.distributed.algorithms.join``: training on uneven inputs.

When the ranks have different numbers of batches, a rank that runs out would leave the
others waiting in their collectives. Inside ``with Join([model, ...]):`` a rank that has
run out "joins": until every rank has, it shadows the collectives the others still run
each iteration (for DDP: the gradient all-reduces, with zeros), so they go on; then the
joinables run their final hooks (DDP: every rank takes the weights of the last rank to
join). ``DistributedDataParallel.join()`` is ``Join([ddp], ...)``:

    with model.join():
        for x, y in my_uneven_batches:
            loss_fn(model(x), y).backward()
            optimizer.step()

Each iteration, the first joinable announces that its rank is still running
(:meth:`Join.notify_join_context`, one all-reduce); the joined ranks count the
announcements to know when all are done.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any, NamedTuple

import numpy as np

from ..._tensor import Tensor
from .. import collectives
from ..process_group import ProcessGroup, _group

__all__ = ["Join", "JoinHook", "Joinable"]


class JoinHook:
    """What a joined rank runs for one joinable (``torch.distributed.algorithms.JoinHook``):
    :meth:`main_hook` once per iteration that other ranks still run, :meth:`post_hook`
    once when every rank has joined."""

    def main_hook(self) -> None:
        """Shadow one iteration's collectives of the ranks still running."""

    def post_hook(self, is_last_joiner: bool) -> None:
        """Run once every rank has joined; ``is_last_joiner`` on the last rank to join."""


class _JoinConfig(NamedTuple):
    enable: bool
    throw_on_early_termination: bool
    is_first_joinable: bool

    @staticmethod
    def construct_disabled_join_config() -> _JoinConfig:
        return _JoinConfig(enable=False, throw_on_early_termination=False, is_first_joinable=False)


class Joinable(ABC):
    """A class that can take part in :class:`Join` (``torch.distributed.algorithms.Joinable``):
    it gives a :class:`JoinHook`, the device and the process group of its collectives,
    and calls :meth:`Join.notify_join_context` once per iteration."""

    @abstractmethod
    def __init__(self) -> None:
        super().__init__()
        self._join_config = _JoinConfig.construct_disabled_join_config()

    @abstractmethod
    def join_hook(self, **kwargs: Any) -> JoinHook:
        """The hook a joined rank runs for this joinable."""

    @property
    @abstractmethod
    def join_device(self) -> Any:
        """The device of the join context's own collectives."""

    @property
    @abstractmethod
    def join_process_group(self) -> Any:
        """The process group of the join context's own collectives."""


class _GroupJoinable(Joinable):
    """A joinable on the CPU whose collectives run on its ``process_group`` (DDP, ZeRO)."""

    process_group: Any

    @property
    def join_device(self) -> Any:
        from ..._device import device

        return device("cpu")

    @property
    def join_process_group(self) -> Any:
        return self.process_group


def _one(value: float, group: ProcessGroup) -> float:
    """``value`` summed over the group."""
    t = Tensor._make(np.array([value], dtype=np.float32))
    collectives.all_reduce(t, group=group)
    return float(t._data[0])


class Join:
    """The context manager for uneven inputs (``torch.distributed.algorithms.Join``).

    Args:
        joinables: the objects taking part (e.g. a ``DistributedDataParallel``), all on one
            process group; the first one announces each iteration.
        enable: False turns the context into a no-op (the inputs are known to be even).
        throw_on_early_termination: raise on every rank as soon as one rank runs out,
            instead of shadowing its collectives.
        **kwargs: passed to each joinable's ``join_hook`` (DDP:
            ``divide_by_initial_world_size``).
    """

    def __init__(
        self,
        joinables: list[Joinable],
        enable: bool = True,
        throw_on_early_termination: bool = False,
        **kwargs: Any,
    ) -> None:
        if len(joinables) == 0:
            raise ValueError("The join context manager requires at least one joinable")
        self._joinables = list(joinables)
        self._join_hooks = [j.join_hook(**kwargs) for j in self._joinables]
        self._enable = enable
        self._throw_on_early_termination = throw_on_early_termination
        for i, j in enumerate(self._joinables):
            if not hasattr(j, "_join_config"):
                raise RuntimeError(
                    f"Check that the {type(j).__name__} constructor calls the ``Joinable`` "
                    "constructor"
                )
            j._join_config = _JoinConfig(enable, throw_on_early_termination, i == 0)
        groups = {id(j.join_process_group): j.join_process_group for j in self._joinables}
        if len(groups) > 1:
            raise ValueError("Using join context manager with multiple process groups")
        group = _group(self._joinables[0].join_process_group)
        if group is None:
            raise RuntimeError("Join: this rank is not in the joinables' process group")
        self._process_group = group
        self._rank = group.ranks[group.rank()]
        self._device = self._joinables[0].join_device

    def __enter__(self) -> Join:
        return self

    def __exit__(
        self,
        type: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if not self._enable or type is not None:
                return  # an exception passes through; nothing to shadow
            all_joined = False
            is_last_joiner = True
            rounds = 0
            while not all_joined:
                if rounds == 1000:
                    warnings.warn(
                        f"Detected uneven input skew of greater than 1000. This means that "
                        f"rank {self._rank} has at least 1000 fewer inputs than other "
                        "currently-active ranks. This level of skew could lead to performance "
                        "degradation during training.",
                        stacklevel=2,
                    )
                if _one(0.0, self._process_group) == 0:
                    all_joined = True
                else:
                    if self._throw_on_early_termination:
                        _one(1.0, self._process_group)
                        raise RuntimeError(f"Rank {self._rank} exhausted all inputs.")
                    for hook in self._join_hooks:
                        hook.main_hook()
                    is_last_joiner = False
                    rounds += 1
            for hook in self._join_hooks:
                hook.post_hook(is_last_joiner)
        finally:
            for j in self._joinables:
                j._join_config = _JoinConfig.construct_disabled_join_config()

    @staticmethod
    def notify_join_context(joinable: Joinable) -> Any:
        """Announce that this rank is still running, once per iteration: called by the
        joinable at the start of its per-iteration collectives. Returns the announcement's
        ``Work`` (its value: the number of ranks still running) from the first joinable,
        else None. With ``throw_on_early_termination``, raises once a rank has run out."""
        if not hasattr(joinable, "_join_config"):
            raise RuntimeError(
                f"Check that the {type(joinable).__name__} constructor calls the ``Joinable`` "
                "constructor"
            )
        config = joinable._join_config
        if not config.is_first_joinable or not config.enable:
            return None
        group = _group(joinable.join_process_group)
        ones = Tensor._make(np.ones(1, dtype=np.float32))
        work = collectives.all_reduce(ones, group=group, async_op=True)
        if config.throw_on_early_termination:
            if _one(0.0, group) != 0:
                work.wait()
                raise RuntimeError(
                    "Detected at least one rank that exhausted inputs. Throwing across all ranks."
                )
        return work

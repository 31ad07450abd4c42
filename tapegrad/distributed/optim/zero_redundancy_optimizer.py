"""``ZeroRedundancyOptimizer``: each rank keeps the optimizer state of only its share of
the parameters (ZeRO stage 1), so the state's memory is divided by the world size.

    model = DDP(Net())
    opt = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=torch.optim.Adam, lr=1e-3)
    loss_fn(model(x), y).backward()      # gradients averaged over the ranks (DDP)
    opt.step()                           # each rank updates its share, then broadcasts it

The parameters are shared out as PyTorch does (per group, largest first, each to the
rank with the fewest elements so far), and each rank runs ``optimizer_class`` on its
share; after the step every rank broadcasts the parameters it updated. The weights are
those of the wrapped optimizer run on every parameter. ``consolidate_state_dict(to)``
gathers the shares' states on one rank, whose ``state_dict()`` is then the wrapped
optimizer's, with PyTorch's indices.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

from ..._tensor import Tensor
from ...optim.optimizer import Optimizer
from .. import collectives
from ..algorithms.join import Join, JoinHook, _GroupJoinable
from ..process_group import _group

__all__ = ["ZeroRedundancyOptimizer"]


class _ZeROJoinHook(JoinHook):
    """A rank that has run out of inputs still steps (its share may be another rank's
    last update) and broadcasts its share, as the running ranks do."""

    def __init__(self, zero: ZeroRedundancyOptimizer) -> None:
        self.zero = zero

    def main_hook(self) -> None:
        self.zero.step()


class ZeroRedundancyOptimizer(Optimizer, _GroupJoinable):
    """An optimizer whose state is split over the ranks of a process group
    (``torch.distributed.optim.ZeroRedundancyOptimizer``).

    Args:
        params: the parameters (tensors or parameter-group dicts), the same on every rank.
        optimizer_class: the optimizer each rank runs on its share (e.g. ``optim.Adam``).
        process_group: the group the parameters are shared over; default: the whole job.
        parameters_as_bucket_view: accepted; changes nothing in the results (in PyTorch it
            packs the broadcasts into buckets).
        overlap_with_ddp: must be False: the step overlapped with DDP's backward
            (``ddp_zero_hook``) is not provided.
        **defaults: the options of ``optimizer_class`` (``lr``, ...).
    """

    def __init__(
        self,
        params: Iterable,
        optimizer_class: type[Optimizer],
        process_group: Any = None,
        parameters_as_bucket_view: bool = False,
        overlap_with_ddp: bool = False,
        **defaults: Any,
    ) -> None:
        if overlap_with_ddp:
            raise NotImplementedError(
                "ZeroRedundancyOptimizer(overlap_with_ddp=True) is not provided by tapegrad: "
                "construct it with overlap_with_ddp=False (the step then runs after backward)"
            )
        self.initialized = False
        self._partitions: list[list[dict]] | None = None
        group = _group(process_group)
        if group is None:
            raise RuntimeError("ZeroRedundancyOptimizer: this rank is not in process_group")
        self.process_group = group
        self.world_size = group.size()
        self.rank = group.rank()
        self.global_rank = group.ranks[self.rank]
        self.parameters_as_bucket_view = parameters_as_bucket_view
        self._overlap_with_ddp = False
        self._optim_constructor = optimizer_class
        self._optim_defaults = defaults
        self._all_state_dicts: list[dict] = []
        Optimizer.__init__(self, params, defaults)
        _GroupJoinable.__init__(self)
        self.optim = optimizer_class(self._partition_parameters()[self.rank], **defaults)
        self._sync_param_groups(self.optim.param_groups, self.param_groups)
        self.initialized = True

    # -- the shares ----------------------------------------------------------------------

    def _partition_parameters(self) -> list[list[dict]]:
        """For each rank, its parameter groups: every group's options with the rank's
        share of its parameters (largest first to the least loaded rank)."""
        if self._partitions is None:
            parts: list[list[dict]] = [[] for _ in range(self.world_size)]
            sizes = [0] * self.world_size
            for group in self.param_groups:
                per_rank: list[list[Tensor]] = [[] for _ in range(self.world_size)]
                for p in sorted(group["params"], key=lambda t: t.numel(), reverse=True):
                    r = sizes.index(min(sizes))
                    per_rank[r].append(p)
                    sizes[r] += p.numel()
                for r in range(self.world_size):
                    share = copy.copy(group)
                    share["params"] = per_rank[r]
                    parts[r].append(share)
            self._partitions = parts
        return self._partitions

    def _owner(self) -> dict[int, int]:
        """id(parameter) -> the group rank that updates it."""
        return {
            id(p): r
            for r, groups in enumerate(self._partition_parameters())
            for g in groups
            for p in g["params"]
        }

    def _params(self) -> list[Tensor]:
        return list(chain.from_iterable(g["params"] for g in self.param_groups))

    @staticmethod
    def _sync_param_groups(src: list[dict], dst: list[dict]) -> None:
        """Copy every option except ``params`` from ``src``'s groups to ``dst``'s."""
        for s, d in zip(src, dst):
            for key, value in s.items():
                if key != "params":
                    d[key] = value

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group; its parameters are shared out over the ranks
        (``ZeroRedundancyOptimizer.add_param_group``)."""
        super().add_param_group(param_group)
        if self.initialized:
            self._partitions = None
            groups = self._partition_parameters()[self.rank]
            self.optim.add_param_group(groups[-1])

    # -- the step ------------------------------------------------------------------------

    def step(self, closure: Callable[[], Any] | None = None, **kwargs: Any) -> Any:
        """Update this rank's share with the wrapped optimizer, then broadcast every
        share from its rank (``ZeroRedundancyOptimizer.step``)."""
        Join.notify_join_context(self)
        self._sync_param_groups(self.param_groups, self.optim.param_groups)
        if closure is None:
            loss = self.optim.step(**kwargs)
        else:
            loss = self.optim.step(closure=closure, **kwargs)
        self._sync_param_groups(self.optim.param_groups, self.param_groups)
        self._sync_params()
        return loss

    def _sync_params(self) -> None:
        works = []
        for r, groups in enumerate(self._partition_parameters()):
            src = self.process_group.ranks[r]
            for g in groups:
                for p in g["params"]:
                    works.append(
                        collectives.broadcast(
                            p.detach(), src=src, group=self.process_group, async_op=True
                        )
                    )
        for w in works:
            if w is not None:
                w.wait()

    # -- state ---------------------------------------------------------------------------

    def consolidate_state_dict(self, to: int = 0) -> None:
        """Gather every rank's share of the state on group rank ``to``; call it on every
        rank before ``state_dict()`` there (``ZeroRedundancyOptimizer.consolidate_state_dict``)."""
        local = self.optim.state_dict()
        gathered: list | None = [None] * self.world_size if self.rank == to else None
        collectives.gather_object(
            local, gathered, dst=self.process_group.ranks[to], group=self.process_group
        )
        self._all_state_dicts = list(gathered) if gathered is not None else []

    def state_dict(self) -> dict[str, Any]:
        """The whole optimizer's state, as the wrapped optimizer's ``state_dict()`` would
        give it; only on the rank ``consolidate_state_dict`` gathered it to."""
        if not self._all_state_dicts:
            raise RuntimeError(
                "Optimizer state has not been consolidated on this rank. Please call "
                f"`consolidate_state_dict(to={self.rank})` on all ranks beforehand if you "
                "meant to save the global state."
            )
        state_dict = super().state_dict()
        index = {id(p): i for i, p in enumerate(self._params())}
        for r, local in enumerate(self._all_state_dicts):
            for local_group, share in zip(local["param_groups"], self._partition_parameters()[r]):
                for local_index, p in zip(local_group["params"], share["params"]):
                    if local_index in local["state"]:
                        state_dict["state"][index[id(p)]] = local["state"][local_index]
        state_dict["state"] = dict(sorted(state_dict["state"].items()))
        return state_dict

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a whole optimizer's state (from ``state_dict()``, on any number of ranks):
        each rank keeps the state of its share (``ZeroRedundancyOptimizer.load_state_dict``)."""
        params = self._params()
        owner = self._owner()
        for i, value in state_dict["state"].items():
            if not isinstance(i, int) or not 0 <= i < len(params):
                raise ValueError(
                    f"loaded state dict has state for parameter {i!r}; this optimizer has "
                    f"{len(params)} parameters"
                )
            p = params[i]
            if owner[id(p)] == self.rank:
                self.optim.state[p] = self._cast_state(p, copy.deepcopy(value))
        super().load_state_dict({"state": {}, "param_groups": state_dict["param_groups"]})
        self._sync_param_groups(self.param_groups, self.optim.param_groups)

    # -- join ----------------------------------------------------------------------------

    def join_hook(self, **kwargs: Any) -> JoinHook:
        """What a rank that has run out of inputs does each iteration: step and broadcast."""
        return _ZeROJoinHook(self)

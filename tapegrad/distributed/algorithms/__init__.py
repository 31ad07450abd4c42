"""``torch.distributed.algorithms``: the join context manager for uneven inputs
(:mod:`.join`) and DDP communication hooks (:mod:`.ddp_comm_hooks`)."""

from . import ddp_comm_hooks, join
from .join import Join, Joinable, JoinHook

__all__ = ["Join", "JoinHook", "Joinable", "ddp_comm_hooks", "join"]

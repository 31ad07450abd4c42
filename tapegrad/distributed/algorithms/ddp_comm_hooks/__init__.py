"""``torch.distributed.algorithms.ddp_comm_hooks``: ready-made communication hooks for
``DistributedDataParallel.register_comm_hook`` (:mod:`.default_hooks`,
:mod:`.debugging_hooks`)."""

from . import debugging_hooks, default_hooks

__all__ = ["debugging_hooks", "default_hooks"]

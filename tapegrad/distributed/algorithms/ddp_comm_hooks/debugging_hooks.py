"""``torch.distributed.algorithms.ddp_comm_hooks.debugging_hooks``."""

from __future__ import annotations

from typing import Any

from ....futures import Future
from ...grad_bucket import GradBucket

__all__ = ["noop_hook"]


def noop_hook(_: Any, bucket: GradBucket) -> Future:
    """Communicate nothing: each rank keeps its own (summed, not averaged) gradients.
    For measuring what the communication costs."""
    fut: Future = Future()
    fut.set_result(bucket.buffer())
    return fut

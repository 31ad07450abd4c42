"""PyTorch's default DDP communication hooks
(``torch.distributed.algorithms.ddp_comm_hooks.default_hooks``):

    from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
    model.register_comm_hook(None, default_hooks.fp16_compress_hook)

``state`` is the process group to reduce over (``None``: the whole job).
"""

from __future__ import annotations

from typing import Any

from ...._tensor import Tensor
from ....futures import Future
from ... import collectives
from ...grad_bucket import GradBucket
from ...process_group import GroupMember

__all__ = ["allreduce_hook", "bf16_compress_hook", "fp16_compress_hook"]


def _allreduce_fut(process_group: Any, tensor: Tensor) -> Future:
    """Average ``tensor`` over the group in place; the future holds it."""
    group = process_group if process_group is not None else GroupMember.WORLD
    tensor.div_(group.size())
    work = collectives.all_reduce(tensor, group=group, async_op=True)
    return work.get_future().then(lambda fut: fut.value()[0])


def allreduce_hook(process_group: Any, bucket: GradBucket) -> Future:
    """Average the bucket over the ranks: what DDP does without a hook."""
    return _allreduce_fut(process_group, bucket.buffer())


def _compress_hook(dtype: Any, process_group: Any, bucket: GradBucket) -> Future:
    group = process_group if process_group is not None else GroupMember.WORLD
    buffer = bucket.buffer()
    compressed = buffer.to(dtype).div_(group.size())
    work = collectives.all_reduce(compressed, group=group, async_op=True)

    def decompress(fut: Future) -> Tensor:
        buffer.copy_(fut.value()[0])
        return buffer

    return work.get_future().then(decompress)


def fp16_compress_hook(process_group: Any, bucket: GradBucket) -> Future:
    """Average the bucket in float16 (half the bytes on the wire), then cast back."""
    from .... import float16

    return _compress_hook(float16, process_group, bucket)


def bf16_compress_hook(process_group: Any, bucket: GradBucket) -> Future:
    """Average the bucket in bfloat16, then cast back (needs the ``bfloat16`` extra)."""
    from .... import bfloat16

    return _compress_hook(bfloat16, process_group, bucket)

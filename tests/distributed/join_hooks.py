"""DDP's uneven-input join and communication hooks, written for PyTorch.

    LIB=torch    torchrun --nproc_per_node 2 join_hooks.py OUT
    LIB=tapegrad mpiexec -n 2 python join_hooks.py OUT

Rank r trains on 3 + 2 r batches inside ``model.join()`` (with a BatchNorm, so the
joined rank also shadows the buffer broadcasts); then a second model averages with
``allreduce_hook``, a third with ``fp16_compress_hook``, a fourth keeps local gradients
with ``noop_hook``. Both libraries must save the same weights.
"""

import datetime
import os
import sys

if os.environ.get("LIB") == "torch":
    import torch
    import torch.distributed as dist
    from torch.distributed.algorithms.ddp_comm_hooks import debugging_hooks, default_hooks
    from torch.distributed.elastic.multiprocessing.errors import record
else:
    import tapegrad as torch
    import tapegrad.distributed as dist
    from tapegrad.distributed.algorithms.ddp_comm_hooks import debugging_hooks, default_hooks
    from tapegrad.distributed.elastic.multiprocessing.errors import record

nn = torch.nn
DDP = nn.parallel.DistributedDataParallel


def make(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 2))


def batches(rank, n):
    g = torch.Generator().manual_seed(100 + rank)
    return [(torch.randn(4, 6, generator=g), torch.randn(4, 2, generator=g)) for _ in range(n)]


def train(ddp, data):
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    for x, y in data:
        opt.zero_grad()
        nn.functional.mse_loss(ddp(x), y).backward()
        opt.step()


@record
def main():
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    out = {}
    # uneven inputs: rank r has 3 + 2 r batches
    for divide in (True, False):
        ddp = DDP(make(0))
        with ddp.join(divide_by_initial_world_size=divide):
            train(ddp, batches(rank, 3 + 2 * rank))
        for k, v in ddp.module.state_dict().items():
            out[f"join{int(divide)}.{k}"] = v.clone()
    # communication hooks (even inputs)
    for name, hook in (
        ("allreduce", default_hooks.allreduce_hook),
        ("fp16", default_hooks.fp16_compress_hook),
        ("noop", debugging_hooks.noop_hook),
    ):
        ddp = DDP(make(1))
        ddp.register_comm_hook(None, hook)
        train(ddp, batches(rank, 3))
        for k, v in ddp.module.state_dict().items():
            out[f"{name}.{k}"] = v.clone()
    try:
        ddp.register_comm_hook(None, default_hooks.allreduce_hook)
    except RuntimeError as e:
        print(f"rank {rank} second hook: {type(e).__name__}", flush=True)
    dist.monitored_barrier(timeout=datetime.timedelta(seconds=30))
    torch.save(out, f"{sys.argv[1]}.{rank}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()

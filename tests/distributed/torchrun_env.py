"""A script written for torchrun: env:// rendezvous, the launcher's variables, @record.

    torchrun --standalone --nproc_per_node 2 torchrun_env.py ARGS
    tapegrad run -m torch.distributed.run --standalone --nproc_per_node 2 torchrun_env.py ARGS

Each rank prints one line; with ``fail`` among the ARGS, rank 1 raises.
"""

import os
import sys

import torch
import torch.distributed as dist
from torch.distributed.elastic.multiprocessing.errors import record


@record
def main():
    dist.init_process_group(backend="gloo", init_method="env://")
    rank = int(os.environ["RANK"])
    t = torch.tensor([float(rank + 1)])
    dist.all_reduce(t)
    if "fail" in sys.argv and rank == 1:
        raise ValueError("rank 1 fails")
    print(
        f"rank {rank} local {os.environ['LOCAL_RANK']} of {os.environ['WORLD_SIZE']} "
        f"(local {os.environ['LOCAL_WORLD_SIZE']}) sum {t.item()} "
        f"elastic {dist.is_torchelastic_launched()} master {'MASTER_ADDR' in os.environ} "
        f"args {sys.argv[1:]}",
        flush=True,
    )
    dist.destroy_process_group()


if __name__ == "__main__":
    main()

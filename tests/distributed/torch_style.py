"""A training script written for PyTorch's DDP (gloo, env://, LOCAL_RANK,
DistributedSampler, all_reduce of the epoch loss, rank 0 saves ``.module``'s weights).

    LIB=torch    torchrun --nproc_per_node 2 torch_style.py OUT
    LIB=tapegrad mpiexec -n 2 python torch_style.py OUT

Both must print the same losses and save the same weights.
"""

import os
import sys

if os.environ.get("LIB") == "torch":
    import torch
    import torch.distributed as dist
    import torch.utils.data.distributed
else:
    import tapegrad as torch
    import tapegrad.distributed as dist

nn = torch.nn
dist.init_process_group(backend="gloo", init_method="env://")
rank, world = dist.get_rank(), dist.get_world_size()
local_rank = int(os.environ["LOCAL_RANK"])
assert local_rank == rank
device = torch.device("cpu")
torch.manual_seed(0)
ds = torch.utils.data.TensorDataset(torch.randn(64, 10), torch.randn(64, 1))
sampler = torch.utils.data.distributed.DistributedSampler(ds, num_replicas=world, rank=rank)
loader = torch.utils.data.DataLoader(ds, batch_size=8, sampler=sampler, shuffle=False)
model = nn.Sequential(nn.Linear(10, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 1))
ddp = nn.parallel.DistributedDataParallel(model.to(device), device_ids=None)
opt = torch.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)
for epoch in range(3):
    sampler.set_epoch(epoch)
    total = torch.zeros(1)
    for x, y in loader:
        opt.zero_grad()
        loss = nn.functional.mse_loss(ddp(x.to(device)), y.to(device))
        loss.backward()
        opt.step()
        total += loss.detach()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    if rank == 0:
        print(f"epoch {epoch} loss {total.item() / (world * len(loader)):.5f}", flush=True)
if rank == 0:
    torch.save({k: v.clone() for k, v in ddp.module.state_dict().items()}, sys.argv[1])
dist.barrier()
dist.destroy_process_group()

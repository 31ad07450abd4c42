"""ZeroRedundancyOptimizer, written for PyTorch.

    LIB=torch    torchrun --nproc_per_node 2 zero.py OUT
    LIB=tapegrad mpiexec -n 2 python zero.py OUT

Adam over two parameter groups with a StepLR schedule, under DDP: 3 steps, the
consolidated state on rank 0, a second optimizer loading it on every rank, 1 more step;
then SGD with momentum inside ``Join([model, zero])`` on uneven inputs. Both libraries
must save the same weights and state.
"""

import os
import sys

if os.environ.get("LIB") == "torch":
    import torch
    import torch.distributed as dist
    from torch.distributed.algorithms.join import Join
    from torch.distributed.optim import ZeroRedundancyOptimizer
else:
    import tapegrad as torch
    import tapegrad.distributed as dist
    from tapegrad.distributed.algorithms.join import Join
    from tapegrad.distributed.optim import ZeroRedundancyOptimizer

nn = torch.nn
dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(6, 20), nn.Tanh(), nn.Linear(20, 12), nn.Tanh(), nn.Linear(12, 3))
ddp = nn.parallel.DistributedDataParallel(model)
groups = [
    {"params": list(model[0].parameters()) + list(model[4].parameters())},
    {"params": list(model[2].parameters()), "lr": 0.003},
]
zero = ZeroRedundancyOptimizer(groups, optimizer_class=torch.optim.Adam, lr=0.01)
sched = torch.optim.lr_scheduler.StepLR(zero, step_size=2, gamma=0.5)
g = torch.Generator().manual_seed(7 + rank)
data = [(torch.randn(8, 6, generator=g), torch.randn(8, 3, generator=g)) for _ in range(8)]


def step(opt, x, y):
    opt.zero_grad()
    nn.functional.mse_loss(ddp(x), y).backward()
    opt.step()


for x, y in data[:3]:
    step(zero, x, y)
    sched.step()
zero.consolidate_state_dict(to=0)
out = {"after3." + k: v.clone() for k, v in model.state_dict().items()}
if rank == 0:
    sd = zero.state_dict()
    torch.save(sd, sys.argv[1] + ".state")
    out["lrs"] = torch.tensor([grp["lr"] for grp in sd["param_groups"]])
dist.barrier()
try:
    zero.state_dict() if rank == 1 else None
    raised = False
except RuntimeError:
    raised = True
if rank == 1:
    out["rank1_raised"] = torch.tensor([raised])
again = ZeroRedundancyOptimizer(groups, optimizer_class=torch.optim.Adam, lr=0.01)
again.load_state_dict(torch.load(sys.argv[1] + ".state", weights_only=True))
step(again, *data[3])
out.update({"after4." + k: v.clone() for k, v in model.state_dict().items()})
# uneven inputs: rank r has 2 + 2 r batches
sgd = ZeroRedundancyOptimizer(
    model.parameters(), optimizer_class=torch.optim.SGD, lr=0.05, momentum=0.9
)
with Join([ddp, sgd]):
    for x, y in data[4 : 6 + 2 * rank]:
        step(sgd, x, y)
out.update({"joined." + k: v.clone() for k, v in model.state_dict().items()})
torch.save(out, f"{sys.argv[1]}.{rank}")
dist.barrier()
dist.destroy_process_group()

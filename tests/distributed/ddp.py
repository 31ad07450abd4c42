"""Run under ``mpiexec -n 2``: DistributedDataParallel on half of every batch per rank
ends with the weights of one process on the whole batch (SGD with momentum, Adam;
with SyncBatchNorm; with no_sync accumulation), and the replicas stay bit-identical."""

import numpy as np

import tapegrad as torch
import tapegrad.distributed as dist
from tapegrad import nn
from tapegrad.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()


def net(batchnorm: bool) -> nn.Module:
    # No conv bias before batch norm: its true gradient is 0, and Adam would amplify round-off.
    layers = [nn.Conv2d(2, 4, 3, padding=1, bias=not batchnorm)]
    if batchnorm:
        layers.append(nn.BatchNorm2d(4))
    layers += [nn.ReLU(), nn.Flatten(), nn.Linear(4 * 5 * 5, 3)]
    return nn.Sequential(*layers).double()


def same_on_all_ranks(model: nn.Module, what: str) -> None:
    states = [None] * world
    dist.all_gather_object(states, {k: v.numpy().copy() for k, v in model.state_dict().items()})
    for k in states[0]:
        assert np.array_equal(states[0][k], states[1][k]), f"{what}: replicas differ in {k}"


def run(optimizer: str, batchnorm: bool, accumulate: int) -> None:
    what = f"{optimizer}, batchnorm={batchnorm}, accumulate={accumulate}"
    torch.manual_seed(123 + rank)  # different initial weights: DDP must broadcast rank 0's
    local = net(batchnorm)
    torch.manual_seed(123)
    reference = net(batchnorm)  # rank 0's initial weights, trained on whole batches
    model = DDP(nn.SyncBatchNorm.convert_sync_batchnorm(local) if batchnorm else local)
    make = {
        "sgd": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
        "adam": lambda p: torch.optim.Adam(p, lr=0.01),
    }[optimizer]
    opt, ref_opt = make(model.parameters()), make(reference.parameters())
    g = torch.Generator().manual_seed(7)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(4):
        ref_opt.zero_grad()
        opt.zero_grad()
        for micro in range(accumulate):
            x = torch.randn(8, 2, 5, 5, generator=g, dtype=torch.float64)
            y = torch.randint(0, 3, (8,), generator=g)
            (loss_fn(reference(x), y) / accumulate).backward()
            mine = slice(4 * rank, 4 * rank + 4)
            if micro < accumulate - 1:
                with model.no_sync():
                    (loss_fn(model(x[mine]), y[mine]) / accumulate).backward()
            else:
                (loss_fn(model(x[mine]), y[mine]) / accumulate).backward()
        ref_opt.step()
        opt.step()
    got, want = model.module.state_dict(), reference.state_dict()
    assert list(model.state_dict())[0].startswith("module."), list(model.state_dict())
    for k in want:
        np.testing.assert_allclose(
            got[k].numpy(), want[k].numpy(), rtol=1e-10, atol=1e-12, err_msg=f"{what}: {k}"
        )
    same_on_all_ranks(model, what)


for optimizer in ("sgd", "adam"):
    for batchnorm in (False, True):
        run(optimizer, batchnorm, accumulate=1)
run("sgd", False, accumulate=2)
run("adam", True, accumulate=3)

# Plain BatchNorm under DDP: rank 0's running statistics are broadcast before each forward.
torch.manual_seed(0)
model = DDP(net(True))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for _ in range(2):
    opt.zero_grad()
    model(torch.randn(4, 2, 5, 5, dtype=torch.float64) + rank).sum().backward()
    opt.step()
model(torch.randn(4, 2, 5, 5, dtype=torch.float64))  # broadcasts before this forward
bn = model.module[1]
stats = [None] * world
dist.all_gather_object(stats, bn.running_mean.numpy().copy())
assert np.array_equal(stats[0], stats[1])


# find_unused_parameters: a branch used by one rank only, and one unused everywhere.
class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 3)
        self.b = nn.Linear(3, 3)
        self.never = nn.Linear(3, 3)

    def forward(self, x, use_b):
        return self.b(self.a(x)) if use_b else self.a(x)


torch.manual_seed(0)
m = DDP(Branchy().double(), find_unused_parameters=True)
x = torch.ones(2, 3, dtype=torch.float64)
for _ in range(2):
    m.zero_grad()
    m(x, use_b=rank == 0).sum().backward()
assert m.module.never.weight.grad is None
assert m.module.b.weight.grad is not None
grads = [None] * world
dist.all_gather_object(grads, [p.grad.numpy().copy() for p in m.module.b.parameters()])
assert all(np.array_equal(a, b) for a, b in zip(*grads))
# without it, an unused parameter makes the next forward raise PyTorch's error
m = DDP(Branchy().double())
m(x, use_b=True).sum().backward()
try:
    m(x, use_b=True)
except RuntimeError as e:
    assert "Expected to have finished reduction" in str(e) and "never.weight" in str(e)
else:
    raise AssertionError("unused parameters should raise")
try:
    DDP(nn.Linear(2 + rank, 2))
except RuntimeError as e:
    assert "DDP expects same model across all ranks" in str(e), e
else:
    raise AssertionError("different models should raise")
try:
    DDP(nn.Linear(2, 2), device_ids=[0])
except ValueError as e:
    assert "device_ids" in str(e)
else:
    raise AssertionError("device_ids on CPU should raise")
# small buckets: many Iallreduce in flight, still exact
torch.manual_seed(1)
big = nn.Sequential(nn.Linear(8, 512), nn.ReLU(), nn.Linear(512, 300), nn.ReLU(), nn.Linear(300, 2))
m = DDP(big.double(), bucket_cap_mb=0.0001)  # the first bucket holds 1 MiB, then one each
assert len(m._buckets) >= 3, len(m._buckets)
m(torch.randn(2, 8, dtype=torch.float64) * (rank + 1)).sum().backward()
grads = [None] * world
dist.all_gather_object(grads, [p.grad.numpy().copy() for p in m.parameters()])
assert all(np.array_equal(a, b) for a, b in zip(*grads))
print(f"rank {rank}: ddp ok", flush=True)

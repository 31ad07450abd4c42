"""Run under ``mpiexec -n N``: ``fit`` with DDP, a DistributedSampler and checkpoints.

    train_fault.py CKPT OUT EPOCHS [kill|resume]

``kill``: rank 1 kills itself (SIGKILL) in the middle of epoch 2. ``resume``: continue
from CKPT. Rank 0 writes the final weights to OUT (.npz).
"""

import os
import signal
import sys

import numpy as np

import tapegrad as torch
import tapegrad.distributed as dist
from tapegrad import nn, train
from tapegrad.utils.data import DataLoader, TensorDataset
from tapegrad.utils.data.distributed import DistributedSampler

ckpt, out, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
mode = sys.argv[4] if len(sys.argv) > 4 else "full"
dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()

g = torch.Generator().manual_seed(0)
x = torch.randn(64, 6, generator=g)
y = (x[:, 0] + x[:, 1] > 0).long()
data = TensorDataset(x, y)
sampler = DistributedSampler(data, shuffle=True, seed=1)
loader = DataLoader(data, batch_size=16 // world, sampler=sampler)
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
if world > 1:
    model = nn.parallel.DistributedDataParallel(model)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


class KillRank1(train.Callback):
    def on_batch_end(self, state):
        if state.epoch == 1 and state.batch == 2 and rank == 1:
            os.kill(os.getpid(), signal.SIGKILL)


callbacks = [train.ModelCheckpoint(ckpt)]
if mode == "kill":
    callbacks.append(KillRank1())
history = train.fit(
    model, nn.CrossEntropyLoss(), opt, loader, epochs=epochs, callbacks=callbacks,
    resume=ckpt if mode == "resume" else None,
)  # fmt: skip
weights = train.distributed.unwrap(model).state_dict()
if rank == 0:
    np.savez(out, **{k: v.numpy() for k, v in weights.items()}, loss=history["loss"][-1])
print(f"rank {rank}: finished {len(history)} epochs", flush=True)

"""Learning-rate schedules side by side (PyTorch's lr_scheduler documentation examples)."""

import torch
from torch import nn, optim
from torch.optim import lr_scheduler

torch.manual_seed(0)
model = nn.Linear(4, 1)


def trace(make, steps=8, metric=None):
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = make(optimizer)
    lrs = []
    for step in range(steps):
        optimizer.step()
        if metric is not None:
            scheduler.step(metric[step])
        else:
            scheduler.step()
        lrs.append(round(optimizer.param_groups[0]["lr"], 8))
    print(type(scheduler).__name__, lrs)


trace(lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5))
trace(lambda o: lr_scheduler.MultiStepLR(o, milestones=[2, 5], gamma=0.1))
trace(lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9))
trace(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0.01), steps=10)
trace(lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2), steps=10)
trace(lambda o: lr_scheduler.LambdaLR(o, lr_lambda=lambda epoch: 0.95**epoch))
trace(lambda o: lr_scheduler.MultiplicativeLR(o, lr_lambda=lambda epoch: 0.9))
trace(lambda o: lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=4))
trace(lambda o: lr_scheduler.ConstantLR(o, factor=0.5, total_iters=3))
trace(lambda o: lr_scheduler.PolynomialLR(o, total_iters=6, power=2.0))
trace(lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=10), steps=10)
trace(lambda o: lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3), steps=10)
trace(
    lambda o: lr_scheduler.SequentialLR(
        o,
        [
            lr_scheduler.ConstantLR(o, factor=0.1, total_iters=2),
            lr_scheduler.ExponentialLR(o, gamma=0.9),
        ],
        milestones=[2],
    )
)
trace(
    lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=1),
    metric=[1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7],
)

# A training loop that steps a scheduler per epoch and prints the loss.
optimizer = optim.Adam(model.parameters(), lr=0.05)
scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=5)
x = torch.randn(32, 4)
y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1
for epoch in range(5):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    scheduler.step()
    print(f"epoch {epoch} loss {loss.item():.5f} lr {scheduler.get_last_lr()[0]:.6f}")
print(scheduler.state_dict()["last_epoch"], scheduler.state_dict()["T_max"])

"""Save a training checkpoint (model, optimizer, scheduler, epoch), reload it, continue
(PyTorch's "Saving and loading a general checkpoint" recipe)."""

import os

import torch
import torch.nn as nn
import torch.optim as optim

torch.manual_seed(7)


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(6, 12)
        self.bn = nn.BatchNorm1d(12)
        self.fc2 = nn.Linear(12, 3)

    def forward(self, x):
        return self.fc2(torch.relu(self.bn(self.fc1(x))))


x = torch.randn(48, 6)
y = torch.randint(0, 3, (48,))
criterion = nn.CrossEntropyLoss()


def make():
    net = Net()
    optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
    scheduler = optim.lr_scheduler.MultiStepLR(optimizer, milestones=[2, 4], gamma=0.5)
    return net, optimizer, scheduler


def run_epoch(net, optimizer, scheduler):
    net.train()
    for i in range(0, 48, 16):
        optimizer.zero_grad()
        loss = criterion(net(x[i : i + 16]), y[i : i + 16])
        loss.backward()
        optimizer.step()
    scheduler.step()
    return loss.item()


net, optimizer, scheduler = make()
for epoch in range(3):
    loss = run_epoch(net, optimizer, scheduler)
    print(f"epoch {epoch} loss {loss:.6f} lr {scheduler.get_last_lr()[0]}")

PATH = "model.pt"
torch.save(
    {
        "epoch": epoch,
        "model_state_dict": net.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(),
        "scheduler_state_dict": scheduler.state_dict(),
        "loss": loss,
    },
    PATH,
)
print("saved", os.path.exists(PATH), sorted(net.state_dict().keys()))

torch.manual_seed(99)
model, optimizer2, scheduler2 = make()
checkpoint = torch.load(PATH, weights_only=True)
model.load_state_dict(checkpoint["model_state_dict"])
optimizer2.load_state_dict(checkpoint["optimizer_state_dict"])
scheduler2.load_state_dict(checkpoint["scheduler_state_dict"])
start = checkpoint["epoch"] + 1
print("resumed at", start, "loss", checkpoint["loss"])
print(model.bn.running_mean)
print(model.bn.num_batches_tracked)
for epoch in range(start, 6):
    a = run_epoch(model, optimizer2, scheduler2)
    b = run_epoch(net, optimizer, scheduler)
    print(f"epoch {epoch} resumed {a:.6f} original {b:.6f} lr {scheduler2.get_last_lr()[0]}")

model.eval()
with torch.no_grad():
    print(model(x[:3]))
torch.save(model.state_dict(), "weights.pth")
state = torch.load("weights.pth", map_location="cpu")
print(type(state).__name__, list(state)[:3], state["fc2.bias"].dtype)

"""Magnitude pruning and weight reparametrizations, as in the PyTorch pruning tutorial
and the spectral-norm GAN examples: a small classifier with weight_norm, spectral_norm
and an orthogonal recurrent-style layer, pruned globally and fine-tuned."""

import torch
import torch.nn as nn
import torch.nn.utils.prune as prune
from torch.nn.utils import parametrizations, parametrize

torch.manual_seed(0)


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv = nn.Conv2d(1, 6, 3)
        self.fc1 = parametrizations.weight_norm(nn.Linear(6 * 6 * 6, 32))
        self.fc2 = parametrizations.spectral_norm(nn.Linear(32, 32))
        self.mix = parametrizations.orthogonal(nn.Linear(32, 32, bias=False))
        self.out = nn.Linear(32, 4)

    def forward(self, x):
        x = torch.relu(torch.max_pool2d(self.conv(x), 2))
        x = torch.relu(self.fc1(x.flatten(1)))
        x = torch.tanh(self.fc2(x))
        return self.out(self.mix(x))


x = torch.randn(64, 1, 14, 14)
y = torch.randint(0, 4, (64,))
model = Net()
print(model.fc1)
print(sorted(model.state_dict().keys()))
opt = torch.optim.Adam(model.parameters(), lr=0.01)


def train(steps):
    for step in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return loss.item()


print("loss before pruning: {:.4f}".format(train(20)))
W = model.mix.weight
print("orthogonal: {:.5f}".format((W.T @ W - torch.eye(32)).abs().max().item()))

prune.l1_unstructured(model.conv, name="weight", amount=0.3)
prune.random_unstructured(model.out, name="bias", amount=1)
prune.global_unstructured(
    [(model.conv, "weight"), (model.out, "weight")],
    pruning_method=prune.L1Unstructured,
    amount=0.4,
)
for name, module in [("conv", model.conv), ("out", model.out)]:
    zeros = float(torch.sum(module.weight == 0))
    print("sparsity of {}.weight: {:.2f}%".format(name, 100.0 * zeros / module.weight.nelement()))
print(list(dict(model.conv.named_buffers()).keys()), prune.is_pruned(model))
print("loss after pruning: {:.4f}".format(nn.functional.cross_entropy(model(x), y).item()))
print("loss after fine-tuning: {:.4f}".format(train(10)))
prune.remove(model.conv, "weight")
parametrize.remove_parametrizations(model.fc1, "weight")
print(type(model.fc1).__name__, sorted(model.state_dict().keys())[:4])
print("zeros kept: {}".format(int(torch.sum(model.conv.weight == 0))))

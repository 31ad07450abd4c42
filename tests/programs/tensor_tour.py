"""Tensor basics as PyTorch's tutorials print them: creation, indexing, assignment."""

import torch

torch.manual_seed(0)
x = torch.arange(12.0).view(3, 4)
print(x)
print(x[range(3), [0, 1, 2]])
print(x[[0, 2]], x[[0, 2], 1:])
print(x[torch.tensor([True, False, True])])
print(x[1, [3, 0]], x[..., [1]], x[None, 0, :2])
idx = torch.tensor([2, 0])
print(x[[1, idx[0]], 2], x[idx, range(2)])

y = torch.zeros(4, 3)
labels = torch.tensor([2, 0, 1, 2])
y[range(4), labels] = 1.0
print(y)
y[[0, 1], [1, 2]] = torch.tensor([5.0, 6.0])
y[torch.tensor([3]), 0] += 7
print(y)
one_hot = torch.zeros(4, 3)
one_hot[torch.arange(4), labels] = 1
print(one_hot.sum(0))

z = torch.tensor([-0.0, 0.0, 1.5, -2.25])
print(z, -z, z * 0)
print(torch.tensor(-0.0), torch.tensor([[-0.0, 1e-8], [3.0, -0.0]]))
print(torch.randn(2, 3))
print(torch.tensor([1e10, 1.0]), torch.tensor([0.1, 1e-5]))
print(torch.tensor([True, False]), torch.tensor([1, -2], dtype=torch.int8))
print(torch.linspace(-1, 1, 5).round(decimals=1))
a = torch.ones(2, 2, requires_grad=True)
b = (a * 3).sum()
print(b)
b.backward()
print(a.grad)
print(torch.tensor([2.5]).item(), torch.tensor(7).item(), x.shape, x.size(1), x.dtype)
print(torch.cuda.is_available(), torch.backends.mps.is_available(), torch.backends.cudnn.enabled)

"""The seed MNIST CNN (seeds 002/004), written as the course writes it, trained for 100 SGD
steps in tapegrad and in PyTorch from the same weights on the same batches: the loss
curves and the final weights agree to float32 noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad as tg

STEPS, BATCH = 100, 16


def seed_net(lib):
    """The network of seed 002, verbatim but for the library it is built with."""
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, kernel_size=5)
            self.conv2 = nn.Conv2d(32, 64, kernel_size=5)
            self.fc1 = nn.Linear(256, 200)
            self.fc2 = nn.Linear(200, 10)

        def forward(self, x):
            x = F.relu(F.max_pool2d(self.conv1(x), kernel_size=3))
            x = F.relu(F.max_pool2d(self.conv2(x), kernel_size=2))
            x = x.view(-1, 256)
            x = F.relu(self.fc1(x))
            x = self.fc2(x)
            return x

    return Net()


def seed_sequential(lib):
    """The same network from modules: Conv2d, MaxPool2d, ReLU, Flatten, Linear."""
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 5),
        nn.MaxPool2d(3),
        nn.ReLU(),
        nn.Conv2d(32, 64, 5),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(256, 200),
        nn.ReLU(),
        nn.Linear(200, 10),
    )


def _data(seed: int = 0):
    """Random 28x28 images normalised as in the seed; the label is the brightest of ten
    horizontal bands, so that the network has something to learn."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, size=(STEPS * BATCH, 1, 28, 28)).astype(np.float32)
    band = rng.integers(0, 10, size=STEPS * BATCH)
    for i, k in enumerate(band):
        x[i, 0, 2 + 2 * k : 4 + 2 * k] += 120.0
    x = (x - x.mean()) / x.std()
    return x.astype(np.float32), band.astype(np.int64)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """PyTorch's thread pool only slows it down on a small shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _train(lib, model, x, y, steps):
    criterion = lib.nn.CrossEntropyLoss()
    optimizer = lib.optim.SGD(model.parameters(), lr=1e-1)
    train_input, train_target = lib.tensor(x), lib.tensor(y)
    losses = []
    for b in range(0, steps * BATCH, BATCH):
        output = model(train_input.narrow(0, b, BATCH))
        loss = criterion(output, train_target.narrow(0, b, BATCH))
        model.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return np.array(losses)


# The seed's own network for the full 100 steps; the module form for a shorter run.
@pytest.mark.parametrize("build,steps", [(seed_net, STEPS), (seed_sequential, 25)])
def test_seed_cnn_follows_torch_loss_curve(build, steps):
    torch.manual_seed(0)
    model_t = build(torch)
    model_g = build(tg)
    state = {k: tg.tensor(v.numpy().copy()) for k, v in model_t.state_dict().items()}
    assert list(state) == list(model_g.state_dict())
    model_g.load_state_dict(state)
    x, y = _data()
    losses_t = _train(torch, model_t, x, y, steps)
    losses_g = _train(tg, model_g, x, y, steps)
    assert losses_g.shape == (steps,) and np.isfinite(losses_g).all()
    assert losses_g[-10:].mean() < losses_g[:5].mean()  # the curve goes somewhere
    # Measured: the loss falls from 2.3 to 0.006, within 3e-6 (1e-5 relative) of PyTorch's
    # at every step, and the weights end within 3e-7 of PyTorch's.
    np.testing.assert_allclose(losses_g, losses_t, rtol=5e-5, atol=1e-5)
    for (name, p_t), (name_g, p_g) in zip(model_t.named_parameters(), model_g.named_parameters()):
        assert name == name_g
        np.testing.assert_allclose(
            p_g.detach().numpy(), p_t.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=name
        )

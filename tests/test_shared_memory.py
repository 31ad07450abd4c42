"""``Tensor.share_memory_`` / ``Module.share_memory``: CPU tensors in memory shared
between processes, as PyTorch's Hogwild training needs (``examples/mnist_hogwild``).

In one process: pickling a shared tensor maps the same memory again; views, dtypes and
parameters survive; the files go away with the process that made them. Across
processes: a PyTorch-style Hogwild program trains the parent's model from two workers,
with the ``spawn`` and the ``fork`` start methods.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import tapegrad
from tapegrad import _shared_memory, nn

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("lib", [torch, tapegrad], ids=["torch", "tapegrad"])
def test_share_memory_keeps_values_and_reports_sharing(lib):
    t = lib.arange(12, dtype=lib.float64).reshape(3, 4)
    assert not t.is_shared()
    assert t.share_memory_() is t
    assert t.is_shared() and t.share_memory_() is t
    np.testing.assert_array_equal(t.numpy(), np.arange(12.0).reshape(3, 4))
    assert t.dtype == lib.float64 and tuple(t.shape) == (3, 4)
    m = lib.nn.Linear(3, 2)
    assert m.share_memory() is m
    assert all(p.is_shared() for p in m.parameters())
    assert all(isinstance(p, lib.nn.Parameter) for p in m.parameters())


def test_a_pickled_shared_tensor_maps_the_same_memory():
    t = tapegrad.zeros(4, 5).share_memory_()
    view = t[1:, ::2]
    for obj in (t, view):
        back = pickle.loads(pickle.dumps(obj))
        assert back.is_shared()
        np.testing.assert_array_equal(back.numpy(), obj.numpy())
    back = pickle.loads(pickle.dumps(view))
    back.add_(1.0)  # written through the other mapping
    assert t.sum().item() == view.numel()
    assert t[1:, ::2].eq(1).all().item() and t[0].eq(0).all().item()
    p = nn.Parameter(tapegrad.ones(3)).share_memory_()
    q = pickle.loads(pickle.dumps(p))
    assert type(q) is nn.Parameter and q.requires_grad and q.is_shared()
    with tapegrad.no_grad():
        q.mul_(3)
    assert p.tolist() == [3.0, 3.0, 3.0]
    plain = pickle.loads(pickle.dumps(tapegrad.ones(2)))
    assert not plain.is_shared()  # not shared: pickled by value, as before


def test_only_tapegrad_files_are_mapped():
    with pytest.raises(RuntimeError, match="not a tapegrad shared-memory file"):
        _shared_memory.rebuild("/etc/passwd", 16, 0, (4,), (4,), "<f4")


def test_the_files_go_with_the_process_and_the_tensors():
    code = textwrap.dedent(
        """
        import gc, glob, os, tapegrad
        a = tapegrad.ones(1000).share_memory_()
        b = tapegrad.ones(10).share_memory_()
        mine = lambda: sorted(glob.glob(f"{tapegrad._shared_memory._DIR}/tapegrad_{os.getpid()}_*"))
        print(len(mine()))
        del b
        gc.collect()
        print(len(mine()))
        print(mine()[0])
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    two, one, path = out.stdout.split()
    assert (two, one) == ("2", "1")
    assert not os.path.exists(path)  # removed at exit


HOGWILD = """
import sys
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.multiprocessing as mp


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)


def train(rank, model, data, target, steps):
    torch.manual_seed(1 + rank)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
    for _ in range(steps):
        idx = torch.randint(0, data.shape[0], (16,))
        opt.zero_grad()
        F.nll_loss(model(data[idx]), target[idx]).backward()
        opt.step()


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1], force=True)
    torch.manual_seed(0)
    data = torch.randn(256, 8)
    target = (data[:, 0] > 0).long() + (data[:, 1] > 0).long()
    model = Net()
    model.share_memory()  # gradients are allocated lazily, so they are not shared here
    before = F.nll_loss(model(data), target).item()
    procs = [mp.Process(target=train, args=(r, model, data, target, 150)) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    after = F.nll_loss(model(data), target).item()
    print(f"{before:.4f} {after:.4f} {[p.exitcode for p in procs]}")
"""


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_hogwild_workers_train_the_parents_model(tmp_path, method):
    """PyTorch's Hogwild example, run unchanged with ``tapegrad run``: the workers'
    updates land in the parent's shared model (without sharing, its loss would not move)."""
    script = tmp_path / "hogwild.py"
    script.write_text(HOGWILD)
    out = subprocess.run(
        [sys.executable, "-m", "tapegrad", "run", str(script), method],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    before, after, codes = out.stdout.split(maxsplit=2)
    assert codes.strip() == "[0, 0]"
    # Hogwild races make the exact loss vary; trained, it falls from ~1.1 to ~0.25
    assert float(before) > 1.0 and float(after) < 0.5, out.stdout

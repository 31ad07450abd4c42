"""The benchmark suite runs: workers report times and memory, models build in both libraries,
the per-op profile prints its table, and the Markdown rendering has every row.

No timing is asserted: benchmarks measure, tests only check that the harness works.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch

import tapegrad

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
sys.path.insert(0, BENCH)

import profile_ops  # noqa: E402
import run  # noqa: E402
import workloads  # noqa: E402


@pytest.mark.parametrize("lib_name", ["tapegrad", "torch"])
def test_worker_reports_times_memory_threads(lib_name):
    before = (torch.get_num_threads(), tapegrad.get_num_threads())
    try:
        r = run.worker(lib_name, "autograd_chain", 1, True, 2)
    finally:
        torch.set_num_threads(before[0])
        tapegrad.set_num_threads(before[1])
    assert len(r["times"]) == 2 and len(r["cpu"]) == 2
    assert all(t > 0 for t in r["times"])
    assert r["peak_mb"] > 0
    assert r["threads"] == 1


@pytest.mark.parametrize("make", [workloads.seed_cnn, workloads.mlp, workloads.lenet5])
def test_models_match_in_both_libraries(make):
    sizes = []
    for lib in (torch, tapegrad):
        lib.manual_seed(0)
        model = make(lib.nn)
        sizes.append([tuple(p.shape) for p in model.parameters()])
        out = model(lib.zeros(2, 1, 28, 28))
        assert tuple(out.shape) == (2, 10)
    assert sizes[0] == sizes[1]


def test_resnet20_stack_shapes():
    model = workloads.resnet20_stack(tapegrad.nn)
    ref = workloads.resnet20_stack(torch.nn)
    n = sum(p.numel() for p in model.parameters())
    assert n == sum(p.numel() for p in ref.parameters())
    assert n > 250_000  # ResNet-20 has about 0.27M parameters
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    assert tuple(model(tapegrad.from_numpy(x)).shape) == (2, 10)


def test_targets_name_workloads():
    for w, t in list(workloads.TARGETS) + list(workloads.MEMORY_TARGETS):
        assert w in workloads.WORKLOADS and t in (1, 2)
    assert set(workloads.INNER_REPS) <= set(workloads.WORKLOADS)


def test_profile_table_and_restores_apply(capsys):
    from tapegrad.autograd import function as F

    res = profile_ops.profile("autograd_chain", True, 1)
    out = capsys.readouterr().out
    assert "AddBackward0" in out and "aten::mul" in out and "outside ops" in out
    assert "Self CPU time total" in out  # the profiler's own table
    assert res["calls"]["aten::add"] == 500 and res["calls"]["aten::mul"] == 500
    assert res["calls"]["AddBackward0"] == 500 and res["calls"]["MulBackward0"] == 500
    assert res["backward"]["MulBackward0"] > 0 and res["forward"]["aten::mul"] > 0
    assert F._apply_observer is None and F._backward_observer is None


def test_markdown_has_every_row():
    row = {
        "workload": "cnn_epoch",
        "threads": 1,
        "tapegrad_min": 1.0,
        "tapegrad_median": 1.1,
        "torch_min": 1.0,
        "torch_median": 1.0,
        "ratio": 1.1,
        "target": 1.25,
        "met": True,
        "cpu_ratio": 1.05,
        "tapegrad_peak_mb": 250.0,
        "torch_peak_mb": 500.0,
        "tapegrad_work_mb": 30.0,
        "torch_work_mb": None,
        "memory_ratio": 0.5,
        "memory_target": 1.5,
        "memory_met": True,
    }
    info = run.versions()
    md = run.markdown({"info": info, "quick": True, "reps": 2, "results": [row]})
    assert "| cnn_epoch | 1 | 1.000 / 1.100 |" in md
    assert "| met |" in md and "target 1.50, met" in md
    assert info["torch"] in md and info["numpy"] in md

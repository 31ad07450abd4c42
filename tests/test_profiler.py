"""The profiler (``torch.profiler`` / ``torch.autograd.profiler``) against PyTorch: event
names and call counts where tapegrad's ops decompose as PyTorch's, ``record_function``
nesting, the table's layout, the Chrome trace and the schedule's step semantics.
No assertion reads a wall-clock value."""

from __future__ import annotations

import json
import os
import re
import warnings
from collections import Counter

import numpy as np
import pytest
import torch

import tapegrad
from tapegrad.autograd import function as F

LIBS = [torch, tapegrad]
ENGINE = "autograd::engine::evaluate_function: "


@pytest.fixture(autouse=True)
def _profiler_off():
    yield
    assert F._apply_observer is None and F._backward_observer is None


def _mlp_step(lib):
    """One training step of a small MLP, its forward inside record_function("model")."""
    lib.manual_seed(0)
    net = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 3))
    x = lib.tensor(np.linspace(-1, 1, 20, dtype=np.float32).reshape(5, 4))
    target = lib.tensor([0, 2, 1, 0, 2])
    with lib.profiler.profile(activities=[lib.profiler.ProfilerActivity.CPU]) as prof:
        with lib.profiler.record_function("model"):
            loss = lib.nn.functional.cross_entropy(net(x), target)
        loss.backward()
    return prof


def _names_under(events, root):
    """Counter of event names below the first event named ``root``."""
    top = next(e for e in events if e.name == root)
    out, todo = Counter(), list(top.cpu_children)
    while todo:
        e = todo.pop()
        out[e.name] += 1
        todo += e.cpu_children
    return out


def test_mlp_step_counts_match_torch():
    counts = {}
    for lib in LIBS:
        prof = _mlp_step(lib)
        events = prof.events()
        forward = _names_under(events, "model")
        every = Counter(e.name for e in events)
        counts[lib] = (forward, every)
    (t_fwd, t_all), (g_fwd, g_all) = counts[torch], counts[tapegrad]
    # forward ops whose decomposition is the same in both libraries
    for name in ("aten::linear", "aten::relu", "aten::cross_entropy_loss"):
        assert g_fwd[name] == t_fwd[name] > 0, name
    # backward nodes and the engine's events around them
    for node in ("AddmmBackward0", "ReluBackward0", "torch::autograd::AccumulateGrad"):
        assert g_all[node] == t_all[node] > 0, node
        assert g_all[ENGINE + node] == t_all[ENGINE + node], node
    assert g_all["model"] == t_all["model"] == 1


def test_backward_node_event_nests_in_the_engine_event():
    for lib in LIBS:
        events = _mlp_step(lib).events()
        node = next(e for e in events if e.name == "ReluBackward0")
        assert node.cpu_parent.name == ENGINE + "ReluBackward0"


def _nested(lib):
    x = lib.ones(3, 3)

    @lib.profiler.record_function("decorated")
    def inner():
        return x.exp()

    with lib.profiler.profile() as prof:
        with lib.profiler.record_function("outer"):
            with lib.autograd.profiler.record_function("middle"):
                inner()
                x.sin()
            x.cos()
    return prof


def _tree(events, name):
    e = next(ev for ev in events if ev.name == name)
    return sorted(c.name for c in e.cpu_children)


def test_record_function_nests_like_torch():
    trees = {}
    for lib in LIBS:
        events = _nested(lib).events()
        trees[lib] = {n: _tree(events, n) for n in ("outer", "middle", "decorated")}
        outer = next(e for e in events if e.name == "outer")
        # self time is the total less the children's (pure arithmetic on recorded times)
        kids = sum(c.cpu_time_total for c in outer.cpu_children)
        assert outer.self_cpu_time_total == pytest.approx(outer.cpu_time_total - kids)
        assert outer.cpu_parent is None
    assert trees[tapegrad] == trees[torch]
    assert trees[tapegrad]["outer"] == ["aten::cos", "middle"]


def test_record_function_outside_a_profiler_is_a_no_op():
    with tapegrad.profiler.record_function("nothing"):
        y = tapegrad.ones(2) * 2
    assert y.tolist() == [2.0, 2.0]


def _header(table: str) -> list[str]:
    lines = table.splitlines()
    assert set(lines[0]) <= {"-", " "} and lines[2] == lines[0]
    return re.split(r"\s{2,}", lines[1].strip())


def _rows(table: str) -> list[list[str]]:
    lines = table.splitlines()
    return [re.split(r"\s{2,}", ln.strip()) for ln in lines[3:-2]]


@pytest.mark.parametrize(
    "kwargs, avg_kwargs",
    [
        ({}, {}),
        ({"record_shapes": True}, {}),
        ({"record_shapes": True}, {"group_by_input_shape": True}),
        ({"profile_memory": True}, {}),
        ({"profile_memory": True, "record_shapes": True}, {"group_by_input_shape": True}),
    ],
)
def test_table_columns_match_torch(kwargs, avg_kwargs):
    headers = {}
    for lib in LIBS:
        a = lib.ones(4, 5)
        with lib.profiler.profile(**kwargs) as prof:
            (a * 2).sum()
        table = prof.key_averages(**avg_kwargs).table()
        headers[lib] = _header(table)
        assert re.fullmatch(r"Self CPU time total: \d+\.\d{3}(us|ms|s)", table.splitlines()[-1])
        assert table.splitlines()[-2] == table.splitlines()[0]
    assert headers[tapegrad] == headers[torch]


def test_legacy_profiler_table_matches_torch():
    headers = {}
    for lib in LIBS:
        x = lib.ones(3, requires_grad=True)
        with lib.autograd.profiler.profile(record_shapes=True) as prof:
            (x * x).sum().backward()
        headers[lib] = _header(prof.key_averages().table(sort_by="self_cpu_time_total"))
        assert isinstance(prof.key_averages(), lib.autograd.profiler_util.EventList)
        names = {e.name for e in prof.function_events}
        assert {"aten::mul", "MulBackward0", ENGINE + "MulBackward0"} <= names
    assert headers[tapegrad] == headers[torch]


def test_table_sorting_and_row_limit():
    x = tapegrad.ones(8)
    with tapegrad.profiler.profile() as prof:
        for _ in range(3):
            x.sin()
        for _ in range(2):
            x.cos()
        x.exp()
    table = prof.key_averages().table(sort_by="count", row_limit=2)
    rows = _rows(table)
    assert [r[0] for r in rows] == ["aten::sin", "aten::cos"]
    assert [r[-1] for r in rows] == ["3", "2"]
    full = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=-1)
    self_times = [a.self_cpu_time_total for a in prof.key_averages()]
    assert len(_rows(full)) == 3
    by_table = [r[0] for r in _rows(full)]
    by_sort = [a.key for a in sorted(prof.key_averages(), key=lambda a: -a.self_cpu_time_total)]
    assert by_table == by_sort and len(self_times) == 3
    # the percentages are of the total self time
    pct = sum(float(r[1].rstrip("%")) for r in _rows(full))
    assert pct == pytest.approx(100.0, abs=0.05)


def test_memory_of_an_op_matches_torch():
    mem = {}
    for lib in LIBS:
        a = lib.ones(1000)
        with lib.profiler.profile(profile_memory=True) as prof:
            b = a * 2
        del b
        mul = next(e for e in prof.events() if e.name == "aten::mul")
        mem[lib] = mul.cpu_memory_usage
        assert "CPU Mem" in prof.key_averages().table()
    assert mem[tapegrad] == mem[torch] == 4000


def test_flops_of_a_matrix_product_match_torch():
    flops = {}
    for lib in LIBS:
        a, b = lib.ones(6, 5), lib.ones(5, 7)
        with lib.profiler.profile(with_flops=True) as prof:
            a @ b
        flops[lib] = sum(e.flops for e in prof.events())
        assert _header(prof.key_averages().table())[-1] == "Total FLOPs"
    assert flops[tapegrad] == flops[torch] == 2 * 6 * 5 * 7


def test_with_stack_records_the_calling_line():
    x = tapegrad.ones(3)
    with tapegrad.profiler.profile(with_stack=True) as prof:
        x.tanh()  # STACK-LINE
    ev = next(e for e in prof.events() if e.name == "aten::tanh")
    assert ev.stack and ev.stack[0].startswith(f"{__file__}(")
    assert "Source Location" in prof.key_averages(group_by_stack_n=1).table()


def test_chrome_trace_is_valid_json_with_the_events(tmp_path):
    x = tapegrad.ones(2, 2, requires_grad=True)
    with tapegrad.profiler.profile(record_shapes=True, profile_memory=True) as prof:
        with tapegrad.profiler.record_function("block"):
            y = (x @ x).relu().sum()
        y.backward()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    doc = json.loads(path.read_text())
    spans = [e for e in doc["traceEvents"] if e["ph"] == "X"]
    names = Counter(e["name"] for e in spans)
    assert names["aten::mm"] == 1 and names["block"] == 1 and names["MmBackward0"] == 1
    for e in spans:
        assert isinstance(e["ts"], (int, float)) and e["dur"] >= 0
        assert {"pid", "tid", "cat", "args"} <= set(e)
    block = next(e for e in spans if e["name"] == "block")
    mm = next(e for e in spans if e["name"] == "aten::mm")
    assert block["ts"] <= mm["ts"] and mm["ts"] + mm["dur"] <= block["ts"] + block["dur"] + 1e-3
    assert mm["args"]["Input Dims"] == [[2, 2], [2, 2]]
    # the forward mm and its backward node share a sequence number, joined by a flow arrow
    back = next(e for e in spans if e["name"] == "MmBackward0")
    assert back["args"]["Sequence number"] == mm["args"]["Sequence number"]
    flows = {
        e["ph"]: e
        for e in doc["traceEvents"]
        if e.get("cat") == "fwdbwd" and e["id"] == mm["args"]["Sequence number"]
    }
    assert flows["s"]["ts"] == mm["ts"] and flows["f"]["ts"] == back["ts"]
    assert any(e["ph"] == "i" and e["name"] == "[memory]" for e in doc["traceEvents"])


def test_tensorboard_trace_handler_writes_pt_trace_files(tmp_path):
    sched = tapegrad.profiler.schedule(wait=0, warmup=1, active=1, repeat=2)
    x = tapegrad.ones(3)
    with pytest.warns(UserWarning, match="Profiler clears events at the end of each cycle"):
        with tapegrad.profiler.profile(
            schedule=sched,
            on_trace_ready=tapegrad.profiler.tensorboard_trace_handler(str(tmp_path), "w0"),
        ) as prof:
            for _ in range(5):
                x.sin()
                prof.step()
    files = sorted(os.listdir(tmp_path))
    assert len(files) == 2
    assert all(re.fullmatch(r"w0\.\d+\.pt\.trace\.json", f) for f in files)
    doc = json.loads((tmp_path / files[0]).read_text())
    assert any(e.get("name") == "aten::sin" for e in doc["traceEvents"])
    assert any(e.get("name", "").startswith("ProfilerStep#") for e in doc["traceEvents"])


@pytest.mark.parametrize(
    "kw",
    [
        {"wait": 1, "warmup": 1, "active": 2},
        {"wait": 1, "warmup": 1, "active": 2, "repeat": 2, "skip_first": 1},
        {"wait": 0, "warmup": 2, "active": 1, "repeat": 1},
        {"wait": 3, "warmup": 1, "active": 1, "skip_first": 2, "skip_first_wait": 1},
    ],
)
def test_schedule_actions_match_torch(kw):
    t = torch.profiler.schedule(**kw)
    g = tapegrad.profiler.schedule(**kw)
    assert [g(i).name for i in range(20)] == [t(i).name for i in range(20)]


def test_schedule_validation_matches_torch():
    for lib in LIBS:
        with pytest.raises(AssertionError, match="Invalid profiler schedule arguments"):
            lib.profiler.schedule(wait=1, warmup=1, active=0)
        with pytest.warns(UserWarning, match="Profiler won't be using warmup"):
            lib.profiler.schedule(wait=1, warmup=0, active=1)


def _scheduled(lib, kw, steps):
    """Per on_trace_ready call: the step number and how many aten::sin were recorded."""
    ready = []
    x = lib.ones(3)

    def handler(p):
        names = Counter(e.name for e in p.events())
        ready.append((p.step_num, names["aten::sin"], names["ProfilerStep*"]))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with lib.profiler.profile(
            activities=[lib.profiler.ProfilerActivity.CPU],
            schedule=lib.profiler.schedule(**kw),
            on_trace_ready=handler,
        ) as prof:
            for _ in range(steps):
                x.sin()
                prof.step()
        last = Counter(e.name for e in prof.events())["aten::sin"]
    return ready, last


@pytest.mark.parametrize(
    "kw, steps",
    [
        ({"wait": 1, "warmup": 1, "active": 2, "repeat": 2, "skip_first": 1}, 12),
        ({"wait": 1, "warmup": 1, "active": 3}, 11),  # stops inside an active window
        ({"wait": 0, "warmup": 1, "active": 1, "repeat": 3}, 8),
    ],
)
def test_scheduled_steps_recorded_like_torch(kw, steps):
    assert _scheduled(tapegrad, kw, steps) == _scheduled(torch, kw, steps)


def test_cuda_activity_warns_like_torch():
    msgs = {}
    for lib in LIBS:
        acts = [lib.profiler.ProfilerActivity.CPU, lib.profiler.ProfilerActivity.CUDA]
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            with lib.profiler.profile(activities=acts) as prof:
                lib.ones(2).sin()
        msgs[lib] = [str(w.message) for w in rec if "real PyTorch" not in str(w.message)]
        assert Counter(e.name for e in prof.events())["aten::sin"] == 1
    assert msgs[tapegrad] == msgs[torch] == ["CUDA is not available, disabling CUDA profiling"]
    assert tapegrad.profiler.supported_activities() == {tapegrad.profiler.ProfilerActivity.CPU}


def test_profiler_uninstalls_after_an_exception():
    with pytest.raises(ValueError):
        with tapegrad.profiler.profile():
            tapegrad.ones(2).exp()
            raise ValueError("stop")
    assert F._apply_observer is None


def test_profiler_and_anomaly_mode_together():
    x = tapegrad.tensor([-1.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with tapegrad.profiler.profile() as prof, tapegrad.autograd.detect_anomaly():
            y = x.sqrt().sum()
            with pytest.raises(RuntimeError, match="SqrtBackward0"):
                y.backward()
            assert "traceback_" in y.grad_fn.metadata
    assert "SqrtBackward0" in {e.name for e in prof.events()}
    assert not tapegrad.is_anomaly_enabled()


def test_memory_profiling_keeps_nothing_alive_after_exit():
    import gc
    import weakref

    a = tapegrad.ones(100)
    with tapegrad.profiler.profile(profile_memory=True) as prof:
        kept = a * 2  # outlives the profiler
    events = weakref.ref(prof.profiler._function_events)
    del prof
    gc.collect()
    assert events() is None
    assert kept.tolist()[0] == 2.0


def test_custom_function_events_match_torch():
    names = {}
    for lib in LIBS:

        class Double(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        x = lib.ones(2, requires_grad=True)
        with lib.profiler.profile() as prof:
            Double.apply(x).sum().backward()
        events = prof.events()
        names[lib] = (
            Counter(e.name for e in events if e.name in ("Double", "DoubleBackward")),
            _tree(events, "Double"),
            "aten::mul" in _tree(events, "DoubleBackward"),
        )
    assert names[tapegrad] == names[torch]


def test_export_stacks_folds_the_python_stack(tmp_path):
    def work(x):
        return x.exp().sum()  # STACK-WORK

    x = tapegrad.ones(200_000)  # big enough that exp's self time is over 1 us
    with tapegrad.profiler.profile(with_stack=True) as prof:
        work(x)
    path = tmp_path / "stacks.txt"
    prof.export_stacks(str(path), "self_cpu_time_total")
    lines = path.read_text().splitlines()
    assert lines and all(re.fullmatch(r"\S+ \d+", ln) for ln in lines)
    exp_line = next(ln for ln in lines if "work" in ln.split(";")[-1])
    assert "test_profiler.py(" in exp_line and "STACK" not in exp_line


def test_legacy_use_cuda_warns_like_torch():
    seen = {}
    for lib in LIBS:
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            with lib.autograd.profiler.profile(use_cuda=True) as prof:
                lib.ones(2).exp()
        seen[lib] = [
            (w.category.__name__, str(w.message))
            for w in rec
            if "real PyTorch" not in str(w.message)
        ]
        assert "aten::exp" in prof.table()
    assert seen[tapegrad] == seen[torch]
    with tapegrad.autograd.profiler.profile(enabled=False) as prof:
        tapegrad.ones(2).exp()
    assert prof is None and F._apply_observer is None


def test_cnn_forward_op_names_match_torch():
    counts = {}
    for lib in LIBS:
        lib.manual_seed(0)
        nn = lib.nn
        net = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(4 * 4 * 4, 10),
            nn.LogSoftmax(dim=1),
        )
        x = lib.ones(2, 1, 8, 8)
        with lib.profiler.profile() as prof:
            with lib.profiler.record_function("forward"):
                net(x)
        top = next(e for e in prof.events() if e.name == "forward")
        counts[lib] = Counter(c.name for c in top.cpu_children)
    names = [
        "aten::conv2d",
        "aten::batch_norm",
        "aten::relu",
        "aten::max_pool2d",
        "aten::linear",
        "aten::log_softmax",
    ]
    assert [counts[tapegrad][n] for n in names] == [counts[torch][n] for n in names] == [1] * 6


def test_custom_function_named_like_a_primitive_keeps_its_name():
    class Linear(tapegrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x + 1

        @staticmethod
        def backward(ctx, g):
            return g

    with tapegrad.profiler.profile() as prof:
        Linear.apply(tapegrad.ones(2))
    assert [e.name for e in prof.events()][0] == "Linear"

"""tapegrad.distributed, DDP, SyncBatchNorm and DistributedSampler.

The multi-process tests run worker scripts (tests/distributed/*.py) under
``mpiexec -n 2`` from the venv (``pip install -e ".[distributed]"``); they are
skipped, with that reason, only when mpi4py is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import assert_same

import tapegrad
import tapegrad.distributed as dist
from tapegrad import nn
from tapegrad.distributed import launch
from tapegrad.utils.data.distributed import DistributedSampler

ROOT = Path(__file__).resolve().parent.parent
WORKERS = Path(__file__).resolve().parent / "distributed"
needs_mpi = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None,
    reason='mpi4py is not installed: pip install -e ".[distributed]" to run the MPI tests',
)


def mpi_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TAPEGRAD_NUM_THREADS"):
        env[key] = "1"
    return env


def mpiexec(script: str, *args, n: int = 2, timeout: float = 120) -> subprocess.CompletedProcess:
    cmd = [launch.find_mpiexec(), "-n", str(n), sys.executable, str(WORKERS / script)]
    return subprocess.run(
        cmd + [str(a) for a in args], env=mpi_env(), capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def fashion_files(tmp_path: Path, n_test: int) -> dict:
    """200 training and ``n_test`` test images in Fashion-MNIST's format under
    ``tmp_path/data`` (as tests/test_cli.py writes them); the environment to run in."""
    from test_cli import write_split

    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    write_split(raw, "train", 200, seed=0)
    write_split(raw, "t10k", n_test, seed=1)
    env = mpi_env()
    env["TAPEGRAD_DATA"] = str(tmp_path / "nowhere")  # only these files
    return env


# ---------------------------------------------------------------------------------------
# In one process: errors, samplers, wrappers.


def test_use_before_init_raises_pytorchs_errors():
    assert not dist.is_initialized()
    msg = "Default process group has not been initialized"
    for call in (
        dist.get_rank,
        dist.get_world_size,
        dist.barrier,
        lambda: dist.all_reduce(tapegrad.ones(2)),
        dist.destroy_process_group,
    ):
        with pytest.raises(ValueError, match=msg):
            call()
    with pytest.raises(ValueError, match=msg):
        DistributedSampler(range(4))
    with pytest.raises(ValueError, match=msg):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))


def test_backend_names():
    assert dist.Backend("MPI") == "mpi" and dist.Backend("gloo") == "gloo"
    with pytest.raises(ValueError, match="needs GPUs"):
        dist.Backend("nccl")
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.Backend("carrier-pigeon")
    with pytest.raises(ValueError, match="needs GPUs"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()


def test_reduce_op_names_match_pytorch():
    for name in ("SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"):
        ours, theirs = getattr(dist.ReduceOp, name), getattr(torch.distributed.ReduceOp, name)
        assert ours.name == name and int(ours) == int(theirs.value)


@pytest.mark.parametrize("n", [1, 5, 10, 33])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_shards_equal_pytorchs(n, replicas, drop_last):
    from torch.utils.data.distributed import DistributedSampler as TorchSampler

    for seed in (0, 7):
        for epoch in (0, 1, 4):
            for shuffle in (True, False):
                for rank in range(replicas):
                    kw = dict(shuffle=shuffle, seed=seed, drop_last=drop_last)
                    ours = DistributedSampler(range(n), replicas, rank, **kw)
                    theirs = TorchSampler(range(n), replicas, rank, **kw)
                    ours.set_epoch(epoch)
                    theirs.set_epoch(epoch)
                    assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_distributed_sampler_bad_rank():
    with pytest.raises(
        ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"
    ):
        DistributedSampler(range(4), num_replicas=2, rank=2)


def test_data_parallel_on_cpu_runs_the_module_like_pytorch():
    torch.manual_seed(0)
    ref = torch.nn.Linear(3, 2)
    ours = nn.Linear(3, 2)
    ours.load_state_dict(
        {k: tapegrad.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()}
    )
    theirs_dp, ours_dp = torch.nn.DataParallel(ref), nn.DataParallel(ours)
    assert (
        list(ours_dp.state_dict())
        == list(theirs_dp.state_dict())
        == ["module.weight", "module.bias"]
    )
    assert ours_dp.module is ours and ours_dp.device_ids == theirs_dp.device_ids == []
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(
        ours_dp(tapegrad.tensor(x)).detach().numpy(), theirs_dp(torch.tensor(x)).detach().numpy(),
        rtol=1e-6,
    )  # fmt: skip


def test_sync_batchnorm_in_one_process_is_batchnorm():
    torch.manual_seed(0)
    x = np.random.default_rng(1).standard_normal((6, 3, 4, 4))
    theirs = torch.nn.SyncBatchNorm(3).double()
    ours = nn.SyncBatchNorm(3).double()
    a = theirs(torch.tensor(x, requires_grad=True))  # PyTorch: BatchNorm without a group
    xt = tapegrad.tensor(x, requires_grad=True)
    b = ours(xt)
    np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="expected at least 2D input"):
        ours(tapegrad.ones(3, dtype=tapegrad.float64))


def test_convert_sync_batchnorm_shares_parameters():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Sequential(nn.BatchNorm1d(4)))
    bn = model[1]
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert isinstance(converted[1], nn.SyncBatchNorm) and isinstance(
        converted[2][0], nn.SyncBatchNorm
    )
    assert converted[1].weight is bn.weight and converted[1].running_mean is bn.running_mean
    assert list(converted.state_dict()) == list(model.state_dict())


def test_launcher_argv_and_extra_hint():
    assert launch.without_nproc(["train", "--nproc", "2", "--epochs", "1"]) == [
        "train", "--epochs", "1",
    ]  # fmt: skip
    assert launch.without_nproc(["train", "--nproc=3"]) == ["train"]
    from tapegrad.distributed import _mpi

    assert "tapegrad[distributed]" in _mpi.INSTALL_HINT


# ---------------------------------------------------------------------------------------
# Under mpiexec -n 2.


@needs_mpi
def test_collectives_under_mpiexec():
    r = mpiexec("collectives.py")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("collectives ok") == 2


@needs_mpi
def test_ddp_equals_one_process_on_the_whole_batch():
    r = mpiexec("ddp.py")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("ddp ok") == 2


@needs_mpi
def test_a_raising_rank_ends_the_job_naming_it():
    # bounded: mpiexec's subprocess times out (120 s) if the job does not end by itself
    r = mpiexec("fail.py", "raise")
    assert r.returncode != 0
    assert "rank 1 of 2 failed with ZeroDivisionError" in r.stderr, r.stderr


@needs_mpi
def test_the_watchdog_ends_a_rank_left_waiting():
    r = mpiexec("fail.py", "hang")
    assert r.returncode != 0
    assert re.search(r"rank 0: all_reduce.* did not complete within 1 s", r.stderr), r.stderr


@needs_mpi
def test_killed_rank_ends_the_job_and_resume_matches_an_uninterrupted_run(tmp_path):
    full = mpiexec("train_fault.py", tmp_path / "a.pt", tmp_path / "full.npz", 3)
    assert full.returncode == 0, full.stderr
    killed = mpiexec("train_fault.py", tmp_path / "b.pt", tmp_path / "x.npz", 3, "kill")
    assert killed.returncode != 0  # and within mpiexec()'s timeout
    assert "finished" not in killed.stdout
    checkpoint = tapegrad.load(tmp_path / "b.pt")  # written after epoch 1, still loadable
    assert checkpoint["epoch"] == 1 and checkpoint["world_size"] == 2
    assert all(not k.startswith("module.") for k in checkpoint["model"])
    resumed = mpiexec("train_fault.py", tmp_path / "b.pt", tmp_path / "res.npz", 3, "resume")
    assert resumed.returncode == 0, resumed.stderr
    a, b = np.load(tmp_path / "full.npz"), np.load(tmp_path / "res.npz")
    for k in a.files:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    # ... and on another number of processes
    one = mpiexec("train_fault.py", tmp_path / "b.pt", tmp_path / "one.npz", 3, "resume", n=1)
    assert one.returncode == 0, one.stderr
    assert "finished 3 epochs" in one.stdout


@needs_mpi
def test_train_command_nproc_2_matches_one_process(tmp_path):
    env = fashion_files(tmp_path, n_test=100)
    args = [
        "train", "--model", "seed-cnn", "--dataset", "fashion-mnist", "--epochs", "1",
        "--data-dir", str(tmp_path / "data"), "--batch-size", "20", "--lr", "0.05",
        "--json", "--no-progress",
    ]  # fmt: skip
    results = {}
    for nproc in (1, 2):
        ckpt = tmp_path / f"run{nproc}.pt"
        cmd = [sys.executable, "-m", "tapegrad.cli", *args, "--checkpoint", str(ckpt)]
        r = subprocess.run(
            cmd + ["--nproc", str(nproc)], env=env, capture_output=True, text=True, timeout=300
        )
        assert r.returncode == 0, r.stderr
        lines = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
        assert len(lines) == 1, r.stdout  # rank 0 alone reports
        results[nproc] = lines[0]
        assert r.stderr.count("epoch 1/1") == 1, r.stderr
    one, two = results[1]["test_error"], results[2]["test_error"]
    assert results[2]["test_size"] == 100
    assert abs(one - two) <= 0.15, (one, two)
    # the checkpoint of the 2-process run evaluates in one process
    r = subprocess.run(
        [sys.executable, "-m", "tapegrad.cli", "evaluate",
         "--checkpoint", str(tmp_path / "run2.pt"), "--data-dir", str(tmp_path / "data"),
         "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["error"] == pytest.approx(two)


def test_bench_projection_and_table():
    """bench/distributed.py's projection and Markdown (no timing asserted)."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import distributed as bench
    finally:
        sys.path.remove(str(ROOT / "bench"))
    one = {"step_s": {100: 0.030, 50: 0.017, 25: 0.0105, 12: 0.0071}}
    two = {"grad_bytes": 400_000, "allreduce_small_s": 10e-6, "allreduce_grads_s": 210e-6}
    rows = bench.project(one, two, steps=600)
    fit, table = rows[0]["fit"], rows[1:]
    assert fit["a_s"] == pytest.approx(0.004, abs=1e-3) and fit["bandwidth"] > 0
    assert [r["P"] for r in table] == [1, 2, 4, 8, 16, 32, 64]
    assert table[0]["local_efficiency"] == pytest.approx(1.0)
    eff = [r["local_efficiency"] for r in table]
    assert eff == sorted(eff, reverse=True)  # the fixed cost per step: efficiency falls
    result = {
        "workload": "cnn_epoch", "nproc": 2, "tapegrad_mpi_times": [9.0], "torch_times": [10.0],
        "tapegrad_1proc_times": [17.0], "ratio": 0.9, "target": 0.85, "met": False,
        "efficiency": 0.94, "efficiency_met": True, "data": "random", "projection": rows, **two,
    }  # fmt: skip
    info = {"date": "now", "cpu": "cpu", "machine": "m", "load_avg": 1.0, "tapegrad": "0",
            "torch": "2", "numpy": "2"}  # fmt: skip
    text = bench.markdown({"info": info, "quick": True, "reps": 1, "results": [result]})
    assert "| cnn_epoch | 2 |" in text and "**missed**" in text and "| 64 |" in text


def _rank_pids(pattern: str, rank: int) -> list[int]:
    """Process ids of the MPI rank ``rank`` whose command line contains ``pattern``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if pattern in cmd and f"PMI_RANK={rank}".encode() in env:
            found.append(int(entry))
    return found


@needs_mpi
@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="finds the rank's process in /proc")
def test_train_command_killed_rank_is_named_and_resume_works(tmp_path):
    env = fashion_files(tmp_path, n_test=40)
    ckpt = tmp_path / "run.pt"
    args = [
        sys.executable, "-m", "tapegrad.cli", "train", "--epochs", "200", "--data-dir",
        str(tmp_path / "data"), "--batch-size", "20", "--no-progress",
        "--checkpoint", str(ckpt), "--seed", "11",
    ]  # fmt: skip
    proc = subprocess.Popen(
        args + ["--nproc", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not ckpt.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert ckpt.exists(), "no checkpoint written"
        pids = _rank_pids("--seed 11", 1)
        assert len(pids) == 1, pids
        os.kill(pids[0], 9)  # rank 1 dies in the middle of an epoch
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert f"rank 1 (pid {pids[0]}) stopped first" in err, err
    epoch = tapegrad.load(ckpt)["epoch"]
    assert epoch >= 1
    # the last checkpoint continues, here on one process
    resume = [a if a != "200" else str(epoch + 1) for a in args] + ["--resume", str(ckpt)]
    r = subprocess.run(resume, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert tapegrad.load(ckpt)["epoch"] == epoch + 1


def torchrun(script: str, out: Path) -> subprocess.CompletedProcess:
    """``script`` on PyTorch (``LIB=torch``) under torchrun with 2 gloo processes; skips the
    test where PyTorch's launcher cannot run here."""
    env = mpi_env()
    env["LIB"] = "torch"
    theirs = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(WORKERS / script), str(out)],
        env=env, capture_output=True, text=True, timeout=180, cwd=out.parent,
    )  # fmt: skip
    if theirs.returncode != 0:
        pytest.skip(f"PyTorch's torchrun could not run here: {theirs.stderr[-500:]}")
    return theirs


def _same_saved(want, got, where: str = "saved") -> None:
    """``got`` (tapegrad.load) holds ``want``'s (torch.load) keys in order, and the same
    values and dtypes (conftest's ``assert_same`` below the dicts)."""
    if isinstance(want, dict):
        assert list(got) == list(want), where
        for k in want:
            _same_saved(want[k], got[k], f"{where}.{k}")
    else:
        assert_same(want, got, rtol=1e-5, atol=1e-6, where=where)


@needs_mpi
def test_a_pytorch_ddp_script_gives_pytorchs_numbers(tmp_path):
    """The same DDP script: PyTorch under torchrun (gloo), tapegrad under mpiexec."""
    theirs = torchrun("torch_style.py", tmp_path / "torch.pt")
    ours = mpiexec("torch_style.py", tmp_path / "tapegrad.pt")
    assert ours.returncode == 0, ours.stderr
    losses = [line for line in ours.stdout.splitlines() if line.startswith("epoch")]
    assert losses == [line for line in theirs.stdout.splitlines() if line.startswith("epoch")]
    _same_saved(torch.load(tmp_path / "torch.pt"), tapegrad.load(tmp_path / "tapegrad.pt"))


@needs_mpi
def test_join_and_comm_hooks_give_pytorchs_numbers(tmp_path):
    """Uneven inputs under ``join()`` (both divisors, with BatchNorm buffers) and the
    default, fp16 and no-op communication hooks: PyTorch under torchrun, tapegrad under
    mpiexec, the same weights on each rank."""
    torchrun("join_hooks.py", tmp_path / "torch.pt")
    ours = mpiexec("join_hooks.py", tmp_path / "tapegrad.pt")
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.count("second hook: RuntimeError") == 2, ours.stdout
    for rank in (0, 1):
        want = torch.load(tmp_path / f"torch.pt.{rank}")
        _same_saved(want, tapegrad.load(tmp_path / f"tapegrad.pt.{rank}"), f"rank {rank}")
    # the joined models end identical on both ranks (the last joiner's weights)
    a, b = (tapegrad.load(tmp_path / f"tapegrad.pt.{r}") for r in (0, 1))
    for k in a:
        if k.startswith("join"):
            assert np.array_equal(a[k].numpy(), b[k].numpy()), k


@needs_mpi
def test_zero_redundancy_optimizer_gives_pytorchs_numbers(tmp_path):
    """ZeroRedundancyOptimizer (Adam over two groups with StepLR, its consolidated
    state_dict, load_state_dict into a new one, SGD inside Join on uneven inputs):
    PyTorch under torchrun and tapegrad under mpiexec save the same weights and state."""
    torchrun("zero.py", tmp_path / "torch")
    ours = mpiexec("zero.py", tmp_path / "tapegrad")
    assert ours.returncode == 0, ours.stderr
    for suffix in ("0", "1", "state"):
        want = torch.load(tmp_path / f"torch.{suffix}")
        got = tapegrad.load(tmp_path / f"tapegrad.{suffix}")
        _same_saved(want, got, suffix)


@needs_mpi
def test_a_torchrun_command_runs_under_tapegrad_run(tmp_path):
    """``torchrun ARGS`` becomes ``tapegrad run -m torch.distributed.run ARGS``: the same
    lines as PyTorch's torchrun; a failing rank fails the job; several nodes are refused."""
    script = str(WORKERS / "torchrun_env.py")
    launcher = ["--standalone", "--nproc_per_node", "2", script, "--lr", "0.1"]
    env = mpi_env()
    theirs = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", *launcher],
        env=env, capture_output=True, text=True, timeout=180, cwd=tmp_path,
    )  # fmt: skip
    if theirs.returncode != 0:
        pytest.skip(f"PyTorch's torchrun could not run here: {theirs.stderr[-500:]}")
    tapegrad_run = [sys.executable, "-m", "tapegrad", "run", "-m", "torch.distributed.run"]
    ours = subprocess.run(
        tapegrad_run + launcher, env=env, capture_output=True, text=True, timeout=180,
        cwd=tmp_path,
    )  # fmt: skip
    assert ours.returncode == 0, ours.stderr

    def lines(out: str) -> list[str]:
        return sorted(re.findall(r"rank \d .*?args \[[^\]]*\]", out))

    assert len(lines(ours.stdout)) == 2
    assert lines(ours.stdout) == lines(theirs.stdout)
    failed = subprocess.run(
        tapegrad_run + launcher + ["fail"], env=env, capture_output=True, text=True,
        timeout=180, cwd=tmp_path,
    )  # fmt: skip
    assert failed.returncode != 0 and "rank 1 fails" in failed.stderr
    refused = subprocess.run(
        tapegrad_run + ["--nnodes", "2", script], env=env, capture_output=True, text=True,
        timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert refused.returncode == 2 and "mpiexec -f HOSTFILE" in refused.stderr


@needs_mpi
def test_ranks_are_pinned_only_when_there_are_cores_enough():
    cores = len(os.sched_getaffinity(0))
    pinned = launch.mpiexec_prefix(cores)
    assert pinned[-2:] == ["-n", str(cores)]
    if launch._is_hydra(pinned[0]):  # MPICH from the extra
        assert pinned[1:3] == ["-bind-to", "core"]
    assert "-bind-to" not in launch.mpiexec_prefix(cores + 1)
    with pytest.raises(ValueError, match="positive"):
        launch.mpiexec_prefix(0)


def test_torchrun_arguments():
    from tapegrad.distributed import run

    args = run.parse_args(["--nproc-per-node=3", "--rdzv_id", "j1", "-m", "pkg.train", "-x"])
    assert (args.nproc_per_node, args.rdzv_id, args.module) == ("3", "j1", True)
    assert (args.training_script, args.training_script_args) == ("pkg.train", ["-x"])
    assert run._nproc("cpu") == (os.cpu_count() or 1)
    for bad in ("gpu", "two", "0"):
        with pytest.raises(ValueError):
            run._nproc(bad)
    with pytest.raises(ValueError, match="not restarted"):
        run.run(run.parse_args(["--max-restarts", "3", "t.py"]))


def test_availability_and_elastic_record(tmp_path, monkeypatch):
    from tapegrad.distributed.elastic.multiprocessing.errors import record

    assert dist.is_gloo_available() == dist.is_mpi_available()
    assert not dist.is_nccl_available() and not dist.is_ucc_available()
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    assert not dist.is_torchelastic_launched()
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "x")
    assert dist.is_torchelastic_launched()

    @record
    def ok(a, b=1):
        return a + b

    @record
    def exits():
        raise SystemExit(0)

    @record
    def fails():
        raise ValueError("bad batch")

    assert ok(1, b=2) == 3 and ok.__name__ == "ok"
    assert exits() is None
    monkeypatch.delenv("TORCHELASTIC_ERROR_FILE", raising=False)
    with pytest.raises(ValueError, match="bad batch"):
        fails()
    path = tmp_path / "error.json"
    monkeypatch.setenv("TORCHELASTIC_ERROR_FILE", str(path))
    with pytest.raises(ValueError, match="bad batch"):
        fails()
    data = json.loads(path.read_text())["message"]
    assert data["message"] == "ValueError: bad batch"
    assert "bad batch" in data["extraInfo"]["py_callstack"]
    assert int(data["extraInfo"]["timestamp"]) > 0


def test_futures_match_pytorchs():
    for lib in (torch, tapegrad):
        f = lib.futures.Future()
        assert not f.done()
        chained = f.then(lambda x: x.value() + 1)
        seen = []
        f.add_done_callback(lambda x, seen=seen: seen.append(x.value()))
        f.set_result(41)
        assert f.done() and chained.wait() == 42 and seen == [41]
        with pytest.raises(RuntimeError):
            f.set_result(1)
        g = lib.futures.Future()
        failed = g.then(lambda x: x.value())
        g.set_exception(ValueError("no"))
        with pytest.raises(ValueError, match="no"):
            g.wait()
        with pytest.raises(RuntimeError, match="when running the callback: ValueError: no"):
            failed.wait()
        h = lib.futures.Future()
        both = lib.futures.collect_all([h, chained])
        assert not both.done()
        h.set_result(1)
        assert [x.value() for x in both.wait()] == [1, 42]
        assert lib.futures.wait_all([h, chained]) == [1, 42]


def test_missing_mpi_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    monkeypatch.setitem(sys.modules, "mpi4py.MPI", None)
    assert not dist.is_available()
    with pytest.raises(RuntimeError, match=r"tapegrad\[distributed\]"):
        dist.init_process_group("mpi")
    assert not dist.is_initialized()


@needs_mpi
def test_distributed_toolbox_gives_pytorchs_answers(tmp_path):
    """Subgroups, object send/recv, the coalesced collectives, supports_complex, the error
    classes, debug level, node-local rank and group count: a script written for PyTorch
    sees the same under PyTorch's torchrun and under tapegrad's mpiexec."""
    torchrun("toolbox.py", tmp_path / "torch")
    ours = mpiexec("toolbox.py", tmp_path / "tapegrad")
    assert ours.returncode == 0, ours.stderr
    for rank in (0, 1):
        want = json.loads((tmp_path / f"torch.{rank}").read_text())
        got = json.loads((tmp_path / f"tapegrad.{rank}").read_text())
        assert got == want, rank


def test_toolbox_helpers_without_a_process_group(monkeypatch):
    import torch.distributed as tdist

    import tapegrad.distributed as gdist

    for d in (gdist, tdist):
        monkeypatch.delenv("LOCAL_RANK", raising=False)
        assert d.get_node_local_rank(fallback_rank=3) == 3
        with pytest.raises(RuntimeError, match="LOCAL_RANK is not in the environment"):
            d.get_node_local_rank()
        monkeypatch.setenv("LOCAL_RANK", "1")
        assert d.get_node_local_rank(fallback_rank=3) == 1
        assert d.get_default_backend_for_device("cpu") == "gloo"
        with pytest.raises(ValueError, match="Default backend not registered for device"):
            d.get_default_backend_for_device("meta")
        assert d.is_xccl_available() is False
        assert issubclass(d.QueueEmptyError, d.DistStoreError)
        assert issubclass(d.DistError, RuntimeError)
    monkeypatch.setenv("TORCH_DISTRIBUTED_DEBUG", "DETAIL")
    gdist.set_debug_level_from_env()
    assert gdist.get_debug_level() == gdist.DebugLevel.DETAIL
    assert str(gdist.get_debug_level()) == "DebugLevel.DETAIL"
    monkeypatch.setenv("TORCH_DISTRIBUTED_DEBUG", "LOUD")
    with pytest.raises(ValueError):
        gdist.set_debug_level_from_env()
    gdist.set_debug_level(gdist.DebugLevel.OFF)
    assert gdist.get_debug_level() == gdist.DebugLevel.OFF

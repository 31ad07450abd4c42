"""``tapegrad.multiprocessing`` (``torch.multiprocessing``): ``spawn`` runs ``fn(i, *args)``
on processes that form one MPI job, so PyTorch's ``mp.spawn`` DDP programs run unchanged,
started either as ordinary programs or by ``mpiexec``.

The multi-process tests run PyTorch-style scripts with ``tapegrad run`` (so ``import
torch`` is served by tapegrad); they need the ``distributed`` extra, as the other MPI
tests do.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import tapegrad.multiprocessing as mp
from tapegrad.distributed import launch

ROOT = Path(__file__).resolve().parent.parent
needs_mpi = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None,
    reason='mpi4py is not installed: pip install -e ".[distributed]" to run the MPI tests',
)

# PyTorch's DDP tutorial, reduced: each process trains a toy model one SGD step under DDP
# on its own data and writes what it saw; the parent reads the files after spawn.
SCRIPT = """
import json, os, sys
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP

print(f"module {__name__}", flush=True)  # one write: the ranks share the pipe


def train(rank, world_size, out):
    os.environ["MASTER_ADDR"] = "localhost"
    os.environ["MASTER_PORT"] = "12355"
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    ddp = DDP(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
    torch.manual_seed(rank)
    nn.functional.mse_loss(ddp(torch.randn(5, 4)), torch.randn(5, 2)).backward()
    opt.step()
    with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
        json.dump({"rank": rank, "world": dist.get_world_size(), "pid": os.getpid(),
                   "bias": model[2].bias.tolist()}, f)
    dist.destroy_process_group()


def fail(rank, world_size, out):
    if rank == 1:
        raise ValueError("boom on rank 1")
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    dist.barrier()


def exit_3(rank, world_size, out):
    if rank == 1:
        os._exit(3)


if __name__ == "__main__":
    mode, out = sys.argv[1], sys.argv[2]
    fn = {"train": train, "fail": fail, "exit": exit_3}[mode]
    try:
        if len(sys.argv) > 3:  # join=False: poll the context
            ctx = mp.spawn(fn, args=(2, out), nprocs=int(sys.argv[3]), join=False)
            while not ctx.join(timeout=0.5):
                pass
            print(f"pids {len(ctx.pids())}", flush=True)
        else:
            mp.spawn(fn, args=(2, out), nprocs=2, join=True)
    except mp.ProcessRaisedException as e:
        print(f"raised {e.error_index} {'boom on rank 1' in str(e)}", flush=True)
        sys.exit(0)
    except mp.ProcessExitedException as e:
        print(f"exited {e.error_index} {e.exit_code} {e}", flush=True)
        sys.exit(0)
    print(f"after spawn {__name__}", flush=True)
"""


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _run(tmp_path: Path, *args: str, nproc: int | None = None):
    script = tmp_path / "spawn_ddp.py"
    script.write_text(textwrap.dedent(SCRIPT))
    cmd = [sys.executable, "-m", "tapegrad", "run", str(script), *args]
    if nproc is not None:
        cmd = [launch.find_mpiexec(), "-n", str(nproc), *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=tmp_path,
                          timeout=180)  # fmt: skip


def _ranks(out: Path) -> list[dict]:
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]


@needs_mpi
def test_spawn_from_an_ordinary_process_runs_ddp_once_per_rank(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = _run(tmp_path, "train", str(out))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    # the parent runs the main block once; each child imports the script as __mp_main__
    assert lines.count("module __main__") == 1
    assert lines.count("module __mp_main__") == 2
    assert lines.count("after spawn __main__") == 1
    ranks = _ranks(out)
    assert [r["rank"] for r in ranks] == [0, 1] and {r["world"] for r in ranks} == {2}
    assert ranks[0]["pid"] != ranks[1]["pid"] != os.getpid()
    # DDP averaged the gradients: both replicas end with the same weights
    assert ranks[0]["bias"] == ranks[1]["bias"]
    assert "Error in sitecustomize" not in result.stderr


@needs_mpi
def test_spawn_matches_pytorch(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "out"
    out.mkdir()
    result = _run(tmp_path, "train", str(out))
    assert result.returncode == 0, result.stderr
    ours = _ranks(out)[0]["bias"]
    # the same program on PyTorch (gloo on localhost), as a plain python process
    pt_out = tmp_path / "pt"
    pt_out.mkdir()
    script = tmp_path / "spawn_ddp.py"
    pt = subprocess.run([sys.executable, str(script), "train", str(pt_out)], capture_output=True,
                        text=True, cwd=tmp_path, timeout=180)  # fmt: skip
    if pt.returncode != 0:
        pytest.skip(f"PyTorch's gloo backend did not start here: {pt.stderr[-300:]}")
    theirs = _ranks(pt_out)[0]["bias"]
    assert ours == pytest.approx(theirs, rel=1e-5, abs=1e-6)


@needs_mpi
def test_an_exception_in_a_process_reaches_the_parent(tmp_path):
    result = _run(tmp_path, "fail", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "raised 1 True" in result.stdout


@needs_mpi
def test_an_exit_code_reaches_the_parent(tmp_path):
    result = _run(tmp_path, "exit", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "exited 1 3 process 1 terminated with exit code 3" in result.stdout


@needs_mpi
def test_join_false_returns_a_context(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = _run(tmp_path, "train", str(out), "2")
    assert result.returncode == 0, result.stderr
    assert "pids 2" in result.stdout
    assert _ranks(out)[0]["bias"] == _ranks(out)[1]["bias"]


@needs_mpi
def test_under_mpiexec_each_rank_is_a_spawned_process(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = _run(tmp_path, "train", str(out), nproc=2)
    assert result.returncode == 0, result.stderr
    out_text = result.stdout  # two ranks' lines, which mpiexec may interleave
    # no processes of its own: the script runs on both ranks, fn once per rank
    assert out_text.count("module __main__") == 2 and "module __mp_main__" not in out_text
    assert out_text.count("after spawn __main__") == 2
    ranks = _ranks(out)
    assert ranks[0]["bias"] == ranks[1]["bias"] and ranks[0]["pid"] != ranks[1]["pid"]


@needs_mpi
def test_under_mpiexec_nprocs_must_match(tmp_path):
    result = _run(tmp_path, "train", str(tmp_path), "3", nproc=2)
    assert result.returncode != 0
    assert "spawn(nprocs=3) in a job that an MPI launcher started with 2" in result.stderr


def test_arguments_and_warnings():
    with pytest.raises(ValueError, match="nprocs must be a positive integer, got 0"):
        mp.spawn(print, nprocs=0)
    with pytest.warns(FutureWarning, match="only supports start_method=spawn"):
        with pytest.raises(ValueError):
            mp.spawn(print, nprocs=0, start_method="fork")


def test_exceptions_pickle_as_pytorchs():
    e = mp.ProcessExitedException("process 1 terminated with exit code 3", 1, 42, 3)
    back = pickle.loads(pickle.dumps(e))
    assert (back.msg, back.error_index, back.error_pid, back.exit_code) == (e.msg, 1, 42, 3)
    r = pickle.loads(pickle.dumps(mp.ProcessRaisedException("trace", 0, 7)))
    assert isinstance(r, mp.ProcessException) and (r.error_index, r.error_pid) == (0, 7)


def test_sharing_strategies_and_the_multiprocessing_api():
    import multiprocessing

    assert mp.get_sharing_strategy() in mp.get_all_sharing_strategies()
    before = mp.get_sharing_strategy()
    try:
        mp.set_sharing_strategy("file_system")
        assert mp.get_sharing_strategy() == "file_system"
        with pytest.raises(AssertionError, match="invalid sharing strategy 'nope'"):
            mp.set_sharing_strategy("nope")
    finally:
        mp.set_sharing_strategy(before)
    assert mp.Process is multiprocessing.Process and mp.get_context is multiprocessing.get_context
    assert mp.SpawnContext is mp.ProcessContext
    missing = [n for n in multiprocessing.__all__ if not hasattr(mp, n)]
    assert not missing


def test_the_names_match_pytorchs():
    torch_mp = pytest.importorskip("torch.multiprocessing")
    wanted = {"spawn", "start_processes", "ProcessContext", "ProcessRaisedException",
              "ProcessExitedException", "get_sharing_strategy", "set_sharing_strategy",
              "get_all_sharing_strategies"}  # fmt: skip
    assert wanted <= set(dir(torch_mp)) and wanted <= set(mp.__all__)
    assert mp.get_all_sharing_strategies() == torch_mp.get_all_sharing_strategies()
    assert mp.get_sharing_strategy() == torch_mp.get_sharing_strategy()

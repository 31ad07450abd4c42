"""``torch.distributed.run`` (the ``torchrun`` command) over ``mpiexec``.

A command written for ``torchrun`` on one machine runs with tapegrad as

    tapegrad run -m torch.distributed.run --standalone --nproc_per_node 2 train.py ARGS
    python -m tapegrad.distributed.run --nproc_per_node 2 train.py ARGS   # tapegrad scripts

Both start ``train.py ARGS`` on that many processes under the venv's ``mpiexec``, one
BLAS thread and (where there are enough cores) one core each, with the variables a
torchrun worker reads (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``,
``MASTER_ADDR``, ``MASTER_PORT``, ``TORCHELASTIC_RUN_ID``), so
``init_process_group(init_method="env://")`` works. Under ``tapegrad run`` the workers'
``import torch`` is tapegrad too. Several machines are
``mpiexec -f hostfile``'s job (see the README): ``--nnodes`` other than 1 is refused with
that advice, and so are elastic restarts (``--max-restarts``), which MPI does not do.
The rendezvous options are accepted and have nothing to do: ``mpiexec`` forms the job.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import launch

__all__ = ["get_args_parser", "main", "parse_args", "run"]


def _both(parser: argparse.ArgumentParser, name: str, **kwargs) -> None:
    """``--a-b`` and torchrun's older spelling ``--a_b`` for the same option."""
    names = [f"--{name}"]
    if "-" in name:
        names.append(f"--{name.replace('-', '_')}")
    parser.add_argument(*names, **kwargs)


def get_args_parser() -> argparse.ArgumentParser:
    """torchrun's command-line options (``torch.distributed.run.get_args_parser``)."""
    p = argparse.ArgumentParser(
        prog="torchrun", description="Start a training script on several processes (over MPI)"
    )
    _both(p, "nnodes", type=str, default="1:1", help="number of machines: must be 1 here")
    _both(p, "nproc-per-node", type=str, default="1", help="processes: a number, cpu or auto")
    _both(p, "rdzv-backend", type=str, default="static", help="accepted; mpiexec forms the job")
    _both(p, "rdzv-endpoint", type=str, default="", help="accepted; mpiexec forms the job")
    _both(p, "rdzv-id", type=str, default="none", help="the job's id (TORCHELASTIC_RUN_ID)")
    _both(p, "rdzv-conf", type=str, default="", help="accepted; mpiexec forms the job")
    p.add_argument("--standalone", action="store_true", help="one machine (the only choice)")
    _both(p, "max-restarts", type=int, default=0, help="must be 0: MPI does not restart ranks")
    _both(p, "monitor-interval", type=float, default=0.1, help="accepted")
    _both(p, "start-method", type=str, default="spawn", help="accepted")
    p.add_argument("--role", type=str, default="default", help="accepted")
    p.add_argument("-m", "--module", action="store_true", help="run the script as python -m")
    _both(p, "no-python", action="store_true", help="run the script as a program")
    _both(p, "run-path", action="store_true", help="run the script with runpy.run_path")
    _both(p, "log-dir", type=str, default=None, help="accepted")
    p.add_argument("-r", "--redirects", type=str, default="0", help="accepted")
    p.add_argument("-t", "--tee", type=str, default="0", help="accepted")
    _both(p, "local-ranks-filter", type=str, default="", help="accepted")
    _both(p, "node-rank", type=int, default=0, help="must be 0 (one machine)")
    _both(p, "master-addr", type=str, default="127.0.0.1", help="MASTER_ADDR for the workers")
    _both(p, "master-port", type=int, default=29500, help="MASTER_PORT for the workers")
    _both(p, "local-addr", type=str, default=None, help="accepted")
    _both(p, "logs-specs", type=str, default=None, help="accepted")
    p.add_argument("training_script", type=str, help="the script (or module, with -m)")
    p.add_argument("training_script_args", nargs=argparse.REMAINDER)
    return p


def parse_args(args: Sequence[str] | None) -> argparse.Namespace:
    """torchrun's arguments (``torch.distributed.run.parse_args``)."""
    return get_args_parser().parse_args(args)


def _nproc(value: str) -> int:
    if value in ("cpu", "auto"):
        return os.cpu_count() or 1
    if value == "gpu":
        raise ValueError("--nproc-per-node=gpu: tapegrad runs on the CPU (no GPUs)")
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"--nproc-per-node must be a number, cpu or auto, got {value!r}") from None
    if n < 1:
        raise ValueError(f"--nproc-per-node must be positive, got {n}")
    return n


def _one_node(nnodes: str) -> bool:
    parts = nnodes.split(":")
    return all(x.strip() == "1" for x in parts) and 1 <= len(parts) <= 2


def run(args: argparse.Namespace) -> int:
    """Start the script as the parsed arguments say; the job's exit code
    (``torch.distributed.run.run``)."""
    if not _one_node(args.nnodes) or args.node_rank != 0:
        raise ValueError(
            f"torchrun --nnodes {args.nnodes}: several machines run under MPI's launcher "
            "instead: mpiexec -f HOSTFILE -n N python train.py (see the README)"
        )
    if args.max_restarts != 0:
        raise ValueError(
            f"torchrun --max-restarts {args.max_restarts}: ranks are not restarted under "
            "MPI; resume from a checkpoint instead (use --max-restarts 0)"
        )
    nproc = _nproc(args.nproc_per_node)
    if args.no_python:
        if args.module:
            raise ValueError("Don't use both the '--no-python' flag and the '--module' flag at "
                             "the same time.")  # fmt: skip
        program = [args.training_script]
    elif args.module:
        program = [sys.executable, "-m", args.training_script]
    else:
        program = [sys.executable, "-u", args.training_script]
    env = launch.rank_env()
    env.setdefault("MASTER_ADDR", args.master_addr)
    env.setdefault("MASTER_PORT", str(args.master_port))
    env["TORCHELASTIC_RUN_ID"] = args.rdzv_id
    cmd = [*launch.mpiexec_prefix(nproc), *program, *args.training_script_args]
    return launch.run_command(cmd, env, hint="")


def main(args: Sequence[str] | None = None) -> None:
    """``torchrun ARGS``: exits with the job's exit code."""
    try:
        code = run(parse_args(args))
    except ValueError as e:
        print(f"torchrun: error: {e}", file=sys.stderr)
        code = 2
    sys.exit(code)


if __name__ == "__main__":
    main()

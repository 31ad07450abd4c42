"""Run under ``mpiexec -n 2``: ``raise``: rank 1 raises while rank 0 waits in a
collective; ``hang``: rank 1 skips the collective (the watchdog must end the job)."""

import datetime
import sys
import time

import tapegrad as torch
import tapegrad.distributed as dist

dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=1))
rank = dist.get_rank()
if rank == 1:
    if sys.argv[1] == "raise":
        raise ZeroDivisionError("division by zero")
    time.sleep(30)
dist.all_reduce(torch.ones(2))

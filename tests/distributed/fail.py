"""Run under ``mpiexec -n 2``: ``raise``: rank 1 raises while rank 0 waits in a
collective; ``hang``: rank 1 skips the collective (the watchdog must end the job)."""

import datetime
import sys
import time

import tapegrad as torch
import tapegrad.distributed as dist

# "hang" needs the watchdog to fire; for "raise" a long timeout keeps the watchdog from
# racing rank 1's report on a busy machine.
seconds = 1 if sys.argv[1] == "hang" else 60
dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=seconds))
rank = dist.get_rank()
if rank == 1:
    if sys.argv[1] == "raise":
        raise ZeroDivisionError("division by zero")
    time.sleep(30)
dist.all_reduce(torch.ones(2))

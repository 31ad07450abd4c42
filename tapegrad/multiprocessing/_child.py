"""A process of :func:`tapegrad.multiprocessing.spawn`, started by ``mpiexec`` as
``python -m tapegrad.multiprocessing._child FOLDER``.

It prepares itself as Python's spawn start method does (the parent's ``sys.path``,
working directory and main script, imported as ``__mp_main__``), unpickles ``fn`` and
its arguments and calls ``fn(rank, *args)`` with its MPI rank. An exception from
``fn`` is written to ``FOLDER/rank-R.error`` for the parent, and the job is ended so
that no other rank waits for this one in a collective.
"""

from __future__ import annotations

import multiprocessing.spawn as _mp_spawn
import os
import pickle
import sys
import traceback


def main(folder: str) -> int:
    from ..distributed.launch import record_finish, record_start
    from ..distributed.process_group import launched_by_mpi

    info = launched_by_mpi() or {"rank": 0, "world_size": 1}
    rank, world = info["rank"], info["world_size"]
    record_start(rank)
    # The payload's outer layer is plain data; the call is unpickled only after the
    # main script is imported, since fn is usually defined there.
    with open(os.path.join(folder, "payload.pkl"), "rb") as f:
        payload = pickle.load(f)
    _mp_spawn.prepare(payload["prep"])
    fn, args = pickle.loads(payload["call"])
    try:
        fn(rank, *args)
    except KeyboardInterrupt:
        return 130  # mpiexec passed on Ctrl-C to every rank
    except Exception:
        trace = traceback.format_exc()
        with open(os.path.join(folder, f"rank-{rank}.error"), "w", encoding="utf-8") as f:
            f.write(trace)
        if world > 1:
            from ..distributed.faults import abort

            abort(None)
        return 1
    record_finish(rank)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

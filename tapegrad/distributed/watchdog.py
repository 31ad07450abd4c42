"""A watchdog thread that bounds how long a rank may wait in a collective.

A rank whose peer died without MPI noticing, hung, or skipped a collective would
otherwise wait forever (MPI has no timeouts). Like PyTorch's process-group timeout,
a collective that runs longer than ``timeout`` seconds ends the whole job, with a
message naming the rank and the collective.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Watchdog:
    """Calls ``on_timeout(message)`` when one collective has run for ``timeout`` seconds."""

    def __init__(self, timeout: float, rank: int, on_timeout: Callable[[str], None]) -> None:
        self.timeout = float(timeout)
        self.rank = rank
        self.on_timeout = on_timeout
        self._what: str | None = None
        self._since = 0.0
        self._depth = 0
        self._stop = threading.Event()
        # The thread only reads two attributes: entering and leaving a collective cost
        # two assignments, no locks.
        self._thread = threading.Thread(target=self._run, name="tapegrad-watchdog", daemon=True)
        self._thread.start()

    def enter(self, what: str) -> None:
        """A collective starts (nested calls keep the outermost start time)."""
        if self._depth == 0:
            self._since = time.monotonic()
            self._what = what
        self._depth += 1

    def leave(self) -> None:
        """The collective started by the matching ``enter`` has completed."""
        self._depth -= 1
        if self._depth <= 0:
            self._depth = 0
            self._what = None

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        poll = min(1.0, max(self.timeout / 4, 0.05))
        while not self._stop.wait(poll):
            what = self._what
            if what is not None and time.monotonic() - self._since > self.timeout:
                self.on_timeout(
                    f"tapegrad.distributed: rank {self.rank}: {what} did not complete within "
                    f"{self.timeout:g} s (the process-group timeout): another rank died, hung "
                    "or skipped this collective; aborting the job"
                )
                return

"""Let torch's threads wait passively when a command starts on CPUs that others keep busy.

torch's CPU kernels run on an OpenMP thread pool (libgomp in the CPU wheels). At the end of each
parallel region its threads spin for a while before they sleep. Alone on a machine, that saves
wake-ups. Beside another process that keeps the same cores busy, the spinning takes the time the
other's threads need, and both crawl. Two trainings of the suite's LSTM case at once on 2 cores
ran 120 and 118 samples/s, against about 730-825 alone. With the second one waiting passively
(`OMP_WAIT_POLICY=PASSIVE`) they ran 522 and 456 (benchmarks/README.md).

Passive waiting costs 12-25% when a process is alone, so it is chosen only when the command starts
on busy CPUs: the later of two trainings waits passively. Two `trainlab train` runs started 8 s
apart then finished in about 100 s instead of 170; the earlier one, still spinning, lost about a
sixth. It changes no result, only how idle threads wait. libgomp reads the policy once, when torch is
imported, so cli.py calls this before that; a user's own `OMP_WAIT_POLICY` is left as it is.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, MutableMapping
from pathlib import Path

LOADAVG = Path("/proc/loadavg")  # Linux: "0.52 0.58 0.59 3/245 1234", the 4th field running/total


def running_threads() -> int | None:
    """Threads running or ready to run on the whole machine right now, this one included; None
    where the system does not say (no /proc/loadavg)."""
    try:
        return int(LOADAVG.read_text().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None


def busy_threads_elsewhere(read: Callable[[], int | None] = running_threads, samples: int = 5,
                           interval: float = 0.01) -> int | None:
    """Threads kept busy by others: the median of `samples` readings, less this reading one."""
    readings = []
    for index in range(samples):
        if index:
            time.sleep(interval)
        reading = read()
        if reading is None:
            return None
        readings.append(reading)
    return max(0, int(statistics.median(readings)) - 1)


def wait_passively_if_busy(environ: MutableMapping[str, str] | None = None, cpus: int | None = None,
                           busy: Callable[[], int | None] | None = None) -> str | None:
    """Set `OMP_WAIT_POLICY=PASSIVE` in `environ` (os.environ) when others keep at least half the
    CPUs busy (`busy`: busy_threads_elsewhere) and the user set no policy. Returns a line saying so,
    or None when nothing was set."""
    environ = os.environ if environ is None else environ
    if "OMP_WAIT_POLICY" in environ:
        return None
    cpus = cpus or os.cpu_count() or 1
    others = (busy or busy_threads_elsewhere)()
    if others is None or others < max(1, (cpus + 1) // 2):
        return None
    environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return (f"trainlab: {others} other threads are running on {cpus} CPUs; torch's threads will wait "
            "passively (OMP_WAIT_POLICY=PASSIVE) so that the programs do not slow each other many-fold")

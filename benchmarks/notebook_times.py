"""Wall and CPU seconds of every notebook in notebooks/, executed with nbclient as the tests do.

CPU seconds are those of the kernel process (kernel start and imports included), which depend less
on what else the machine runs than wall seconds do.

    OMP_NUM_THREADS=1 python benchmarks/notebook_times.py [--scale tiny|quick] [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import nbclient
import nbformat

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # finished (waited-for) kernels
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook in notebooks/")
    parser.add_argument("--scale", default="tiny", choices=("tiny", "quick"))
    args = parser.parse_args()
    os.environ["TRAINLAB_NOTEBOOK_SCALE"] = args.scale
    paths = args.notebooks or sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
    print(f"load average {os.getloadavg()[0]:.2f}; scale {args.scale}")
    print(f"{'notebook':45s} {'wall s':>8s} {'cpu s':>8s}")
    total_wall = total_cpu = 0.0
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        with tempfile.TemporaryDirectory() as work_dir:
            started, cpu_before = time.perf_counter(), children_cpu_seconds()
            nbclient.NotebookClient(notebook, kernel_name="python3", timeout=1800,
                                    resources={"metadata": {"path": work_dir}}).execute()
            wall, cpu = time.perf_counter() - started, children_cpu_seconds() - cpu_before
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        print(f"{path.stem:45s} {wall:8.1f} {cpu:8.1f}")
    print(f"{'total':45s} {total_wall:8.1f} {total_cpu:8.1f}")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

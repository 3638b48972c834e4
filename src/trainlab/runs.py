"""Name a new run directory, write files atomically, capture the environment, seed every RNG.

What is inside a run directory (its file names, readers and model) belongs to `trainlab.rundir`.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import trainlab


def default_run_dir(task: str, source: str, root: str | os.PathLike = Path("runs")) -> Path:
    """`runs/<task>-<data>-<timestamp>`, with a counter if two runs start in the same second."""
    root = Path(root)
    data_name = Path(source).name or "data"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = root / f"{task}-{data_name}-{stamp}"
    counter = 1
    while candidate.exists():
        counter += 1
        candidate = root / f"{task}-{data_name}-{stamp}-{counter}"
    return candidate


def current_umask() -> int:
    """The process's umask (022 on most systems), left unchanged."""
    # Linux shows it in /proc; elsewhere it can only be read by setting it, which for an instant
    # would give files another thread creates the wrong mode.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode `open()` gives a new file under the current umask: 0644 under 022, 0640 under 027."""
    return 0o666 & ~current_umask()


def new_folder_mode() -> int:
    """The mode `mkdir()` gives a new folder under the current umask: 0755 under 022, 0750 under 027."""
    return 0o777 & ~current_umask()


def give_default_mode(path: str | os.PathLike) -> None:
    """Give `path` the mode a plain `open()` or `mkdir()` would have given it under the umask.

    tempfile.mkstemp/mkdtemp (and safetensors, which writes through such a file) create 0600 files
    and 0700 folders whatever the umask, which is right while they are half-written but would keep
    a finished report or checkpoint from a teammate or a web server once renamed into place.
    """
    os.chmod(path, new_folder_mode() if Path(path).is_dir() else new_file_mode())


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write through a temporary file in the same directory and rename, so readers never see half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        give_default_mode(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def seed_everything(seed: int) -> None:
    """One seed for Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def use_deterministic_cuda() -> None:
    """Make CUDA kernels deterministic (CPU kernels already are); only called for CUDA runs,
    because torch.use_deterministic_algorithms costs two seconds of imports."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False


def capture_environment(seed: int, device: torch.device) -> dict[str, Any]:
    """Versions, device, seed, git commit and command line: what a reader needs to rerun the run."""
    environment: dict[str, Any] = {
        "trainlab": trainlab.__version__,
        "python": platform.python_version(),
        **{package: _version(package) for package in ("torch", "numpy", "pandas", "scikit-learn", "pydantic")},
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
        "seed": seed,
        "git_commit": _git_commit(),
        "command": sys.argv,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if device.type == "cuda":
        environment["cuda"] = torch.version.cuda
        environment["gpu"] = torch.cuda.get_device_name(device)
    return environment


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    """The commit of the trainlab source tree, when it is a git checkout."""
    source = Path(trainlab.__file__).resolve().parent
    try:
        result = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def say(message: str) -> None:
    """A progress message for the user: stderr, so stdout stays for results."""
    print(message, file=sys.stderr, flush=True)

"""What a CUDA machine must do, checked in a few minutes; one table at the end (scripts/gpu-check.sh).

Each check trains or compares at tiny scale on offline data and says pass, FAIL or skip, with the
figure it judged by. `--device cpu` runs the same checks on the CPU (those that need CUDA are
skipped), which is how the script itself is tested on a machine without a GPU.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

TINY = {  # task -> (data, settings): one epoch of each task on offline builtin data
    "image-classification": ("digits", ["data.limit=300", "model.channels=[8]", "model.hidden_size=16"]),
    "text-classification": ("synthetic-reviews", ["data.num_examples=400", "model.hidden_size=16"]),
    "language-model": ("python-stdlib", ["data.limit=20000", "model.hidden_size=32"]),
    "forecast": ("sunspots", ["model.hidden_size=16"]),
    "sequence-classification": ("adding", ["data.num_examples=512", "model.hidden_size=16"]),
}
RESUME_SETTINGS = ["train.epochs=8", "model.dropout=0.3", "optim.schedule=plateau", "optim.schedule.patience=1",
                   "data.batch_size=32"]
TIMINGS = ("train_seconds", "samples_per_second")


def trainlab(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trainlab", *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


def metrics_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def train(work: Path, name: str, task: str, data: str, settings: list[str], device: str) -> dict:
    run_dir = work / name
    done = trainlab("train", task, "--data", data, "--out", str(run_dir), "--quiet", "--seed", "0",
                    f"train.device={device}", *settings)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed")
    return metrics_of(run_dir)


def check_tasks(work: Path, device: str) -> list[tuple[str, bool | None, str]]:
    rows = []
    for task, (data, settings) in TINY.items():
        metrics = train(work, f"task-{task}", task, data, ["train.epochs=1", *settings], device)
        loss = metrics.get("test_loss")
        finite = loss is not None and math.isfinite(loss)
        rows.append((f"{task} end to end", finite, f"test_loss {loss}"))
    return rows


def check_precisions(work: Path, device: str) -> list[tuple[str, bool | None, str]]:
    data, settings = TINY["image-classification"]
    settings = ["train.epochs=5", *settings, "data.limit=1200"]  # enough to learn: accuracies comparable
    reference = train(work, "precision-32", "image-classification", data, settings, device)["test_accuracy"]
    rows = []
    for precision in ("bf16", "fp16"):
        if precision == "fp16" and device == "cpu":
            rows.append(("train.precision=fp16 (GradScaler)", None, "needs CUDA"))
            continue
        accuracy = train(work, f"precision-{precision}", "image-classification", data,
                         [*settings, f"train.precision={precision}"], device)["test_accuracy"]
        rows.append((f"train.precision={precision}", abs(accuracy - reference) <= 0.05,
                     f"test accuracy {accuracy:.3f} against float32 {reference:.3f} (allowed 0.05)"))
    return rows


def check_packed_recurrent(work: Path, device: str) -> list[tuple[str, bool | None, str]]:
    """A packed (cuDNN on a GPU) bidirectional LSTM classifier against the same weights on the CPU."""
    from trainlab.config import build_config
    from trainlab.models import TextSpec, build_model

    if device == "cpu":
        return [("packed recurrent classifier = CPU", None, "needs CUDA")]
    config = build_config({"task": "text-classification",
                           "model": {"name": "lstm", "bidirectional": True, "packing": "always", "layers": 2}})
    torch.manual_seed(0)
    model = build_model(config.model, TextSpec(500, 3), "text-classification")
    lengths = torch.tensor([37, 5, 20, 1, 37, 12])
    tokens = torch.randint(1, 500, (6, 37))
    tokens[torch.arange(37) >= lengths[:, None]] = 0
    outputs = {}
    for where in ("cpu", device):
        copy = build_model(config.model, TextSpec(500, 3), "text-classification")
        copy.load_state_dict(model.state_dict())
        copy.to(where).eval()
        with torch.no_grad():
            outputs[where] = copy(tokens.to(where), lengths).float().cpu()
    difference = (outputs["cpu"] - outputs[device]).abs().max().item()
    return [("packed recurrent classifier = CPU", difference < 1e-4, f"largest logit difference {difference:.2e}")]


def check_resume(work: Path, device: str) -> list[tuple[str, bool | None, str]]:
    """Killed with SIGKILL after its third checkpoint, resumed: the metrics of an unbroken run."""
    killed, unbroken = work / "killed", work / "unbroken"
    settings = [f"train.device={device}", *RESUME_SETTINGS]
    command = [sys.executable, "-m", "trainlab", "train", "image-classification", "--data", "digits",
               "--seed", "7", "--out", str(killed), "--quiet", *settings]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    state = killed / "checkpoints" / "last" / "state.json"
    deadline = time.monotonic() + 300

    def epoch() -> int:
        try:
            return json.loads(state.read_text())["epoch"]
        except (FileNotFoundError, json.JSONDecodeError):
            return 0

    while epoch() < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if process.poll() is not None:
        return [("resume after a kill = unbroken run", None, "the run ended before it could be killed")]
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    resumed = trainlab("resume", str(killed), "--quiet")
    if resumed.returncode != 0:
        return [("resume after a kill = unbroken run", False, resumed.stderr.strip()[-200:])]
    done = trainlab("train", "image-classification", "--data", "digits", "--seed", "7", "--out", str(unbroken),
                    "--quiet", *settings)
    if done.returncode != 0:
        return [("resume after a kill = unbroken run", False, done.stderr.strip()[-200:])]
    first, second = metrics_of(killed), metrics_of(unbroken)
    differing = sorted(key for key in first if key not in TIMINGS and first[key] != second.get(key))
    return [("resume after a kill = unbroken run", not differing,
             "identical metrics" if not differing else f"differ: {', '.join(differing)}")]


def check_streaming(work: Path, device: str) -> list[tuple[str, bool | None, str]]:
    return [("streaming image loader, pin_memory", None, "not built yet (issue 25)")]


def check_benchmarks(work: Path, device: str) -> list[tuple[str, bool | None, str]]:
    precision = "bf16" if device != "cpu" else "32"
    command = [sys.executable, "-m", "benchmarks", "--device", device, "--precision", precision,
               "--cases", "cnn-28,resnet20-32,lstm-200,cnn-28-inference", "--contenders", "trainlab,torch-tutorial",
               "--repeats", "1", "--min-seconds", "1", "--name", f"gpu-check-{device.replace(':', '')}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=420, cwd=Path(__file__).parents[1],
                          check=False)
    if done.returncode != 0:
        return [("benchmark suite", False, done.stderr.strip()[-200:])]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| trainlab")]
    return [("benchmark suite", True, f"{len(rows)} cases; tables in benchmarks/results/")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--skip-benchmarks", action="store_true")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("gpu-check: no CUDA device here (torch.cuda.is_available() is False); --device cpu checks the script")
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    checks: list[Callable[[Path, str], list]] = [check_tasks, check_precisions, check_packed_recurrent, check_resume,
                                         check_streaming]
    if not args.skip_benchmarks:
        checks.append(check_benchmarks)
    rows, started = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        for check in checks:
            began = time.perf_counter()
            try:
                found = check(Path(work), args.device)
            except Exception as error:  # noqa: BLE001  (one broken check must not hide the others' results)
                found = [(check.__name__.removeprefix("check_"), False, f"{type(error).__name__}: {error}")]
            seconds = time.perf_counter() - began
            rows.extend((label, result, detail, seconds / len(found)) for label, result, detail in found)
    print(f"\ngpu-check on {name} (torch {torch.__version__}), {time.perf_counter() - started:.0f} s")
    print("| check | result | detail | s |\n|---|---|---|---|")
    for label, result, detail, seconds in rows:
        word = "skip" if result is None else ("pass" if result else "FAIL")
        print(f"| {label} | {word} | {detail} | {seconds:.0f} |")
    sys.exit(1 if any(result is False for _, result, _, _ in rows) else 0)


if __name__ == "__main__":
    main()

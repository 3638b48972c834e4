"""A folder too large to hold decoded: streamed (data.in_memory=false) against held in memory.

Writes (once, then reuses) a folder of JPEGs at 256x256 in 10 classes, then runs

    trainlab train image-classification --data FOLDER --model resnet18 data.image_size=[224,224]
        data.limit=LIMIT train.epochs=EPOCHS data.in_memory=false|true

and reports, for each: the training samples/s from metrics.json, the wall time, the peak RSS of
the largest process (getrusage of the children: the run or one of its decoding workers) and the
peak of the whole process tree's proportional set size (PSS: a page shared by k processes counts
1/k in each; sampled every 0.2 s), also until the first epoch ended (data read, one epoch trained and
validated; afterwards come the test split, the test examples and the figures). Decoded as uint8 the whole folder would take N x 3 x 224 x 224 bytes
(3.0 GB for 20,000 images), and training holds a shuffled copy of the training images besides.

    python benchmarks/streaming_folder.py [--images 20000] [--limit 512] [--epochs 1]
        [--folder /tmp/trainlab-stream-bench] [--modes false,true]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = 10
SIDE = 256


def write_folder(folder: Path, images: int) -> None:
    """`images` JPEGs (quality 90) in class folders: smooth colour fields, a class-coloured square
    and noise, so they compress like photographs rather than like noise."""
    if folder.is_dir() and sum(1 for _ in folder.rglob("*.jpg")) == images:
        return
    started = time.perf_counter()

    def write(index: int) -> None:
        rng = np.random.default_rng(index)
        label = index % CLASSES
        grid = np.linspace(0, 1, SIDE)
        field = np.stack([np.outer(grid, grid), np.outer(grid[::-1], grid), np.outer(grid, grid[::-1])], axis=2)
        pixels = field * rng.uniform(60, 200, 3) + rng.normal(0, 12, (SIDE, SIDE, 3))
        top, left = rng.integers(0, SIDE - 64, 2)
        pixels[top : top + 64, left : left + 64] = np.array([(label * 37) % 256, (label * 91) % 256, 255 - label * 25])
        target = folder / f"class{label}" / f"{index:05d}.jpg"
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(target, quality=90)

    for label in range(CLASSES):
        (folder / f"class{label}").mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(write, range(images)))
    size = sum(path.stat().st_size for path in folder.rglob("*.jpg"))
    print(f"wrote {images} JPEGs ({size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s")


def tree_pss(pid: int) -> int:
    """Bytes of memory of `pid` and its descendants (the decoding workers), each page shared by k
    of them counted 1/k times: the proportional set size, summed (Linux /proc smaps_rollup)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup") as handle:
                total += next(int(line.split()[1]) * 1024 for line in handle if line.startswith("Pss:"))
            with open(f"/proc/{current}/task/{current}/children") as handle:
                pending += [int(child) for child in handle.read().split()]
        except (OSError, ValueError, StopIteration):
            continue
    return total


def run(folder: Path, in_memory: str, args: argparse.Namespace) -> dict:
    run_dir = folder.parent / f"stream-bench-run-{in_memory}"
    command = [sys.executable, "-m", "trainlab", "train", "image-classification", "--data", str(folder),
               "--model", "resnet18", "--out", str(run_dir), "--overwrite", "data.image_size=[224,224]",
               f"data.limit={args.limit}", f"train.epochs={args.epochs}", f"data.in_memory={in_memory}",
               f"data.batch_size={args.batch_size}"]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak, first_epoch_peak = [0], [0]
    history = run_dir / "history.csv"

    def sample() -> None:
        while process.poll() is None:
            rss = tree_pss(process.pid)
            peak[0] = max(peak[0], rss)
            if not history.exists():  # still reading the data or training the first epoch
                first_epoch_peak[0] = max(first_epoch_peak[0], rss)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    output = process.communicate()[0]
    sampler.join()
    wall = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(output[-3000:])
    storage = next((line for line in output.splitlines() if line.startswith("images ")), "?")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"in_memory": in_memory, "samples_per_second": metrics["samples_per_second"], "wall_s": wall,
            "largest_process_rss_gb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6,
            "tree_pss_gb": peak[0] / 1e9, "tree_pss_to_first_epoch_end_gb": first_epoch_peak[0] / 1e9,
            "storage": storage}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--limit", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/trainlab-stream-bench/images"))
    parser.add_argument("--modes", default="false,true", help="data.in_memory values, run in this order")
    args = parser.parse_args()
    write_folder(args.folder, args.images)
    print(f"load average {os.getloadavg()[0]:.2f}; {args.images} images, limit {args.limit}, "
          f"{args.epochs} epoch(s), batch {args.batch_size}")
    for mode in args.modes.split(","):
        # ru_maxrss of the children is a running maximum: run each mode in a fresh interpreter for
        # its own figure (the script re-runs itself with one mode).
        if len(args.modes.split(",")) > 1:
            subprocess.run([sys.executable, __file__, *sys.argv[1:], "--modes", mode], check=True)
            continue
        print(json.dumps(run(args.folder, mode, args)))


if __name__ == "__main__":
    main()

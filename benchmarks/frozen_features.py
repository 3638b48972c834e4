"""Fine-tuning ResNet-18 from a local weights file: frozen backbone with cached features against the
whole network trained.

A folder of generated 224x224 RGB images in 10 classes and a ResNet-18 weights file in torchvision's
keys (random weights: speed does not depend on them) are written to a temporary folder, then

    trainlab train image-classification --data FOLDER --model resnet18 model.load_pretrained=FILE
        data.image_size=[224,224] train.epochs=3 finetune.freeze=backbone|none

runs once each. The frozen run's samples/s counts the time spent computing the features.

    python benchmarks/frozen_features.py [--images 300] [--epochs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from trainlab.config import build_config
from trainlab.models import ImageSpec, build_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.images} images, {args.epochs} epochs")
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        rng = np.random.default_rng(0)
        for index in range(args.images):
            folder = work / "images" / f"class{index % 10}"
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)).save(folder / f"{index}.png")
        weights = work / "resnet18.pt"
        config = build_config({"task": "image-classification", "model": {"name": "resnet18"}}).model
        torch.save(build_model(config, ImageSpec(3, 224, 224, 1000), "image-classification").state_dict(), weights)
        results = {}
        for freeze in ("backbone", "none"):
            run_dir = work / f"run-{freeze}"
            command = [sys.executable, "-m", "trainlab", "train", "image-classification", "--data",
                       str(work / "images"), "--model", "resnet18", "--out", str(run_dir),
                       f"model.load_pretrained={weights}", "data.image_size=[224,224]",
                       f"train.epochs={args.epochs}", f"finetune.freeze={freeze}"]
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            wall = time.perf_counter() - started
            metrics = json.loads((run_dir / "metrics.json").read_text())
            found = re.search(r"computed once in ([0-9.]+) s", done.stdout + done.stderr)
            caching = float(found.group(1)) if found else 0.0
            trained = len(list((work / "images").rglob("*.png")))  # an upper bound: val/test are split off
            samples = metrics["samples_per_second"] * metrics["train_seconds"]
            results[freeze] = samples / (metrics["train_seconds"] + caching)
            print(f"finetune.freeze={freeze}: whole command {wall:.1f} s; training {metrics['train_seconds']:.1f} s"
                  f" + features {caching:.1f} s; {results[freeze]:.1f} samples/s ({trained} images in the folder)")
    print(f"frozen with cached features / whole network: {results['backbone'] / results['none']:.1f}x")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""`trainlab predict --input` against `Trainer.evaluate`: throughput of the same model.

Two runs are trained briefly on generated data (the weights do not matter for speed): ResNet-20 on
a folder of 32x32 PNGs, and the default LSTM on generated reviews. Then the same model scores

- a folder of 1,000 images (decoded from files) and a CSV of 10,000 texts (tokenized from text)
  with `batch_predict.predict_file`, the code behind `trainlab predict RUN --input PATH`;
- the same inputs as in-memory batches with `Trainer.evaluate`, the code that scores a test split.

    python benchmarks/batch_predict.py
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from trainlab.batch_predict import predict_file
from trainlab.cli import main as trainlab
from trainlab.data import TensorBatches
from trainlab.data.sequence_batching import PaddedBatches
from trainlab.predict import open_prediction_session, stacked_images
from trainlab.rundir import eval_transform
from trainlab.training.tasks import ClassificationTask
from trainlab.training.trainer import Trainer


def image_folder(root: Path, count: int) -> Path:
    rng = np.random.default_rng(0)
    for index in range(count):
        folder = root / f"class{index % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{index:05d}.png")
    return root


def timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def evaluate_seconds(session, batches, classes: int) -> float:
    trainer = Trainer(session.model, ClassificationTask(classes), torch.optim.SGD(session.model.parameters(), lr=0),
                      max_epochs=1, callbacks=[], precision=session.precision)
    trainer.evaluate(batches)  # warm-up
    return min(timed(lambda: trainer.evaluate(batches)) for _ in range(3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1_000)
    parser.add_argument("--texts", type=int, default=10_000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; torch threads {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        folder = image_folder(work / "images", args.images)
        image_run = work / "image-run"
        trainlab(["train", "image-classification", "--data", str(folder), "--model", "resnet20", "--out",
                  str(image_run), "--quiet", "train.epochs=1", "data.limit=200"])
        predict_seconds = min(timed(lambda: predict_file(image_run, str(folder), io.StringIO())) for _ in range(3))
        session = open_prediction_session(image_run)
        files = sorted(folder.rglob("*.png"))
        images = stacked_images([np.asarray(Image.open(path).convert("RGB")) for path in files], 3)
        labels = torch.zeros(len(images), dtype=torch.long)
        transformed = eval_transform(session.info)(images)
        evaluate = evaluate_seconds(session, TensorBatches(transformed, labels, batch_size=256), 10)
        report("images (ResNet-20, 32x32 PNG files)", len(files), predict_seconds, evaluate)

        text_run = work / "text-run"
        trainlab(["train", "text-classification", "--data", "synthetic-reviews", "--out", str(text_run),
                  "--quiet", "train.epochs=1", f"data.num_examples={args.texts}"])
        session = open_prediction_session(text_run)
        rng = np.random.default_rng(1)
        words = session.encoder.vocab.tokens[2:]
        texts = [" ".join(rng.choice(words, rng.integers(5, 60))) for _ in range(args.texts)]
        table = work / "texts.csv"
        with table.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text"])
            writer.writerows([text] for text in texts)
        predict_seconds = min(timed(lambda: predict_file(text_run, str(table), io.StringIO())) for _ in range(3))
        sequences = [torch.tensor(session.encoder.encode(text)) for text in texts]
        batches = PaddedBatches(sequences, torch.zeros(len(texts), dtype=torch.long), 256, shuffle=False, seed=0)
        evaluate = evaluate_seconds(session, batches, len(session.classes))
        report("texts (default LSTM, CSV rows)", len(texts), predict_seconds, evaluate)
    print(f"load average {os.getloadavg()[0]:.2f}")


def report(what: str, count: int, predict_seconds: float, evaluate_seconds: float) -> None:
    predicted, evaluated = count / predict_seconds, count / evaluate_seconds
    print(f"{what}: {count:,} inputs; predict --input {predicted:,.0f}/s (whole call: loading the run, reading, "
          f"writing), Trainer.evaluate {evaluated:,.0f}/s; ratio {predicted / evaluated:.2f}")


if __name__ == "__main__":
    main()

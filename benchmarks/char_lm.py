"""Character-level LSTM language model throughput: training tokens per second on Tiny Shakespeare.

Each setting trains `--steps` steps of the `language-model` task's own batches, task and optimizer
(the Trainer's step: forward, loss, backward, Adam) after `--warmup` untimed steps, and reports
training tokens per second (batch x sequence length per step) and milliseconds per step. Then it
evaluates the validation part once and reports evaluation tokens per second. With `--train`, it
instead runs one ordinary full `trainlab train language-model` with the given overrides and prints
its metrics (the target run of benchmarks/README.md).

    OMP_NUM_THREADS=1 python benchmarks/char_lm.py                      # every setting, 20 steps
    python benchmarks/char_lm.py --only 2x256 --steps 50
    python benchmarks/char_lm.py --train --out runs/char-lm-target model.hidden_size=512 train.epochs=10

Needs ../shared/data (or $TRAINLAB_SHARED_DATA).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from trainlab import rundir
from trainlab.config import apply_overrides, build_config, parse_overrides
from trainlab.experiment import build_experiment, train_run

SHARED = Path(os.environ.get("TRAINLAB_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
CORPUS = SHARED / "tiny_shakespeare" / "input.txt"
# name -> overrides of `trainlab train language-model --data input.txt`.
SETTINGS: dict[str, list[str]] = {
    "2x256": ["model.hidden_size=256", "model.layers=2"],
    "2x256-windows": ["model.hidden_size=256", "model.layers=2", "data.stateful=false"],
    "2x384-tied": ["model.hidden_size=384", "model.layers=2", "model.tie_weights=true"],
    "2x512": ["model.hidden_size=512", "model.layers=2"],
    "gru-2x256": ["model=gru", "model.hidden_size=256", "model.layers=2"],
}
COMMON = ["data.sequence_length=128", "data.batch_size=64", "optim.lr=3e-3"]


def config_of(overrides: list[str]):
    raw = {"task": "language-model", "data": {"source": str(CORPUS)}}
    return build_config(apply_overrides(raw, parse_overrides(COMMON + overrides)))


def measure(name: str, steps: int, warmup: int) -> dict:
    """Tokens per second of `steps` training steps of one setting, and of one validation pass."""
    experiment = build_experiment(config_of(SETTINGS[name]), run_dir=None, quiet=True)
    trainer, pipeline = experiment.trainer, experiment.pipeline
    model, task, optimizer = trainer.model, pipeline.task, trainer.optimizer
    model.train()
    batches = iter(pipeline.train_batches)
    tokens = 0
    for index in range(warmup + steps):
        if index == warmup:
            started, tokens = time.perf_counter(), 0
        inputs, targets, reset = next(batches)
        loss, _, _ = task.forward(model, (inputs, targets, reset), training=True)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        tokens += targets.numel()
    seconds = time.perf_counter() - started
    evaluated = time.perf_counter()
    trainer.evaluate(pipeline.val_batches)
    eval_seconds = time.perf_counter() - evaluated
    return {
        "setting": name,
        "params": sum(p.numel() for p in model.parameters()),
        "train_tokens_per_second": tokens / seconds,
        "ms_per_step": 1000 * seconds / steps,
        "eval_tokens_per_second": pipeline.val_batches.num_examples / eval_seconds,
        "threads": torch.get_num_threads(),
    }


def held_out_loss(metrics: dict, run_dir: Path) -> float:
    """Cross-entropy over the whole held-out 10% (validation 90-95% and test 95-100% together),
    each part weighted by its token count: the split the issue's target and nanoGPT's 1.47 use."""
    tokens = json.loads((run_dir / rundir.DATA_FILE).read_text())["tokens"]
    weighted = metrics["val_loss"] * tokens["val"] + metrics["test_loss"] * tokens["test"]
    return weighted / (tokens["val"] + tokens["test"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=sorted(SETTINGS), action="append")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--train", action="store_true", help="one full training run with the overrides")
    parser.add_argument("--out", type=Path, default=Path("runs/char-lm-target"))
    parser.add_argument("overrides", nargs="*", metavar="key=value")
    args = parser.parse_args()
    if not CORPUS.is_file():
        sys.exit(f"{CORPUS} is absent: set TRAINLAB_SHARED_DATA to the folder holding tiny_shakespeare/")
    if args.train:
        started = time.perf_counter()
        metrics = train_run(config_of(args.overrides), args.out, overwrite=True)
        metrics["wall_seconds"] = time.perf_counter() - started
        metrics["held_out_loss"] = held_out_loss(metrics, args.out)
        print(json.dumps(metrics, indent=2))
        return
    print(f"{'setting':<15}{'params':>10}{'train tok/s':>13}{'ms/step':>10}{'eval tok/s':>12}")
    for name in args.only or SETTINGS:
        row = measure(name, args.steps, args.warmup)
        print(f"{name:<15}{row['params']:>10,}{row['train_tokens_per_second']:>13,.0f}"
              f"{row['ms_per_step']:>10.0f}{row['eval_tokens_per_second']:>12,.0f}", flush=True)


if __name__ == "__main__":
    main()

"""Test accuracy of the recurrent text classifiers on the reviews of ../shared/data, with the
TF-IDF baseline beside them: the issue's done-when runs.

  imdb: a BiLSTM on imdb/train.csv (10,000 reviews, all for training), tested on imdb/test.csv
        (5,000 reviews) given as data.test. Target: test accuracy >= 0.85.
  sst2: an LSTM on sst2/train.tsv (60,614 phrases and sentences), tested on sst2/test.tsv (the 872
        sentences of the GLUE dev set) given as data.test. Target: test accuracy >= 0.80.

Each case is an ordinary `trainlab train` run (the script prints the equivalent command); the
settings are the cheapest in CPU time found to reach the targets (see benchmarks/README.md). Wall
time covers everything the command does: loading and tokenizing, training, evaluating, the TF-IDF
baseline, the confidently-wrong table; `train_seconds` is the training epochs alone.

    python benchmarks/text_accuracy.py                  # both cases
    python benchmarks/text_accuracy.py sst2 --threads 1
    python benchmarks/text_accuracy.py imdb train.epochs=4 optim.lr=0.001
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch

from trainlab.config import apply_overrides, build_config, parse_overrides
from trainlab.experiment import train_run

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TRAINLAB_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
GLOVE = SHARED_DATA / "glove_6B_50d_top2446" / "glove.6B.50d.top2446.txt"


def cases() -> dict[str, tuple[dict[str, Any], float]]:
    """case name -> (config, target test accuracy)."""
    # All 10,000 training reviews, no validation split: the cosine schedule ends at lr ~0 and the
    # last epoch's weights are scored (train.restore_best=false).
    imdb = {
        "task": "text-classification",
        "data": {"source": str(SHARED_DATA / "imdb" / "train.csv"), "test": str(SHARED_DATA / "imdb" / "test.csv"),
                 "val_fraction": 0.0, "max_length": 256, "min_freq": 2, "batch_size": 64},
        "model": {"name": "lstm", "bidirectional": True, "embedding_dim": 128, "hidden_size": 128,
                  "pooling": "mean", "embedding_dropout": 0.3, "head_dropout": 0.3},
        "optim": {"name": "adam", "lr": 0.003, "schedule": {"name": "cosine"}},
        "train": {"epochs": 5, "grad_clip_norm": 5.0, "monitor": "train_loss", "restore_best": False},
    }
    sst2 = {
        "task": "text-classification",
        "data": {"source": str(SHARED_DATA / "sst2" / "train.tsv"), "test": str(SHARED_DATA / "sst2" / "test.tsv"),
                 "text_column": "sentence", "val_fraction": 0.05, "batch_size": 64},
        "model": {"name": "lstm", "embedding_dim": 128, "hidden_size": 128, "pooling": "max",
                  "embedding_dropout": 0.3, "head_dropout": 0.3},
        "optim": {"name": "adam", "lr": 0.002},
        "train": {"epochs": 2, "grad_clip_norm": 5.0, "monitor": "val_accuracy"},
    }
    return {"imdb": (imdb, 0.85), "sst2": (sst2, 0.80)}


def command_line(config: dict[str, Any], run_dir: Path) -> str:
    """The `trainlab train` command of a config: every leaf as a key=value override."""
    pairs = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else key, item)
        else:
            text = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
            pairs.append(f"{prefix}={text}")

    walk("", {key: value for key, value in config.items() if key != "task"})
    return shlex.join(["trainlab", "train", config["task"], "--out", str(run_dir), *pairs])


def run_case(name: str, config: dict[str, Any], target: float, out: Path) -> dict[str, Any]:
    run_dir = out / name
    print(f"== {name}: target test accuracy >= {target}")
    print(command_line(config, run_dir))
    started = time.perf_counter()
    metrics = train_run(build_config(config), run_dir, overwrite=True, quiet=False)
    wall = time.perf_counter() - started
    accuracy = metrics["test_accuracy"]
    print(f"{name}: test accuracy {accuracy:.4f} (macro F1 {metrics['test_macro_f1']:.4f}), TF-IDF baseline "
          f"{metrics['baseline_tfidf_accuracy']:.4f}; {metrics['epochs']} epochs (best {metrics['best_epoch']}), "
          f"train {metrics['train_seconds']:.0f} s, {metrics['samples_per_second']:.0f} samples/s, "
          f"wall {wall:.0f} s; target {'met' if accuracy >= target else 'NOT met'}")
    return {"case": name, "wall_seconds": wall, **metrics}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", nargs="?", default="all", choices=["all", "imdb", "sst2"])
    parser.add_argument("overrides", nargs="*", help="key=value settings applied to the chosen case(s)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--glove", action="store_true", help=f"initialise the embeddings from {GLOVE}")
    parser.add_argument("--out", type=Path, default=Path("runs") / "text-accuracy")
    args = parser.parse_args(argv)
    if not SHARED_DATA.is_dir():
        print(f"no shared data at {SHARED_DATA}: set TRAINLAB_SHARED_DATA", file=sys.stderr)
        return 1
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    chosen = cases() if args.which == "all" else {args.which: cases()[args.which]}
    results = []
    for name, (config, target) in chosen.items():
        if args.glove:
            config = apply_overrides(config, [("data.embeddings", str(GLOVE)), ("model.embedding_dim", None)])
        config = apply_overrides(config, parse_overrides(args.overrides))
        results.append(run_case(name, config, target, args.out))
    for result in results:
        print(f"{result['case']}: accuracy {result['test_accuracy']:.4f}, TF-IDF {result['baseline_tfidf_accuracy']:.4f}, "
              f"{result['epochs']} epochs, wall {result['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

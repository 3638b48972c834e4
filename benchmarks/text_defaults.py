"""Text classification runs with the defaults: the network, the TF-IDF baseline and the model the run
chose on validation, each by its test accuracy (issue 24's text targets and generality check).

    python benchmarks/text_defaults.py                       # the generality sets: fortunes bolcom
    python benchmarks/text_defaults.py --sets sst2 imdb      # the issue's targets (imdb: ~15 min)
    python benchmarks/text_defaults.py --sets bolcom -- model.pretrained_encoder=RUN

Each run is `trainlab train text-classification --data TRAIN data.test=TEST` with only the options
that say where the texts are; anything after `--` is added to every run. One row per set: wall time,
best epoch, the three test accuracies and whether the chosen model is >= TF-IDF + 1 point. IMDB and
SST-2 come from ../shared/data; fortunes and bolcom are built by benchmarks/generality_data.py.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# name -> (training file, test file, options that say what the data is); "generality:NAME" files are
# built from packages on the registries.
SETS = {
    "imdb": (DATA / "imdb" / "train.csv", DATA / "imdb" / "test.csv", []),
    "sst2": (DATA / "sst2" / "train.tsv", DATA / "sst2" / "test.tsv", ["data.text_column=sentence"]),
    "fortunes": ("generality:fortunes", None, []),
    "bolcom": ("generality:bolcom", None, []),
}
GENERALITY = ("fortunes", "bolcom")


def files(name: str) -> tuple[Path, Path]:
    train, test, _ = SETS[name]
    if isinstance(train, str):
        from generality_data import build  # beside this script

        train = build(train.removeprefix("generality:"))
        test = train.with_name("test.csv")
    return Path(train), Path(test)


def run(name: str, extra: list[str], work_dir: Path) -> dict:
    train, test = files(name)
    run_dir = work_dir / name
    command = [sys.executable, "-m", "trainlab", "train", "text-classification", "--data", str(train),
               f"data.test={test}", "--out", str(run_dir), "--quiet", *SETS[name][2], *extra]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"wall": wall, **metrics}


def row(name: str, result: dict) -> str:
    network, tfidf = result["test_accuracy"], result["baseline_tfidf_accuracy"]
    chosen = result.get("chosen_model", "network")
    chosen_accuracy = result.get("chosen_test_accuracy", network)
    return (f"| {name} | {result['wall']:.0f} s | {result.get('best_epoch', '?')} of {result.get('epochs', '?')} | "
            f"{network:.3f} | {tfidf:.3f} | {chosen} {chosen_accuracy:.3f} | "
            f"{'yes' if network >= tfidf else 'no'} | {'yes' if chosen_accuracy >= tfidf + 0.01 else 'no'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(GENERALITY))
    parser.add_argument("extra", nargs="*", help="options added to every run (after --)")
    args = parser.parse_args()
    print(f"options beyond the data's: {' '.join(args.extra) or '(none)'}")
    print("| set | wall | best epoch | network test accuracy | TF-IDF | chosen | network >= TF-IDF "
          "| chosen >= TF-IDF + 1 point |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work_dir:
        for name in args.sets:
            print(row(name, run(name, args.extra, Path(work_dir))), flush=True)


if __name__ == "__main__":
    main()

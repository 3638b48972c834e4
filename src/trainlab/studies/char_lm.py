"""Study `char-lm`: a stacked character-level LSTM language model against the unigram and bigram
baselines, trained on contiguous chunks with the state carried across them (truncated BPTT) and,
as the second arm, on independent windows that start from a zero state.

Quick scale runs offline on the Python standard library's own source (the first 200,000
training characters; validation and test are the last 5% each of the ~1.5M-character corpus);
full scale on Tiny Shakespeare (downloaded once, or ../shared/data when it is there) with the
recipe of benchmarks/README.md. The report shows test bits per character against both baselines
(scored on the same test characters), the learning curves, and text generated at several
temperatures by seed 0 of the best arm; summary.json records those samples too.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from trainlab import registry, rundir, runs
from trainlab.studies.plan import Arm, StudyPlan

ARMS = {
    "stateful": ({"stateful": True}, "2-layer LSTM, carried state (truncated BPTT)"),
    "windows": ({"stateful": False}, "2-layer LSTM, independent windows"),
}
SHARED_SHAKESPEARE = Path("tiny_shakespeare") / "input.txt"


def shakespeare_source() -> str:
    """../shared/data's copy of Tiny Shakespeare when this checkout has one, else the builtin."""
    folder = Path(os.environ.get("TRAINLAB_SHARED_DATA", Path(__file__).resolve().parents[4] / "shared" / "data"))
    local = folder / SHARED_SHAKESPEARE
    return str(local) if local.is_file() else "tiny-shakespeare"


def settings(scale: str) -> tuple[dict[str, Any], str]:
    if scale == "quick":
        config = {
            "task": "language-model",
            "data": {"source": "python-stdlib", "tokenizer": "char", "val_fraction": 0.05, "test_fraction": 0.05,
                     "limit": 200_000, "chunk_length": 64, "batch_size": 16},
            "model": {"name": "lstm", "hidden_size": 128, "layers": 2},
            "optim": {"name": "adam", "lr": 0.006, "schedule": {"name": "cosine", "min_lr": 1e-4}},
            "train": {"epochs": 3, "grad_clip_norm": 5.0},
        }
        note = ("the Python standard library's source (offline; varies with the Python version), characters, "
                "the first 200,000 training characters, the last 5% for validation and 5% for test; "
                "2x128 LSTM, chunks of 64, batch 16, Adam 6e-3 with cosine decay, 3 epochs")
        return config, note
    config = {
        "task": "language-model",
        "data": {"source": shakespeare_source(), "tokenizer": "char", "val_fraction": 0.05,
                 "test_fraction": 0.05, "chunk_length": 128, "batch_size": 32},
        "model": {"name": "lstm", "hidden_size": 256, "layers": 2},
        "optim": {"name": "adam", "lr": 0.003, "schedule": {"name": "cosine", "min_lr": 1e-4}},
        "train": {"epochs": 6, "grad_clip_norm": 5.0},
    }
    note = ("Tiny Shakespeare (1.1M characters), the last 10% held out (5% validation, 5% test); 2x256 LSTM, "
            "chunks of 128, batch 32, Adam 3e-3 with cosine decay to 1e-4, gradient norm clipped at 5, 6 epochs")
    return config, note


@registry.studies.register("char-lm", "character-level LSTM language model vs unigram/bigram baselines")
def char_lm(scale: str) -> StudyPlan:
    base, note = settings(scale)
    arms = []
    for name, (data, label) in ARMS.items():
        config = copy.deepcopy(base)
        config["data"].update(data)
        arms.append(Arm(name, config, label=label))
    return StudyPlan(
        name="char-lm",
        question=("How many bits per character does a stacked character-level LSTM need on held-out text, "
                  "against unigram and bigram baselines, and does carrying its state across chunks help?"),
        data_note=note,
        arms=arms,
        metrics=["test_bpc", "test_loss", "test_perplexity", "test_accuracy", "baseline_unigram_bpc",
                 "baseline_bigram_bpc", "val_loss", "train_seconds", "samples_per_second"],
        seeds=1 if scale == "quick" else 2,
        comparisons=[("stateful", "windows")],
        finding=finding,
        figures=figures,
        higher_is_better=False,
    )


def finding(summary: dict[str, Any]) -> str:
    rows = {row["arm"]: row for row in summary["rows"]}
    parts = []
    for row in rows.values():
        if row.get("test_bpc") is not None:
            parts.append(f"{row['label']} {row['test_bpc']['mean']:.3f}")
    baselines = []
    any_row = next((row for row in rows.values() if row.get("baseline_bigram_bpc")), None)
    if any_row is not None:
        baselines = [f"{name} {any_row[f'baseline_{name}_bpc']['mean']:.3f}" for name in ("unigram", "bigram")]
    return (f"Test bits per character: {'; '.join(parts)}; baselines (add-one, same test characters): "
            f"{', '.join(baselines)} (mean of {summary['seeds']} seed(s)).")


def best_arm(summary: dict[str, Any]) -> str | None:
    scored = [row for row in summary["rows"] if row.get("test_bpc") is not None]
    return min(scored, key=lambda row: row["test_bpc"]["mean"])["arm"] if scored else None


def figures(study_dir: Path, summary: dict[str, Any]) -> list[Path]:
    """bpc per arm against the baselines, and the best arm's samples by temperature (also added to
    summary.json)."""
    from trainlab.reports.lm_plots import plot_bpc_against_baselines, plot_samples
    from trainlab.studies.runner import SUMMARY_FILE

    plots_dir = study_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    rows = [row for row in summary["rows"] if row.get("test_bpc") is not None]
    if not rows:
        return []
    bpc = {row["label"]: row["test_bpc"]["mean"] for row in rows}
    baselines = {name: rows[0][f"baseline_{name}_bpc"]["mean"] for name in ("unigram", "bigram")
                 if rows[0].get(f"baseline_{name}_bpc")}
    written = [plot_bpc_against_baselines(bpc, baselines, plots_dir / "bpc_vs_baselines.png")]
    best = best_arm(summary)
    samples_path = study_dir / best / "seed-0" / rundir.SAMPLES_FILE
    if samples_path.is_file():
        samples = rundir.read_json(samples_path)
        written.append(plot_samples(samples, plots_dir / "samples_by_temperature.png",
                                    title=f"samples by temperature: {best}, seed 0"))
        summary["samples_by_temperature"] = {"arm": best, **samples}
        runs.write_json(study_dir / SUMMARY_FILE, summary)
    return written

"""Language-model figures, drawn from what runs wrote to disk: bits per character against the
unigram and bigram baselines, and the text a model generated at several temperatures
(RUN_DIR/samples.json, written by the language-model pipeline)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

from trainlab import rundir
from trainlab.reports.figures import new_figure

SAMPLE_CHARACTERS_SHOWN = 240
LINE_WIDTH = 80


def plot_bpc_against_baselines(
    bpc: dict[str, float], baselines: dict[str, float], path: str | os.PathLike,
    title: str = "test bits per character",
) -> Path:
    """Bars of each model's bpc with the baselines as horizontal lines (lower is better).

    Args:
        bpc: label -> test bpc of each model.
        baselines: name ("unigram", "bigram") -> test bpc on the same tokens.
    """
    path = Path(path)
    figure, axes = new_figure(figsize=(6.5, 3.8), layout="constrained")
    labels = list(bpc)
    axes.bar(range(len(labels)), [bpc[label] for label in labels], color="#4a7ab5")
    axes.set_xticks(range(len(labels)), labels, fontsize=8)
    for (name, value), style in zip(baselines.items(), ("--", ":", "-.")):
        axes.axhline(value, color="black", linestyle=style, linewidth=1, label=f"{name} baseline {value:.2f}")
    for index, label in enumerate(labels):
        axes.annotate(f"{bpc[label]:.3f}", (index, bpc[label]), ha="center", va="bottom", fontsize=8)
    axes.set_ylabel("bits per token (lower is better)")
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    figure.savefig(path, dpi=100)
    return path


def plot_samples(
    samples: dict[str, Any], path: str | os.PathLike, title: str = "samples by temperature"
) -> Path:
    """The beginning of each temperature's sample as text, one panel per temperature."""
    path = Path(path)
    entries = samples["samples"]
    figure, axes = new_figure(len(entries), 1, figsize=(9, 1.6 * len(entries)))
    # Fixed margins: constrained layout collapses panels that hold nothing but text.
    figure.subplots_adjust(left=0.02, right=0.98, top=0.93, bottom=0.02, hspace=0.35)
    axes = [axes] if len(entries) == 1 else list(axes)
    for panel, entry in zip(axes, entries):
        text = entry["text"][:SAMPLE_CHARACTERS_SHOWN]
        if not text.strip():  # a model stuck on spaces or newlines: show them rather than a blank panel
            text = f"(whitespace only) {text[:60]!r}"
        lines = [textwrap.fill(line, LINE_WIDTH) or " " for line in text.splitlines()] or [" "]
        # Generated text is shown as it is: without parse_math, two '$' (Python or shell source)
        # would be read as mathtext, and an unknown command inside them fails the whole report.
        panel.text(0.0, 1.0, "\n".join(lines)[:SAMPLE_CHARACTERS_SHOWN + 40], family="monospace", fontsize=6.5,
                   va="top", ha="left", transform=panel.transAxes, parse_math=False)
        kind = "greedy" if entry["temperature"] == 0 else f"temperature {entry['temperature']}"
        panel.set_title(kind, fontsize=8, loc="left")
        panel.axis("off")
    figure.suptitle(title, fontsize=10)
    figure.savefig(path, dpi=100)
    return path


def plot_lm_run(run_dir: str | os.PathLike) -> list[Path]:
    """The figures of one language-model run (its plots/ folder), if it wrote its samples."""
    run_dir = Path(run_dir)
    samples_path = run_dir / rundir.SAMPLES_FILE
    if not samples_path.is_file():
        return []
    plots_dir = run_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    written = [plot_samples(rundir.read_json(samples_path), plots_dir / "samples.png")]
    metrics_path = run_dir / rundir.METRICS_FILE
    if metrics_path.is_file():
        metrics = rundir.read_json(metrics_path)
        if "test_bpc" in metrics:
            baselines = {name: metrics[f"baseline_{name}_bpc"] for name in ("unigram", "bigram")
                         if f"baseline_{name}_bpc" in metrics}
            written.append(plot_bpc_against_baselines({"model": metrics["test_bpc"]}, baselines,
                                                      plots_dir / "bpc_vs_baselines.png"))
    return written

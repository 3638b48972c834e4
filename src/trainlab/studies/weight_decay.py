"""Study `weight-decay`: L2 regularisation against decoupled weight decay, lambda 0 to 1e-2.

A small CNN trained with Adam plus an L2 penalty (`optim.weight_decay` with `adam`, which adds
lambda * w to the gradient, where Adam's scaling then weakens it for weights with large
gradients) and with AdamW's decoupled decay (`adamw`, which shrinks every weight by lr * lambda
per step, Loshchilov & Hutter 2019), for lambda in {1e-4, 1e-3, 1e-2}, and a lambda = 0 baseline
shared by both. Biases and BatchNorm parameters are never decayed (training/optim.py). Besides
accuracy the study logs the total norm of the decayed weights after every epoch (history.csv,
`weight_norm`) and draws the trained weights' histograms; the best lambda is the one with the
highest validation accuracy, the choice one could make without the test set.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np

from trainlab import registry, rundir
from trainlab.metrics.statistics import mean_and_half_width
from trainlab.reports.figures import new_figure
from trainlab.studies.plan import Arm, StudyPlan
from trainlab.training.callbacks.base import Callback

LAMBDAS = (1e-4, 1e-3, 1e-2)
KINDS = (("l2", "adam", "L2 (Adam)"), ("decoupled", "adamw", "decoupled (AdamW)"))
NORM_KEY = "weight_norm"


class WeightNormLogger(Callback):
    """Adds the L2 norm of every weight matrix and kernel (the parameters weight decay acts on,
    ndim >= 2) to each epoch's row of the history, as `weight_norm`."""

    order = 15  # after the trainer has filed the epoch's row, before HistoryCSV (20) writes it

    def on_epoch_end(self, state) -> None:
        squares = sum(float(parameter.detach().double().square().sum())
                      for parameter in state.model.parameters() if parameter.ndim >= 2)
        norm = math.sqrt(squares)
        state.logs[NORM_KEY] = norm
        if state.history:  # the trainer copied the logs into the history before this hook
            state.history[-1][NORM_KEY] = norm


def weight_norm_callbacks(experiment: Any, run_dir: Path) -> list[Callback]:
    return [WeightNormLogger()]


def quick_setting() -> dict[str, Any]:
    """Digits (offline), simple_cnn 16/32 channels, 8 epochs of Adam 2e-3."""
    return {
        "task": "image-classification",
        "data": {"source": "digits", "batch_size": 32},
        "model": {"name": "simple_cnn", "channels": [16, 32], "hidden_size": 64},
        "optim": {"name": "adam", "lr": 0.002},
        "train": {"epochs": 8, "monitor": "val_accuracy"},
    }


def full_setting() -> dict[str, Any]:
    """CIFAR-10 (downloaded once), simple_cnn 32/64/128 with pad-crop and flips, 40 epochs."""
    return {
        "task": "image-classification",
        "data": {"source": "cifar10", "val_fraction": 0.1, "batch_size": 128,
                 "augment": {"crop_padding": 4, "flip": True}},
        "model": {"name": "simple_cnn", "channels": [32, 64, 128], "hidden_size": 256},
        "optim": {"name": "adam", "lr": 0.001, "schedule": {"name": "cosine"}},
        "train": {"epochs": 40, "monitor": "val_accuracy"},
    }


def arm_name(kind: str, weight_decay: float) -> str:
    return "none" if weight_decay == 0 else f"{kind}-{weight_decay:g}"


@registry.studies.register("weight-decay", "L2 vs decoupled weight decay, lambda 0 to 1e-2, on a CNN")
def weight_decay(scale: str) -> StudyPlan:
    base = quick_setting() if scale == "quick" else full_setting()
    arms = [Arm("none", copy.deepcopy(base), label="no weight decay")]
    for kind, optimizer, label in KINDS:
        for value in LAMBDAS:
            config = copy.deepcopy(base)
            config["optim"].update(name=optimizer, weight_decay=value)
            arms.append(Arm(arm_name(kind, value), config, label=f"{label} {value:g}"))
    data_note = (
        "scikit-learn's digits (8x8, offline): 1,259 training, 179 validation and 359 test images; "
        "simple_cnn 16/32 channels, Adam or AdamW 2e-3, batch 32, 8 epochs"
        if scale == "quick" else
        "CIFAR-10 (downloaded once): 45k training / 5k validation images, the 10k test images; "
        "simple_cnn 32/64/128 with pad-crop and flips, Adam or AdamW 1e-3 with a cosine schedule, 40 epochs"
    )
    return StudyPlan(
        name="weight-decay",
        question=("How does test accuracy change with the weight-decay strength lambda, as an L2 penalty "
                  "(Adam) or decoupled (AdamW); which lambda would validation pick, and how much does "
                  "each shrink the weights?"),
        data_note=data_note,
        arms=arms,
        metrics=["test_accuracy", "val_accuracy", "val_loss", "test_loss", "final_weight_norm"],
        seeds=3,
        comparisons=[(arm_name(kind, value), "none") for kind, _, _ in KINDS for value in LAMBDAS],
        finding=finding,
        figures=figures,
        callbacks=weight_norm_callbacks,
        run_metrics=final_weight_norm,
    )


def final_weight_norm(run_dir: Path) -> dict[str, float]:

    history = rundir.read_history(run_dir)
    return {"final_weight_norm": history[-1][NORM_KEY]} if history and NORM_KEY in history[-1] else {}


def finding(summary: dict[str, Any]) -> str:
    rows = {row["arm"]: row for row in summary["rows"]}
    # 179 validation images tie often: the lower validation loss breaks a tie.
    by_validation = max(summary["rows"], key=lambda row: (row["val_accuracy"]["mean"], -row["val_loss"]["mean"]))
    text = (f"Validation accuracy picks {by_validation['label']} (test accuracy "
            f"{by_validation['test_accuracy']['mean']:.3f})")
    none = rows.get("none")
    if none is None:
        return text + "."
    significant = [c for c in summary["comparisons"] if c["significant"]]
    changes = ", ".join(f"{rows[c['a']]['label']} {c['difference']:+.3f}" for c in significant)
    verdict = (f"significantly different from no decay: {changes}" if significant
               else "no lambda differs significantly from no decay in test accuracy")
    strongest = [rows[arm_name(kind, max(LAMBDAS))] for kind, _, _ in KINDS if arm_name(kind, max(LAMBDAS)) in rows]
    shrink = "; ".join(
        f"{row['label']} ends with weight norm {row['final_weight_norm']['mean']:.3g} "
        f"(no decay {none['final_weight_norm']['mean']:.3g})" for row in strongest
        if row.get("final_weight_norm") and none.get("final_weight_norm"))
    return (f"{text}; no decay {none['test_accuracy']['mean']:.3f}; {verdict}. {shrink}. AdamW multiplies "
            "each weight by 1 - lr * lambda per step, so at a small learning rate the same lambda shrinks "
            "the weights far less than Adam's L2 penalty, which Adam's per-weight scaling amplifies for "
            "weights with small gradients.")


def figures(study_dir: Path, summary: dict[str, Any]) -> list[Path]:
    from safetensors.numpy import load_file

    from trainlab.reports import regularisation_plots as plots
    from trainlab.training.checkpoint import WEIGHTS_FILE, checkpoint_path

    plots_dir = study_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    norms, weights = {}, {}
    for row in summary["rows"]:
        histories = [rundir.read_history(path.parent) for path in sorted((study_dir / row["arm"]).glob(f"seed-*/{rundir.HISTORY_FILE}"))]
        curves = [[record[NORM_KEY] for record in history if NORM_KEY in record] for history in histories]
        length = min(map(len, curves), default=0)
        if length:
            norms[row["label"]] = np.mean([curve[:length] for curve in curves], axis=0)
        if row["arm"] == "none" or row["arm"].endswith(f"-{max(LAMBDAS):g}"):
            checkpoints = study_dir / row["arm"] / "seed-0" / rundir.CHECKPOINTS_DIR
            found = checkpoint_path(checkpoints / "best") or checkpoint_path(checkpoints / "last")
            if found is not None:
                tensors = load_file(str(found / WEIGHTS_FILE))
                weights[row["label"]] = np.concatenate([t.ravel() for t in tensors.values() if t.ndim >= 2])
    written = [_accuracy_against_lambda(summary, plots_dir / "accuracy_vs_lambda.png")]
    if norms:
        written.append(plots.plot_metric_per_epoch(
            norms, "total L2 norm of weights (kernels and matrices)",
            "Weight norm per epoch (mean over seeds)", plots_dir / "weight_norm.png"))
    if weights:
        written.append(plots.plot_weight_histograms(weights, plots_dir / "weight_histograms.png"))
    return written


def _accuracy_against_lambda(summary: dict[str, Any], path: Path) -> Path:
    """Test and validation accuracy against lambda, one line per kind of decay; lambda 0 (no decay)
    is drawn at the left edge of the log axis."""
    rows = {row["arm"]: row for row in summary["rows"]}
    zero_position = min(LAMBDAS) / 10
    figure, axes = new_figure(figsize=(6, 4), layout="constrained")
    for (kind, _, label), colour in zip(KINDS, ("#4a7ab5", "#c0504d")):
        chosen = [rows["none"], *(rows[arm_name(kind, value)] for value in LAMBDAS)]
        positions = [zero_position, *LAMBDAS]
        for metric, style in (("test_accuracy", "-"), ("val_accuracy", ":")):
            values = [mean_and_half_width(row[metric]) for row in chosen]
            means, errors = [mean for mean, _ in values], [half for _, half in values]
            axes.errorbar(positions, means, yerr=errors if metric == "test_accuracy" else None, capsize=4,
                          marker="o", linestyle=style, color=colour, label=f"{label}: {metric}")
    axes.set_xscale("log")
    axes.set_xticks([zero_position, *LAMBDAS], ["0", *(f"{value:g}" for value in LAMBDAS)])
    axes.set_xlabel("weight decay lambda (log scale; 0 at the left)")
    axes.set_ylabel("accuracy")
    axes.set_title(f"Accuracy against lambda (mean, 95% CI over {summary['seeds']} seeds)")
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)
    figure.savefig(path, dpi=100)
    return path

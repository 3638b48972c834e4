"""Study `early-stopping`: a fixed-length run against the same run stopped early.

Both arms train the same network with the same seeds for at most the same number of epochs. The
fixed arm trains every epoch and is evaluated on its last weights; the early-stopping arm stops
once validation loss has not improved by `min_delta` for `patience` epochs and puts back the best
epoch's weights. The study reports the share of epochs (and seconds) saved, the accuracy difference
with its interval, and checks that the restored model's validation loss, evaluated again after
training, is exactly the best epoch's (`val_loss_minus_best`, 0 when the restore worked).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from trainlab import registry, rundir
from trainlab.metrics.statistics import Difference, estimate
from trainlab.studies.plan import Arm, StudyPlan

MONITOR = "val_loss"


def quick_setting() -> dict[str, Any]:
    """Digits (offline), an MLP that overfits it within a few epochs, up to 40 epochs of Adam."""
    return {
        "task": "image-classification",
        "data": {"source": "digits", "batch_size": 32},
        "model": {"name": "mlp", "hidden_sizes": [256, 128]},
        "optim": {"name": "adam", "lr": 0.001},
        "train": {"epochs": 40, "monitor": MONITOR},
    }


def full_setting() -> dict[str, Any]:
    """Fashion-MNIST (downloaded once), simple_cnn, up to 60 epochs of Adam."""
    return {
        "task": "image-classification",
        "data": {"source": "fashion-mnist", "val_fraction": 0.1, "batch_size": 128},
        "model": {"name": "simple_cnn", "channels": [32, 64], "hidden_size": 128},
        "optim": {"name": "adam", "lr": 0.001},
        "train": {"epochs": 60, "monitor": MONITOR},
    }


def arms_for(base: dict[str, Any], patience: int, min_delta: float) -> list[Arm]:
    fixed = copy.deepcopy(base)
    fixed["train"].update(restore_best=False, early_stopping={"patience": None})
    stopped = copy.deepcopy(base)
    stopped["train"].update(restore_best=True, early_stopping={"patience": patience, "min_delta": min_delta})
    epochs = base["train"]["epochs"]
    return [
        Arm("fixed", fixed, label=f"fixed {epochs} epochs, last weights"),
        Arm("early-stopping", stopped,
            label=f"early stopping (patience {patience}, min_delta {min_delta:g}, best weights restored)"),
    ]


@registry.studies.register("early-stopping", "a fixed-length run vs early stopping with restored best weights")
def early_stopping(scale: str) -> StudyPlan:
    base = quick_setting() if scale == "quick" else full_setting()
    data_note = (
        "scikit-learn's digits (8x8, offline): 1,259 training, 179 validation and 359 test images; "
        "MLP 256-128, Adam 1e-3, batch 32, at most 40 epochs"
        if scale == "quick" else
        "Fashion-MNIST (downloaded once): 54k training, 6k validation and 10k test images; simple_cnn "
        "32/64, Adam 1e-3, batch 128, at most 60 epochs"
    )
    return StudyPlan(
        name="early-stopping",
        question=("How many epochs and seconds does early stopping on validation loss save against a "
                  "fixed-length run, at what cost in test accuracy, and is the restored model exactly "
                  "the best epoch's?"),
        data_note=data_note,
        arms=arms_for(base, patience=5, min_delta=0.001),
        metrics=["test_accuracy", "test_loss", "epochs", "best_epoch", "epochs_saved_share",
                 "train_seconds", "val_loss_minus_best"],
        seeds=3,
        comparisons=[("early-stopping", "fixed")],
        finding=finding,
        figures=figures,
        run_metrics=stopping_metrics,
    )


def stopping_metrics(run_dir: Path) -> dict[str, float]:
    """The share of the epoch budget not trained, and the restored model's validation loss minus
    the best epoch's as history.csv recorded it (exactly 0 when the best weights came back)."""

    metrics = rundir.read_json(run_dir / rundir.METRICS_FILE)
    budget = yaml.safe_load((run_dir / rundir.CONFIG_FILE).read_text())["train"]["epochs"]
    history = rundir.read_history(run_dir)
    best = metrics.get("best_epoch") or 0
    result = {"epochs_saved_share": 1 - metrics["epochs"] / budget}
    if best and history and MONITOR in metrics:
        result["val_loss_minus_best"] = metrics[MONITOR] - history[best - 1][MONITOR]
    return result


def finding(summary: dict[str, Any]) -> str:
    rows = {row["arm"]: row for row in summary["rows"]}
    fixed, stopped = rows["fixed"], rows["early-stopping"]
    comparison = summary["comparisons"][0]
    accuracy = Difference(comparison["difference"], comparison["ci_low"], comparison["ci_high"],
                          comparison["significant"]).text(3)
    saved = estimate(stopped["epochs_saved_share"]["values"])
    interval = ("" if saved.ci_low is None else
                f" (95% CI {max(saved.ci_low, 0):.0%} to {min(saved.ci_high, 1):.0%})")
    seconds = fixed["train_seconds"]["mean"] - stopped["train_seconds"]["mean"]
    gaps = stopped["val_loss_minus_best"]["values"] if stopped.get("val_loss_minus_best") else []
    restored = ("the restored model's validation loss equals the best epoch's in every seed"
                if gaps and all(gap == 0 for gap in gaps) else
                f"the restored model's validation loss differs from the best epoch's by up to "
                f"{max(map(abs, gaps), default=float('nan')):.2g}")
    return (f"Early stopping trained {stopped['epochs']['mean']:.1f} of {fixed['epochs']['mean']:.0f} epochs, "
            f"saving {saved.mean:.0%} of them{interval} and {seconds:.1f} s per run "
            f"({seconds / fixed['train_seconds']['mean']:.0%}); test accuracy early stopping - fixed "
            f"{accuracy}; {restored}.")


def figures(study_dir: Path, summary: dict[str, Any]) -> list[Path]:
    from trainlab.reports import regularisation_plots as plots

    plots_dir = study_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    histories, stops = {}, {}
    for row in summary["rows"]:
        run_dir = study_dir / row["arm"] / "seed-0"
        metrics = rundir.read_json(run_dir / rundir.METRICS_FILE)
        histories[row["arm"]] = rundir.read_history(run_dir)
        stops[row["arm"]] = {"best": metrics.get("best_epoch"),
                             "stopped": metrics["epochs"] if metrics.get("stopped_early") else None,
                             "restored": row["arm"] != "fixed"}
    return [plots.plot_stopping_point(histories, MONITOR, stops, plots_dir / "stopping_point.png")]

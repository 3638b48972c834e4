"""Study `initialization`: Xavier against He initialisation, with and without residual paths.

Glorot and Bengio's scheme keeps the variance of activations for linear units; for ReLU units it
halves the variance at each layer, which He et al. 2015 correct with twice the variance. BatchNorm
rescales every layer's output, so the question is how much of the difference survives in a modern
network. The arms are one CIFAR ResNet (plain or residual) under each scheme, plus the residual
network with the last BatchNorm of each branch zeroed (Goyal et al. 2017), which starts every block
as the identity. Besides test accuracy, the study compares the mean training loss of the first
epoch (`first_epoch_train_loss`, from each run's history.csv), where an initialisation shows most.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from trainlab import registry, rundir
from trainlab.diagnostics.study_support import (
    gradient_norm_callbacks,
    gradient_norm_metrics,
    initial_weight_layer_norms,
)
from trainlab.metrics.statistics import difference
from trainlab.studies.depth_vs_residual import paper_cifar_setting, quick_setting
from trainlab.studies.plan import Arm, StudyPlan

QUICK_DEPTH = 20
FULL_DEPTH = 56
EARLY_LOSS = "first_epoch_train_loss"

# (arm name, label, model options)
SCHEMES = (
    ("xavier-plain", "Xavier, plain", {"init": "xavier", "residual": False}),
    ("he-plain", "He, plain", {"init": "kaiming", "residual": False}),
    ("xavier-residual", "Xavier, residual", {"init": "xavier", "residual": True}),
    ("he-residual", "He, residual", {"init": "kaiming", "residual": True}),
    ("he-residual-zero-init", "He, residual, zero-init last BN",
     {"init": "kaiming", "residual": True, "zero_init_residual": True}),
)
COMPARISONS = (
    ("he-plain", "xavier-plain"),
    ("he-residual", "xavier-residual"),
    ("he-residual-zero-init", "he-residual"),
)


@registry.studies.register("initialization", "Xavier vs He initialisation, plain and residual")
def initialization(scale: str) -> StudyPlan:
    base = quick_setting() if scale == "quick" else paper_cifar_setting()
    depth = QUICK_DEPTH if scale == "quick" else FULL_DEPTH
    arms = []
    for name, label, options in SCHEMES:
        config = copy.deepcopy(base)
        config["model"].update({"depth": depth, **options})
        arms.append(Arm(name, config, label=f"{label} ({depth} layers)"))
    data_note = (
        "scikit-learn's digits (8x8, offline): 512 training images, the 179 validation and 359 test "
        f"images of the fixed split; CIFAR ResNet-{depth} layout, Adam 2e-3 with a cosine schedule, 4 epochs"
        if scale == "quick" else
        f"CIFAR-10 (downloaded once): 45k training / 5k validation images, the 10k test images; ResNet-{depth} "
        "and its plain twin with He et al.'s recipe (SGD 0.1, momentum 0.9, weight decay 1e-4, 182 epochs)"
    )
    return StudyPlan(
        name="initialization",
        question=(
            "Does He initialisation train a ReLU network better than Xavier, and does it matter less "
            "with residual paths or with each residual branch starting at zero? Per-layer gradient norms "
            "at initialisation (first weight layer relative to the last) show how each scheme starts."
        ),
        data_note=data_note,
        arms=arms,
        metrics=["test_accuracy", EARLY_LOSS, "test_loss", "grad_norm_first_to_last_initial",
                 "grad_norm_first_layer_initial", "grad_norm_mean"],
        seeds=2 if scale == "quick" else 3,
        comparisons=list(COMPARISONS),
        finding=finding,
        figures=figures,
        callbacks=gradient_norm_callbacks,
        run_metrics=gradient_norm_metrics,
    )


def finding(summary: dict[str, Any]) -> str:
    """He minus Xavier on the first epoch's loss and on test accuracy, plain and residual."""
    rows = {row["arm"]: row for row in summary["rows"]}
    metric = summary["headline_metric"]
    parts = []
    for kind in ("plain", "residual"):
        he, xavier = rows[f"he-{kind}"], rows[f"xavier-{kind}"]
        if he.get(EARLY_LOSS) is None or xavier.get(EARLY_LOSS) is None or he.get(metric) is None:
            continue
        early = difference(he[EARLY_LOSS]["values"], xavier[EARLY_LOSS]["values"])
        final = difference(he[metric]["values"], xavier[metric]["values"])
        parts.append(
            f"{kind}: He - Xavier first-epoch training loss {early.text(3)}, {metric} {final.text(3)}"
        )
    zero, he = rows["he-residual-zero-init"], rows["he-residual"]
    if zero.get(EARLY_LOSS) is not None and he.get(EARLY_LOSS) is not None:
        early = difference(zero[EARLY_LOSS]["values"], he[EARLY_LOSS]["values"])
        parts.append(f"zero-init of the last BN minus He (residual): first-epoch loss {early.text(3)}")
    ratios = [f"{row['label']} {row['grad_norm_first_to_last_initial']['mean']:.3g}" for row in summary["rows"]
              if row.get("grad_norm_first_to_last_initial")]
    if ratios:
        parts.append(f"first-to-last layer gradient norm at initialisation: {', '.join(ratios)}")
    if not parts:
        return "No first-epoch losses to compare (the runs wrote no history.csv)."
    best = max((row for row in summary["rows"] if row.get(metric)), key=lambda row: row[metric]["mean"])
    return (f"{'; '.join(parts)}. Best {metric}: {best['label']}, {best[metric]['mean']:.3f} "
            f"({summary['seeds']} seeds).")


def figures(study_dir: Path, summary: dict[str, Any]) -> list[Path]:
    """Per-layer gradient norms at the first step (seed 0) of every scheme."""
    from trainlab.reports.diagnostics_plots import plot_layer_profiles

    plots_dir = study_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    profiles = {}
    for row in summary["rows"]:
        initial = initial_weight_layer_norms(study_dir / row["arm"] / "seed-0")
        if initial is not None:
            profiles[row["label"]] = initial[1]
    if not profiles:
        return []
    return [plot_layer_profiles(profiles, plots_dir / "initial_grad_norm_per_layer.png",
                                "gradient norm per weight layer at initialisation (seed 0)")]

"""Study `depth-vs-residual`: plain stacks stop training as they get deeper; residual ones do not.

Every arm is the CIFAR ResNet of He et al. 2016 (section 4.2) at one depth, with or without its
shortcuts (`model.residual`), so that a plain arm and its residual twin differ in nothing else: the
same layers, the same parameter count (the option-A shortcuts have no parameters), the same data,
optimiser and seeds. The training-loss curves in the report show the degradation problem itself:
the deep plain network's training loss, not only its test accuracy, is worse.
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
from trainlab.metrics.statistics import Difference, mean_and_half_width
from trainlab.reports.figures import new_figure
from trainlab.studies.plan import Arm, StudyPlan

QUICK_DEPTHS = (8, 20, 56)
FULL_DEPTHS = (20, 32, 44, 56)  # He et al. 2016, figure 6 (plain nets deeper than 56 were not trained)


def quick_setting() -> dict[str, Any]:
    """Digits (8x8, offline), 512 training images, 4 epochs of Adam: the gap shows in seconds."""
    return {
        "task": "image-classification",
        "data": {"source": "digits", "train_examples": 512, "batch_size": 64},
        "model": {"name": "resnet_cifar"},
        "optim": {"name": "adam", "lr": 0.002, "schedule": {"name": "cosine"}},
        "train": {"epochs": 4},
    }


def paper_cifar_setting() -> dict[str, Any]:
    """He et al. 2016, section 4.2: CIFAR-10 with a 45k/5k train/val split, 4-pixel pad-crop and
    flips, SGD 0.1 with momentum 0.9, weight decay 1e-4, batch 128, 64k iterations (182 epochs) with
    the rate divided by 10 at 32k and 48k iterations (epochs 91 and 136)."""
    return {
        "task": "image-classification",
        "data": {"source": "cifar10", "val_fraction": 0.1, "batch_size": 128,
                 "augment": {"crop_padding": 4, "flip": True}},
        "model": {"name": "resnet_cifar"},
        "optim": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
                  "schedule": {"name": "multistep", "milestones": [91, 136], "gamma": 0.1}},
        "train": {"epochs": 182, "monitor": "val_accuracy"},
    }


def arm_name(depth: int, residual: bool) -> str:
    return f"{'residual' if residual else 'plain'}-{depth}"


@registry.studies.register("depth-vs-residual", "plain vs residual networks as depth grows")
def depth_vs_residual(scale: str) -> StudyPlan:
    base = quick_setting() if scale == "quick" else paper_cifar_setting()
    depths = QUICK_DEPTHS if scale == "quick" else FULL_DEPTHS
    arms = []
    for depth in depths:
        for residual in (False, True):
            config = copy.deepcopy(base)
            config["model"].update({"depth": depth, "residual": residual})
            label = f"{'ResNet' if residual else 'plain'}-{depth}"
            arms.append(Arm(arm_name(depth, residual), config, label=label))
    data_note = (
        "scikit-learn's digits (8x8, offline): 512 training images, the 179 validation and 359 test "
        "images of the fixed split; Adam 2e-3 with a cosine schedule, 4 epochs"
        if scale == "quick" else
        "CIFAR-10 (downloaded once): 45k training / 5k validation images, the 10k test images; "
        "He et al.'s recipe (SGD 0.1, momentum 0.9, weight decay 1e-4, 182 epochs, /10 at 91 and 136)"
    )
    return StudyPlan(
        name="depth-vs-residual",
        question=(
            "Does a plain stack of convolutions get worse as it gets deeper where the same network "
            "with shortcuts keeps improving (He et al. 2016's degradation problem), and do per-layer "
            "gradient norms at initialisation show why?"
        ),
        data_note=data_note,
        arms=arms,
        metrics=["test_accuracy", "test_loss", "first_epoch_train_loss", "multiply_adds",
                 "grad_norm_first_to_last_initial", "grad_norm_first_layer_initial", "grad_norm_mean"],
        seeds=2 if scale == "quick" else 3,
        comparisons=[(arm_name(depth, True), arm_name(depth, False)) for depth in depths],
        finding=finding,
        figures=figures,
        callbacks=gradient_norm_callbacks,
        run_metrics=gradient_norm_metrics,
    )


def _depths(summary: dict[str, Any]) -> list[int]:
    return sorted({int(row["arm"].split("-")[1]) for row in summary["rows"]})


def finding(summary: dict[str, Any]) -> str:
    """Plain against residual at the largest depth, and how the gap moved with depth."""
    metric = summary["headline_metric"]
    rows = {row["arm"]: row for row in summary["rows"]}
    gaps = {int(c["a"].split("-")[1]): c for c in summary["comparisons"]}
    deepest = max(_depths(summary))
    plain, residual = rows[arm_name(deepest, False)][metric], rows[arm_name(deepest, True)][metric]
    if plain is None or residual is None:
        return f"No {metric} at depth {deepest} to compare."
    gap = gaps[deepest]
    interval = Difference(gap["difference"], gap["ci_low"], gap["ci_high"], gap["significant"]).text(3)
    verdict = "falls behind" if plain["mean"] < residual["mean"] else "keeps up with"
    trend = ", ".join(f"{gaps[depth]['difference']:+.3f} at depth {depth}" for depth in sorted(gaps))
    text = (
        f"At depth {deepest} the plain network {verdict} its residual twin: {metric} "
        f"{plain['mean']:.3f} vs {residual['mean']:.3f} (residual - plain {interval}, "
        f"{summary['seeds']} seeds). Residual minus plain by depth: {trend}."
    )
    ratios = [rows[arm_name(deepest, residual)].get("grad_norm_first_to_last_initial") for residual in (False, True)]
    if all(ratios):
        text += (f" At initialisation the first layer's gradient norm is {ratios[0]['mean']:.3g}x the last "
                 f"layer's in the plain network and {ratios[1]['mean']:.3g}x in the residual one "
                 "(figure: gradient norm per layer).")
    return text


def figures(study_dir: Path, summary: dict[str, Any]) -> list[Path]:
    """Test accuracy against depth, one line for the plain networks and one for the residual ones."""

    plots_dir = study_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    metric = summary["headline_metric"]
    rows = {row["arm"]: row for row in summary["rows"]}
    depths = _depths(summary)
    figure, axes = new_figure(figsize=(5.5, 3.8), layout="constrained")
    for residual, colour in ((False, "#c0504d"), (True, "#4a7ab5")):
        values = [mean_and_half_width(rows[arm_name(depth, residual)][metric]) for depth in depths]
        means, errors = [mean for mean, _ in values], [half for _, half in values]
        axes.errorbar(depths, means, yerr=errors, marker="o", capsize=4, color=colour,
                      label="residual (ResNet)" if residual else "plain")
    axes.set_xticks(depths)
    if "accuracy" in metric:
        axes.set_ylim(0, 1.02)
    axes.set_xlabel("depth (layers with weights)")
    axes.set_ylabel(metric)
    axes.set_title(f"{metric} against depth (mean, 95% CI over {summary['seeds']} seeds)")
    axes.legend()
    axes.grid(alpha=0.3)
    path = plots_dir / "accuracy_vs_depth.png"
    figure.savefig(path, dpi=100)
    return [path, *plot_initial_gradient_norms(study_dir, depths, plots_dir)]


def plot_initial_gradient_norms(study_dir: Path, depths: list[int], plots_dir: Path) -> list[Path]:
    """Per-layer gradient norms at the first step (seed 0), plain against residual, per depth."""
    from trainlab.reports.diagnostics_plots import plot_layer_profiles

    profiles = {}
    for depth in depths:
        for residual in (False, True):
            initial = initial_weight_layer_norms(study_dir / arm_name(depth, residual) / "seed-0")
            if initial is not None:
                profiles[f"{'ResNet' if residual else 'plain'}-{depth}"] = initial[1]
    if not profiles:
        return []
    return [plot_layer_profiles(profiles, plots_dir / "initial_grad_norm_per_layer.png",
                                "gradient norm per weight layer at initialisation (seed 0)")]

"""Study `cardinality`: ResNeXt with 1 to 16 groups at the same cost.

Xie et al. 2017 (table 3) compare cardinality at a fixed budget of multiply-adds: more groups, each
narrower (1x64d, 2x40d, 4x24d, 8x14d, 32x4d). Every arm here is the same ResNeXt-29 (three stages of
three bottleneck blocks) with `groups` = cardinality and the `width_per_group` that brings its
multiply-adds closest to the cardinality-1 arm's, as counted by `trainlab.models.flops`. The widths
are a table (searching costs seconds per study start); `matched_width_per_group` recomputes them, and
the tests check the table against it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

from trainlab import registry, rundir
from trainlab.metrics.statistics import mean_and_half_width
from trainlab.reports.figures import new_figure
from trainlab.studies.plan import Arm, StudyPlan

CARDINALITIES = (1, 2, 4, 8, 16)
MODEL = "resnext29_4x16d"  # any ResNeXt-29 name: groups and width_per_group are set per arm
# The input each scale's multiply-adds are counted on: digits (1x8x8) and CIFAR-10 (3x32x32).
INPUT_SHAPES = {"quick": (1, 8, 8), "full": (3, 32, 32)}
# Cardinality -> width_per_group with multiply-adds within 5% of cardinality 1 (matched_width_per_group).
# quick: 1x24d = 15.8M multiply-adds per 8x8 digit; full: 1x64d = 748M per 32x32 image.
WIDTHS = {
    "quick": {1: 24, 2: 14, 4: 7, 8: 4, 16: 2},
    "full": {1: 64, 2: 40, 4: 24, 8: 13, 16: 7},
}


def quick_setting() -> dict[str, Any]:
    """Digits (8x8, offline), 256 training images, 3 epochs of Adam: ResNeXt-29 is costly on a CPU.
    Batches of 16 give 48 updates, enough for BatchNorm's running statistics to catch up with the
    weights (with 18 updates of 64 every arm scored at chance in evaluation mode)."""
    return {
        "task": "image-classification",
        "data": {"source": "digits", "train_examples": 256, "batch_size": 16},
        "model": {"name": MODEL},
        "optim": {"name": "adam", "lr": 0.002, "schedule": {"name": "cosine"}},
        "train": {"epochs": 3},
    }


def paper_cifar_setting() -> dict[str, Any]:
    """Xie et al. 2017, section 5.3 (CIFAR): pad-crop and flip, SGD 0.1 with momentum 0.9, weight
    decay 5e-4, batch 128, 300 epochs with the rate divided by 10 at epochs 150 and 225."""
    return {
        "task": "image-classification",
        "data": {"source": "cifar10", "val_fraction": 0.1, "batch_size": 128,
                 "augment": {"crop_padding": 4, "flip": True}},
        "model": {"name": MODEL},
        "optim": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4,
                  "schedule": {"name": "multistep", "milestones": [150, 225], "gamma": 0.1}},
        "train": {"epochs": 300, "monitor": "val_accuracy"},
    }


def resnext_multiply_adds(groups: int, width_per_group: int, input_shape: tuple[int, int, int],
                          num_classes: int = 10) -> int:
    """Multiply-adds of the study's ResNeXt-29 on one input, built on the meta device (no memory)."""
    import torch

    from trainlab.config import build_config
    from trainlab.models import ImageSpec, build_model
    from trainlab.models.flops import count_multiply_adds

    config = build_config({"task": "image-classification",
                           "model": {"name": MODEL, "groups": groups, "width_per_group": width_per_group}})
    with torch.device("meta"):
        model = build_model(config.model, ImageSpec(*input_shape, num_classes), config.task)
    return count_multiply_adds(model, input_shape)


def matched_width_per_group(groups: int, target: int, input_shape: tuple[int, int, int],
                            largest: int = 256) -> int:
    """The width_per_group whose multiply-adds at `groups` come closest to `target`.

    Multiply-adds grow with the width, so a bisection finds the first width at or above the target;
    the answer is that width or the one below it.
    """
    low, high = 1, largest
    while low < high:
        middle = (low + high) // 2
        if resnext_multiply_adds(groups, middle, input_shape) < target:
            low = middle + 1
        else:
            high = middle
    candidates = [width for width in (low - 1, low) if width >= 1]
    return min(candidates, key=lambda width: abs(resnext_multiply_adds(groups, width, input_shape) - target))


def arm_name(groups: int) -> str:
    return f"cardinality-{groups}"


@registry.studies.register("cardinality", "ResNeXt cardinality 1-16 at matched multiply-adds")
def cardinality(scale: str) -> StudyPlan:
    base = quick_setting() if scale == "quick" else paper_cifar_setting()
    arms = []
    for groups in CARDINALITIES:
        width = WIDTHS[scale][groups]
        config = copy.deepcopy(base)
        config["model"].update({"groups": groups, "width_per_group": width})
        arms.append(Arm(arm_name(groups), config, label=f"ResNeXt-29 {groups}x{width}d"))
    data_note = (
        "scikit-learn's digits (8x8, offline): 256 training images, the 179 validation and 359 test "
        "images of the fixed split; Adam 2e-3 with a cosine schedule, batches of 16, 3 epochs"
        if scale == "quick" else
        "CIFAR-10 (downloaded once): 45k training / 5k validation images, the 10k test images; Xie et "
        "al.'s recipe (SGD 0.1, momentum 0.9, weight decay 5e-4, 300 epochs, /10 at 150 and 225)"
    )
    return StudyPlan(
        name="cardinality",
        question=(
            "At the same number of multiply-adds, does splitting each bottleneck's 3x3 convolution into "
            "more, narrower groups (higher cardinality) classify better (Xie et al. 2017)?"
        ),
        data_note=data_note,
        arms=arms,
        metrics=["test_accuracy", "test_loss", "multiply_adds"],
        seeds=2 if scale == "quick" else 3,
        comparisons=[(arm_name(groups), arm_name(1)) for groups in CARDINALITIES[1:]],
        finding=finding,
        figures=figures,
    )


def _cardinality(row: dict[str, Any]) -> int:
    return int(row["arm"].removeprefix("cardinality-"))


def finding(summary: dict[str, Any]) -> str:
    """The best cardinality, the spread of the costs, and which differences from cardinality 1 hold."""
    metric = summary["headline_metric"]
    rows = [row for row in summary["rows"] if row.get(metric) is not None]
    if not rows:
        return f"No {metric} to compare."
    best = max(rows, key=lambda row: row[metric]["mean"])
    baseline = next((row for row in rows if _cardinality(row) == 1), None)
    costs = [row["multiply_adds"]["mean"] for row in rows if row.get("multiply_adds")]
    spread = (f" at multiply-adds within {max(costs) / min(costs) - 1:.1%} of each other"
              if costs and min(costs) > 0 else "")
    significant = [c for c in summary["comparisons"] if c["significant"]]
    verdicts = "; ".join(
        f"{c['a'].removeprefix('cardinality-')} groups {c['difference']:+.3f} vs 1 group" for c in significant
    ) or "no cardinality differs significantly from 1"
    base_text = f" vs {baseline[metric]['mean']:.3f} for cardinality 1" if baseline is not None else ""
    return (
        f"Cardinality {_cardinality(best)} ({best['label']}) has the best {metric}, "
        f"{best[metric]['mean']:.3f}{base_text}{spread}; {verdicts} ({summary['seeds']} seeds)."
    )


def figures(study_dir: Path, summary: dict[str, Any]) -> list[Path]:
    """Accuracy against cardinality beside what each arm costs (multiply-adds and parameters)."""

    plots_dir = study_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    metric = summary["headline_metric"]
    rows = [row for row in summary["rows"] if row.get(metric) is not None and row.get("multiply_adds")]
    positions = np.arange(len(rows))
    names = [row["label"].removeprefix("ResNeXt-29 ") for row in rows]
    figure, (accuracy_axes, cost_axes) = new_figure(1, 2, figsize=(10, 4), layout="constrained")
    values = [mean_and_half_width(row[metric]) for row in rows]
    means, errors = [mean for mean, _ in values], [half for _, half in values]
    accuracy_axes.errorbar(positions, means, yerr=errors, marker="o", capsize=4, color="#4a7ab5")
    accuracy_axes.set_xticks(positions, names)
    accuracy_axes.set_xlabel("cardinality x width per group")
    accuracy_axes.set_ylabel(metric)
    accuracy_axes.set_title(f"{metric} (mean, 95% CI over {summary['seeds']} seeds)")
    if "accuracy" in metric:  # two seeds give wide t-intervals: keep the axis on the possible range
        accuracy_axes.set_ylim(0, 1)
    accuracy_axes.grid(alpha=0.3)
    costs = [row["multiply_adds"]["mean"] / 1e6 for row in rows]
    params = [(row["params"] or 0) / 1e6 for row in rows]
    cost_axes.bar(positions - 0.2, costs, width=0.4, color="#4a7ab5", label="multiply-adds per image (M)")
    cost_axes.bar(positions + 0.2, params, width=0.4, color="#c0504d", label="parameters (M)")
    for position, cost, count in zip(positions, costs, params):
        cost_axes.annotate(f"{cost:.1f}", (position - 0.2, cost), ha="center", va="bottom", fontsize=7)
        cost_axes.annotate(f"{count:.2f}", (position + 0.2, count), ha="center", va="bottom", fontsize=7)
    cost_axes.set_xticks(positions, names)
    cost_axes.set_xlabel("cardinality x width per group")
    cost_axes.set_title("what each arm costs (matched multiply-adds)")
    cost_axes.legend(fontsize=7)
    cost_axes.grid(axis="y", alpha=0.3)
    path = plots_dir / "accuracy_vs_cardinality.png"
    figure.savefig(path, dpi=100)
    return [path]

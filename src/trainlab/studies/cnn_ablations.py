"""Study `cnn-ablations`: pooling, activation and kernel size of a small CNN, one at a time.

A base configuration of `simple_cnn` (two conv-BN-activation-pool blocks, a hidden dense layer) and,
around it, arms that change exactly one option: average instead of max pooling; LeakyReLU, ELU or
GELU instead of ReLU; 5x5 or 7x7 instead of 3x3 kernels. Each arm is compared with the base, so a
difference belongs to the one option that changed.
"""

from __future__ import annotations

import copy
from typing import Any

from trainlab import registry
from trainlab.studies.plan import Arm, StudyPlan

BASE_OPTIONS = {"pooling": "max", "activation": "relu", "kernel_size": 3}
# (arm name, label, the one option that differs from the base)
ABLATIONS = (
    ("avg-pool", "average pooling", {"pooling": "avg"}),
    ("leaky-relu", "LeakyReLU", {"activation": "leaky_relu"}),
    ("elu", "ELU", {"activation": "elu"}),
    ("gelu", "GELU", {"activation": "gelu"}),
    ("kernel-5", "5x5 kernels", {"kernel_size": 5}),
    ("kernel-7", "7x7 kernels", {"kernel_size": 7}),
)


def quick_setting() -> dict[str, Any]:
    """Digits (8x8, offline), the whole training split, 4 epochs of Adam."""
    return {
        "task": "image-classification",
        "data": {"source": "digits", "batch_size": 64},
        "model": {"name": "simple_cnn", "channels": [32, 64], "hidden_size": 128, **BASE_OPTIONS},
        "optim": {"name": "adam", "lr": 0.002, "schedule": {"name": "cosine"}},
        "train": {"epochs": 4},
    }


def full_setting() -> dict[str, Any]:
    """CIFAR-10 with the Keras tutorial's three blocks (32/64/128 channels), dropout 0.3,
    pad-crop and flips, Adam 1e-3 with a cosine schedule, 60 epochs."""
    return {
        "task": "image-classification",
        "data": {"source": "cifar10", "val_fraction": 0.1, "batch_size": 128,
                 "augment": {"crop_padding": 4, "flip": True}},
        "model": {"name": "simple_cnn", "channels": [32, 64, 128], "hidden_size": 256, "dropout": 0.3,
                  **BASE_OPTIONS},
        "optim": {"name": "adam", "lr": 0.001, "weight_decay": 5e-4, "schedule": {"name": "cosine"}},
        "train": {"epochs": 60, "monitor": "val_accuracy"},
    }


@registry.studies.register("cnn-ablations", "max vs avg pooling, ReLU/LeakyReLU/ELU/GELU, kernel 3/5/7")
def cnn_ablations(scale: str) -> StudyPlan:
    base = quick_setting() if scale == "quick" else full_setting()
    arms = [Arm("base", copy.deepcopy(base), label="base: max pooling, ReLU, 3x3")]
    for name, label, change in ABLATIONS:
        config = copy.deepcopy(base)
        config["model"].update(change)
        arms.append(Arm(name, config, label=label))
    data_note = (
        "scikit-learn's digits (8x8, offline): the 1,259 training, 179 validation and 359 test images "
        "of the fixed split; simple_cnn 32/64 channels, Adam 2e-3 with a cosine schedule, 4 epochs"
        if scale == "quick" else
        "CIFAR-10 (downloaded once): 45k training / 5k validation images, the 10k test images; "
        "simple_cnn 32/64/128 channels, dropout 0.3, pad-crop and flips, Adam 1e-3, 60 epochs"
    )
    return StudyPlan(
        name="cnn-ablations",
        question=(
            "In a small CNN, how much does each design choice matter on its own: max or average "
            "pooling, the activation function, the kernel size?"
        ),
        data_note=data_note,
        arms=arms,
        metrics=["test_accuracy", "test_loss", "multiply_adds"],
        seeds=3,
        comparisons=[(name, "base") for name, _, _ in ABLATIONS],
        finding=finding,
    )


def finding(summary: dict[str, Any]) -> str:
    """Which changes moved accuracy away from the base significantly, and the best arm."""
    metric = summary["headline_metric"]
    rows = {row["arm"]: row for row in summary["rows"]}
    base = rows["base"].get(metric)
    if base is None:
        return f"The base configuration has no {metric}."
    significant = [c for c in summary["comparisons"] if c["significant"]]
    changes = "; ".join(f"{rows[c['a']]['label']} {c['difference']:+.3f}" for c in significant)
    verdict = (f"significant changes from the base: {changes}" if significant
               else "no single change differs significantly from the base")
    best = rows[summary["best_arm"]]
    return (f"Base {metric} {base['mean']:.3f}; {verdict}. Best: {best['label']}, "
            f"{best[metric]['mean']:.3f} ({summary['seeds']} seeds).")

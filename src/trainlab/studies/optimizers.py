"""Study `optimizers`: SGD, SGD with momentum, Adam, AdamW and RMSprop at two batch sizes.

The same small CNN, data, epochs and seeds for every arm; each optimizer keeps the learning rate
it is commonly used with (SGD 0.05, the adaptive ones 1e-3; AdamW with PyTorch's default decoupled
decay 0.01), and that rate is not rescaled with the batch size: at the larger batch every
optimizer takes a quarter of the steps, which is part of what the study shows. The report overlays
the training-loss and validation-accuracy curves of every arm.
"""

from __future__ import annotations

import copy
from typing import Any

from trainlab import registry
from trainlab.studies.plan import Arm, StudyPlan

# (name, label, optimizer section)
OPTIMIZERS = (
    ("sgd", "SGD", {"name": "sgd", "lr": 0.05, "momentum": 0.0}),
    ("sgd-momentum", "SGD + momentum 0.9", {"name": "sgd", "lr": 0.05, "momentum": 0.9}),
    ("adam", "Adam", {"name": "adam", "lr": 0.001}),
    ("adamw", "AdamW (decay 0.01)", {"name": "adamw", "lr": 0.001, "weight_decay": 0.01}),
    ("rmsprop", "RMSprop", {"name": "rmsprop", "lr": 0.001}),
)


def quick_setting() -> dict[str, Any]:
    """Digits (offline), simple_cnn 16/32 channels, 5 epochs."""
    return {
        "task": "image-classification",
        "data": {"source": "digits"},
        "model": {"name": "simple_cnn", "channels": [16, 32], "hidden_size": 64},
        "train": {"epochs": 5, "monitor": "val_accuracy"},
    }


def full_setting() -> dict[str, Any]:
    """CIFAR-10 (downloaded once), simple_cnn 32/64/128 with pad-crop and flips, 30 epochs."""
    return {
        "task": "image-classification",
        "data": {"source": "cifar10", "val_fraction": 0.1, "augment": {"crop_padding": 4, "flip": True}},
        "model": {"name": "simple_cnn", "channels": [32, 64, 128], "hidden_size": 256},
        "train": {"epochs": 30, "monitor": "val_accuracy"},
    }


def arm_name(optimizer: str, batch_size: int) -> str:
    return f"{optimizer}-batch-{batch_size}"


@registry.studies.register("optimizers", "SGD, momentum, Adam, AdamW, RMSprop at two batch sizes")
def optimizers(scale: str) -> StudyPlan:
    base = quick_setting() if scale == "quick" else full_setting()
    batch_sizes = (32, 128)
    arms = []
    for batch_size in batch_sizes:
        for name, label, optim in OPTIMIZERS:
            config = copy.deepcopy(base)
            config["data"]["batch_size"] = batch_size
            config["optim"] = dict(optim)
            arms.append(Arm(arm_name(name, batch_size), config, label=f"{label}, batch {batch_size}"))
    data_note = (
        "scikit-learn's digits (8x8, offline): 1,259 training, 179 validation and 359 test images; "
        "simple_cnn 16/32 channels, 5 epochs"
        if scale == "quick" else
        "CIFAR-10 (downloaded once): 45k training / 5k validation images, the 10k test images; "
        "simple_cnn 32/64/128 with pad-crop and flips, 30 epochs"
    )
    return StudyPlan(
        name="optimizers",
        question=("With the same network, data and epochs, how do SGD, SGD with momentum, Adam, AdamW "
                  "and RMSprop compare in speed of training and final accuracy, at a small and a large "
                  "batch?"),
        data_note=data_note,
        arms=arms,
        metrics=["test_accuracy", "test_loss", "first_epoch_train_loss", "train_seconds"],
        seeds=3,
        comparisons=[(arm_name("sgd-momentum", size), arm_name("sgd", size)) for size in batch_sizes]
        + [(arm_name("adam", size), arm_name("sgd-momentum", size)) for size in batch_sizes]
        + [(arm_name(name, 128), arm_name(name, 32)) for name in ("sgd", "adam")],
        finding=finding,
    )


def finding(summary: dict[str, Any]) -> str:
    metric = summary["headline_metric"]
    rows = {row["arm"]: row for row in summary["rows"]}
    best = rows[summary["best_arm"]]
    worst = min(summary["rows"], key=lambda row: row[metric]["mean"])
    significant = [c for c in summary["comparisons"] if c["significant"]]
    changes = "; ".join(f"{rows[c['a']]['label']} - {rows[c['b']]['label']} {c['difference']:+.3f}"
                        for c in significant)
    verdict = f"significant: {changes}" if significant else "no comparison is significant"
    return (f"Best {metric}: {best['label']} {best[metric]['mean']:.3f}; lowest: {worst['label']} "
            f"{worst[metric]['mean']:.3f} ({summary['seeds']} seeds); {verdict}.")

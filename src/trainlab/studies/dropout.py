"""Study `dropout`: dropout, BatchNorm and label smoothing against the generalisation gap.

An MLP on images overfits quickly: it can memorise the training set. The arms add dropout (0.2,
0.5) or label smoothing (0.1) to it, and, since the MLP has no BatchNorm option, a small CNN is
trained with and without BatchNorm and with BatchNorm plus dropout. The generalisation gap is
measured honestly: after training, the final model is evaluated on its own training images in
eval mode (no dropout, running BN statistics), and the gap is that accuracy minus the test
accuracy; the running training accuracy of history.csv is taken with dropout on and would flatter
the regularised arms. Seconds per epoch show what each option costs.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from trainlab import registry, rundir, runs
from trainlab.studies.plan import Arm, StudyPlan
from trainlab.training.callbacks.base import Callback

TRAIN_EVAL_FILE = "train_eval.json"  # per run: the final model's metrics on its training images

# (arm name, label, model, changes to the model section, changes to the train section)
MLP = {"name": "mlp", "hidden_sizes": [512, 256]}
CNN = {"name": "simple_cnn", "channels": [16, 32], "hidden_size": 64}
ARMS = (
    ("mlp", "MLP", MLP, {}, {}),
    ("mlp-dropout-0.2", "MLP, dropout 0.2", MLP, {"dropout": 0.2}, {}),
    ("mlp-dropout-0.5", "MLP, dropout 0.5", MLP, {"dropout": 0.5}, {}),
    ("mlp-label-smoothing", "MLP, label smoothing 0.1", MLP, {}, {"label_smoothing": 0.1}),
    ("cnn-no-bn", "CNN without BatchNorm", CNN, {"batch_norm": False}, {}),
    ("cnn-bn", "CNN with BatchNorm", CNN, {"batch_norm": True}, {}),
    ("cnn-bn-dropout-0.5", "CNN with BatchNorm, dropout 0.5", CNN, {"batch_norm": True, "dropout": 0.5}, {}),
)


class TrainingSetEvaluation(Callback):
    """When training ends (after the best weights are restored), evaluates the model on the
    training images in eval mode and writes the metrics to RUN_DIR/train_eval.json."""

    order = 50  # after EarlyStopping (10) has put the best weights back

    def __init__(self, evaluate: Any, batches: Any, path: Path):
        self.evaluate, self.batches, self.path = evaluate, batches, Path(path)

    def on_fit_end(self, state) -> None:
        if state.diverged:
            return
        results = self.evaluate(self.batches)
        runs.write_json(self.path, {key: value for key, value in results.items() if isinstance(value, float)})


def training_set_callbacks(experiment: Any, run_dir: Path) -> list[Callback]:
    """The training images without shuffling or augmentation, as the test images are seen."""
    from trainlab.data.batching import TensorBatches, TransformedBatches

    pipeline = experiment.pipeline
    plain = TensorBatches(*pipeline.data.train, batch_size=256, shuffle=False, seed=0)
    batches = TransformedBatches(plain, pipeline.eval_transform, 0)
    # The experiment's trainer is replaced by one with these callbacks, around the same model.
    return [TrainingSetEvaluation(experiment.trainer.evaluate, batches, run_dir / TRAIN_EVAL_FILE)]


def quick_setting() -> dict[str, Any]:
    """Digits (offline), 15 epochs of Adam 1e-3."""
    return {
        "task": "image-classification",
        "data": {"source": "digits", "batch_size": 32},
        "optim": {"name": "adam", "lr": 0.001},
        "train": {"epochs": 15, "restore_best": False},
    }


def full_setting() -> dict[str, Any]:
    """Fashion-MNIST (downloaded once), 30 epochs of Adam 1e-3."""
    return {
        "task": "image-classification",
        "data": {"source": "fashion-mnist", "val_fraction": 0.1, "batch_size": 128},
        "optim": {"name": "adam", "lr": 0.001},
        "train": {"epochs": 30, "restore_best": False},
    }


@registry.studies.register("dropout", "dropout, BatchNorm and label smoothing against the generalisation gap")
def dropout(scale: str) -> StudyPlan:
    base = quick_setting() if scale == "quick" else full_setting()
    arms = []
    for name, label, model, model_changes, train_changes in ARMS:
        config = copy.deepcopy(base)
        config["model"] = {**model, **model_changes}
        config["train"].update(train_changes)
        arms.append(Arm(name, config, label=label))
    data_note = (
        "scikit-learn's digits (8x8, offline): 1,259 training, 179 validation and 359 test images; "
        "MLP 512-256 or simple_cnn 16/32, Adam 1e-3, batch 32, 15 epochs, last weights evaluated"
        if scale == "quick" else
        "Fashion-MNIST (downloaded once): 54k training, 6k validation and 10k test images; MLP 512-256 or "
        "simple_cnn 16/32, Adam 1e-3, batch 128, 30 epochs, last weights evaluated"
    )
    return StudyPlan(
        name="dropout",
        question=("Do dropout, BatchNorm and label smoothing narrow the gap between training and test "
                  "accuracy, do they raise test accuracy, and what do they cost per epoch?"),
        data_note=data_note,
        arms=arms,
        metrics=["test_accuracy", "generalisation_gap", "train_eval_accuracy", "test_loss", "seconds_per_epoch"],
        seeds=3,
        comparisons=[("mlp-dropout-0.2", "mlp"), ("mlp-dropout-0.5", "mlp"), ("mlp-label-smoothing", "mlp"),
                     ("cnn-bn", "cnn-no-bn"), ("cnn-bn-dropout-0.5", "cnn-bn")],
        finding=finding,
        callbacks=training_set_callbacks,
        run_metrics=gap_metrics,
    )


def gap_metrics(run_dir: Path) -> dict[str, float]:
    """Training-set accuracy in eval mode, the gap to the test accuracy, and seconds per epoch."""
    metrics = rundir.read_json(run_dir / rundir.METRICS_FILE)
    result = {"seconds_per_epoch": metrics["train_seconds"] / metrics["epochs"]}
    path = run_dir / TRAIN_EVAL_FILE
    if path.is_file():
        train = rundir.read_json(path)
        result["train_eval_accuracy"] = train["accuracy"]
        result["generalisation_gap"] = train["accuracy"] - metrics["test_accuracy"]
    return result


def finding(summary: dict[str, Any]) -> str:
    rows = {row["arm"]: row for row in summary["rows"]}

    def describe(arm: str) -> str:
        row = rows[arm]
        return (f"{row['label']}: test {row['test_accuracy']['mean']:.3f}, gap "
                f"{row['generalisation_gap']['mean']:+.3f}, {row['seconds_per_epoch']['mean']:.2f} s/epoch")

    significant = [c for c in summary["comparisons"] if c["significant"]]
    changes = "; ".join(f"{rows[c['a']]['label']} vs {rows[c['b']]['label']} {c['difference']:+.3f}"
                        for c in significant)
    verdict = (f"Significant test-accuracy differences: {changes}" if significant
               else "No option changes test accuracy significantly")
    return ". ".join(describe(arm) for arm in rows) + f". {verdict}."

"""Which model a run delivers, chosen on the validation split alone.

Classification: the network, its baseline, or a blend of the two. The candidates are blends
`w * network + (1 - w) * baseline` of the two models' class probabilities for w = 0, 0.1, ..., 1:
w = 1 is the network, w = 0 the baseline, anything between an ensemble. The one with the highest validation accuracy wins; equal accuracies go to the lower
validation log loss, then to the larger network weight. The test split plays no part in the
choice: it is scored once per candidate afterwards, to report.

Forecasting: the network or one of the baselines, whichever has the lowest MASE in a backtest over
the validation part (equal MASEs go to the first in the order given: the network first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WEIGHTS = tuple(round(step / 10, 1) for step in range(11))  # the network's share, 0 to 1
LOG_LOSS_FLOOR = 1e-15


@dataclass(frozen=True)
class Choice:
    network_weight: float  # 1: the network alone, 0: the baseline alone
    val_accuracy: dict[str, float]  # of "network", "baseline" and "ensemble" (the best blend between)
    ensemble_weight: float  # the network weight of the best blend strictly between 0 and 1

    @property
    def name(self) -> str:
        return {1.0: "network", 0.0: "baseline"}.get(self.network_weight, "ensemble")


def blend(network: np.ndarray, baseline: np.ndarray, network_weight: float) -> np.ndarray:
    """`network_weight * network + (1 - network_weight) * baseline`, (N, classes) probabilities."""
    return network_weight * network + (1 - network_weight) * baseline


def accuracy_and_log_loss(probabilities: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    predicted = probabilities.argmax(axis=1)
    true_class = probabilities[np.arange(len(labels)), labels]
    return float((predicted == labels).mean()), float(-np.log(np.maximum(true_class, LOG_LOSS_FLOOR)).mean())


def choose_blend(network: np.ndarray, baseline: np.ndarray, labels: np.ndarray) -> Choice:
    """The blend weight that validation (`labels`, and each model's probabilities of the
    validation examples) prefers, with each candidate's validation accuracy."""
    labels = np.asarray(labels)
    scored = {weight: accuracy_and_log_loss(blend(network, baseline, weight), labels) for weight in WEIGHTS}

    def preference(weight: float) -> tuple[float, float, float]:
        accuracy, log_loss = scored[weight]
        return accuracy, -log_loss, weight

    best = max(WEIGHTS, key=preference)
    between = max(WEIGHTS[1:-1], key=preference)
    return Choice(best, {"network": scored[1.0][0], "baseline": scored[0.0][0], "ensemble": scored[between][0]},
                  between)


def choose_forecaster(val_mase: dict[str, float | None]) -> str:
    """The name with the lowest validation MASE (None: undefined, never chosen); the first wins ties."""
    scored = {name: value for name, value in val_mase.items() if value is not None}
    if not scored:
        raise ValueError("no forecaster has a defined validation MASE")
    return min(scored, key=scored.get)


def chosen_model_sentence(metrics: dict, baseline: str = "TF-IDF") -> str | None:
    """One sentence from metrics.json (its `chosen_model` and `candidate_<name>_<split>_<metric>`
    keys) saying which candidate won on validation and how the others scored; None for a run that
    made no choice."""
    chosen = metrics.get("chosen_model")
    if chosen is None:
        return None
    if "candidate_network_val_mase" in metrics:
        return _forecaster_sentence(metrics, chosen)
    weight = metrics["ensemble_network_weight"]
    short = {"network": "network", "tfidf": baseline, "ensemble": "ensemble"}
    described = {"network": "the network", "tfidf": baseline,
                 "ensemble": f"the ensemble ({weight:g} x network + {1 - weight:g} x {baseline})"}
    order = [chosen] + [name for name in short if name != chosen]

    def scores(split: str) -> str:
        values = [metrics[f"candidate_{name}_{split}_accuracy"] for name in order]
        return f"{values[0]:.3f} (" + ", ".join(f"{short[name]} {value:.3f}" for name, value in
                                               zip(order[1:], values[1:])) + ")"

    return (f"Chosen on validation: {described[chosen]}, with accuracy {scores('val')}; "
            f"on test it scores {scores('test')}.")


def forecaster_label(name: str) -> str:
    """How a forecaster is named in prose: "the network", "ETS", "seasonal naive"."""
    return {"network": "the network", "ets": "ETS", "arima": "ARIMA"}.get(name, name.replace("_", " "))


def _forecaster_sentence(metrics: dict, chosen: str) -> str:
    """The winner's validation and test MASE beside the network's and the best other baseline's."""
    candidates = [key.removeprefix("candidate_").removesuffix("_val_mase") for key in metrics
                  if key.startswith("candidate_") and key.endswith("_val_mase")]
    others = [name for name in candidates if name not in (chosen, "network")
              and metrics[f"candidate_{name}_val_mase"] is not None]
    compared = ([] if chosen == "network" else ["network"]) + (
        [min(others, key=lambda name: metrics[f"candidate_{name}_val_mase"])] if others else [])

    def scores(split: str) -> str:
        def shown(name: str) -> str:
            value = metrics.get(f"candidate_{name}_{split}_mase")
            return "undefined" if value is None else f"{value:.3f}"

        label = {name: forecaster_label(name).removeprefix("the ") for name in compared}
        best_other = "best baseline" if chosen == "network" else "best other baseline"
        return f"{shown(chosen)} (" + ", ".join(
            f"{label[name]} {shown(name)}" if name == "network" else f"{best_other}, {label[name]}, {shown(name)}"
            for name in compared) + ")"

    return (f"Chosen on validation: {forecaster_label(chosen)}, with MASE {scores('val')}; "
            f"on test it scores {scores('test')}.")

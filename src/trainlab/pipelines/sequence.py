"""Task `sequence-classification`: the synthetic memory tasks (copy, adding, trend-sine-walk).

The data are `SequenceSplits` (data/synthetic_splits.py); the models are models/sequence.py.
The loss is the cross-entropy per step for the copy task (every step of every sequence weighs the
same, as in its memoryless baseline), the cross-entropy per sequence for classification, and the
mean squared error for the adding problem.

What a finished run adds to metrics.json: `baseline_memoryless_<metric>` (the best score without
memory, data/synthetic.py), `loss_vs_memoryless` (test loss / that baseline: near 1 has learnt no
memory), `solved` (the test loss is below `SOLVED_FRACTION` of the baseline), and, with the
diagnostics switched on (`diagnostics.*`), the spectral radius of W_hh before and after training
and the fitted decay rate of dL/dh_t at the start and the end; their arrays go to
RUN_DIR/diagnostics/.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from trainlab import registry, runs
from trainlab.config import Config, SyntheticDataConfig
from trainlab.data.sources import load_source
from trainlab.data.synthetic_splits import SequenceSplits
from trainlab.diagnostics.activations import (
    gate_activations,
    gate_means_over_time,
    hidden_state_matrix,
)
from trainlab.diagnostics.callbacks import TimestepGradientProbe, diagnostics_callbacks
from trainlab.diagnostics.gradients import fit_decay, timestep_gradients
from trainlab.errors import TrainlabError
from trainlab.models.cell_options import needs_unrolled
from trainlab.models.modes import evaluating
from trainlab.models.sequence import TASK, SequenceSpec
from trainlab.pipelines.base import Pipeline
from trainlab.rundir import (
    ACTIVATIONS_FILE,
    DIAGNOSTICS_DIR,
    GRAD_NORMS_FILE,
    SEQUENCE_TASK_FILE,
    SPECTRAL_FILE,
    TIMESTEP_GRADS_FILE,
)
from trainlab.training.callbacks import Callback
from trainlab.training.tasks import SequenceTask

# A task counts as solved when the test loss is below this share of the memoryless baseline.
SOLVED_FRACTION = 0.1


def probe_loss(model: nn.Module, task: SequenceTask, targets: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
    return task.loss(model.readout(outputs), targets)


def probe_timestep_gradients(model: nn.Module, task: SequenceTask, batch: tuple[torch.Tensor, torch.Tensor]) -> np.ndarray:
    """(layers, T) norms of dL/dh_t of `model` on `batch` (trainlab.diagnostics.gradients)."""
    inputs, targets = (tensor.to(model.head.weight.device) for tensor in batch)
    return timestep_gradients(model.rnn, model.encode(inputs), partial(probe_loss, model, task, targets))


def check_diagnostics_fit_the_cell(config: Config) -> None:
    """The per-step diagnostics re-run torch's own cell functions on the fused layer's weights, so
    they cannot follow a step-by-step cell (recurrent dropout, zoneout, an LSTM variant)."""
    model, diagnostics = config.model, config.diagnostics
    wanted = [name for name in ("timestep_grads", "activations", "spectral") if getattr(diagnostics, name)]
    unrolled = needs_unrolled(getattr(model, "recurrent_dropout", 0.0), getattr(model, "zoneout", 0.0),
                              getattr(model, "variant", "vanilla"), getattr(model, "unrolled", False))
    if wanted and unrolled:
        raise TrainlabError(
            f"diagnostics.{', diagnostics.'.join(wanted)} read torch's fused recurrent layers, and model.recurrent_dropout, "
            "model.zoneout, model.variant or model.unrolled asks for the step-by-step cell; switch one of the two off")


@registry.tasks.register(TASK, "synthetic memory tasks: copy, adding problem, trend-sine-walk")
class SequenceClassification(Pipeline):
    default_model = "lstm"
    data_section = SyntheticDataConfig
    loader = "trainlab.data.synthetic:load_synthetic_source"

    def __init__(self, config: Config):
        super().__init__(config)
        check_diagnostics_fit_the_cell(config)
        self.data: SequenceSplits = load_source(config.task, config.data)
        data = self.data
        tokens = data.train[0].dtype == torch.int64
        self.spec = SequenceSpec(data.input_size, data.output_size, data.kind, tokens, data.train[0].shape[1])
        self.task = SequenceTask(data.kind, data.output_size)

        self.use_tensor_batches(data.train, data.val, data.test)
        self.info = {"summary": data.summary(), "kind": data.kind, "classes": data.classes,
                     "memoryless_baseline": data.memoryless_baseline, "baseline_metric": data.baseline_metric,
                     "sequence_length": self.spec.length}
        self.diagnostics: list[Callback] = []

    def callbacks(self) -> list[Callback]:
        settings = self.config.diagnostics
        # Written to RUN_DIR/diagnostics when the run finishes (a pipeline is built before its run
        # directory is known); a twin added by the experiment itself makes these stand down.
        self.diagnostics = diagnostics_callbacks(settings, run_dir=None)
        if settings.timestep_grads:
            inputs, targets = self.data.val if self.data.val is not None else self.data.test
            batch = (inputs[: settings.probe_examples], targets[: settings.probe_examples])
            self.diagnostics.append(TimestepGradientProbe(
                partial(probe_timestep_gradients, task=self.task, batch=batch), settings.timestep_every_epochs))
        return list(self.diagnostics)

    def finish(self, model: nn.Module, results: dict[str, dict[str, Any]], run_dir: Path) -> dict[str, Any]:
        baseline = self.data.memoryless_baseline
        test_loss = results["test"]["loss"]
        extra: dict[str, Any] = {
            f"baseline_memoryless_{self.data.baseline_metric}": baseline,
            "loss_vs_memoryless": test_loss / baseline if baseline > 0 else None,
            "solved": bool(test_loss < SOLVED_FRACTION * baseline),
            "sequence_length": self.spec.length,
        }
        directory = run_dir / DIAGNOSTICS_DIR
        for callback in self.diagnostics:
            if hasattr(callback, "save"):
                callback.save(directory)
        if self.config.diagnostics.activations:
            save_activations(model, self.data.test[0][:64], directory)
        extra.update(diagnostics_metrics(directory))
        runs.write_json(run_dir / SEQUENCE_TASK_FILE, {"solved_fraction": SOLVED_FRACTION, **extra})
        return extra


def save_activations(model: nn.Module, inputs: torch.Tensor, directory: Path) -> Path:
    """RUN_DIR/diagnostics/activations.npz: the last layer's hidden states of the first input
    (T, H), and for an LSTM/GRU the mean of each gate of the first layer over time (T,)."""
    inputs = inputs.to(model.head.weight.device)
    with evaluating(model):
        encoded = model.encode(inputs)
        arrays = {"hidden_states": hidden_state_matrix(model.rnn, encoded, example=0)}
        if isinstance(model.rnn, nn.LSTM | nn.GRU):
            means = gate_means_over_time(gate_activations(model.rnn, encoded))
            arrays.update({f"gate_{name}": values for name, values in means.items()})
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ACTIVATIONS_FILE
    np.savez_compressed(path, **arrays)
    return path


def diagnostics_metrics(directory: Path) -> dict[str, Any]:
    """Scalars for metrics.json from the arrays in RUN_DIR/diagnostics (whichever were recorded):
    the largest spectral radius of the recurrent matrices before and after training, the fitted
    per-step decay rate of dL/dh_t of the last layer before training and after the last epoch,
    the ratio of dL/dh at the first step to the last after training, the mean global grad norm."""
    extra: dict[str, Any] = {}
    spectral = directory / SPECTRAL_FILE
    if spectral.is_file():
        with np.load(spectral) as arrays:
            for when in ("before", "after"):
                radii = [float(np.abs(arrays[key]).max()) for key in arrays.files if key.startswith(f"{when}/")]
                extra[f"spectral_radius_{when}"] = max(radii, default=None)
    timestep = directory / TIMESTEP_GRADS_FILE
    if timestep.is_file():
        with np.load(timestep) as arrays:
            norms = arrays["norms"]
        if len(norms):
            extra["grad_decay_rate_initial"] = _decay_rate(norms[0, -1])
            extra["grad_decay_rate_final"] = _decay_rate(norms[-1, -1])
            first, last = norms[-1, -1, 0], norms[-1, -1, -1]
            extra["grad_first_to_last_ratio"] = float(first / last) if last > 0 else None
    grad_norms = directory / GRAD_NORMS_FILE
    if grad_norms.is_file():
        with np.load(grad_norms) as arrays:
            extra["grad_norm_mean"] = float(np.mean(arrays["global_before"])) if len(arrays["steps"]) else None
    return extra


def _decay_rate(norms: np.ndarray) -> float | None:
    try:
        return fit_decay(norms).rate
    except ValueError:  # every gradient underflowed to zero
        return None

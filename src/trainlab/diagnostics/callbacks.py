"""Diagnostics as training callbacks: arrays in RUN_DIR/diagnostics/, flags in the epoch logs.

- `GradientNorms` (+ its `after_clipping` companion): per-layer gradient norms after backward and
  before clipping, every `every` optimizer steps; the global norm before and after clipping; how
  many steps were clipped; exploding/vanishing flags and the first non-finite layer.
- `TimestepGradientProbe`: dL/dh_t per layer and step on a fixed probe batch, at the start and
  after every epoch (or every `every_epochs`).
- `SpectralSnapshot`: eigenvalues of the recurrent matrices before and after training.

Per step nothing is copied to the host: the norms stay tensors until the epoch ends, so on a GPU
the diagnostics add no synchronisation to the loop (benchmarks/diagnostics_overhead.py measures the
cost). Arrays are written at the end of every epoch and of the fit, so a crash keeps what was seen.
They are not part of a checkpoint: a resumed run records (and rewrites the files with) the steps
after the point it resumed from.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from trainlab.diagnostics.gradients import LayerGroups
from trainlab.diagnostics.spectral import spectral_summary
from trainlab.models.modes import evaluating
from trainlab.rundir import DIAGNOSTICS_DIR, GRAD_NORMS_FILE, SPECTRAL_FILE, TIMESTEP_GRADS_FILE
from trainlab.training.callbacks.base import Callback
from trainlab.training.state import TrainState

# Relative tolerance for "the norm after clipping is smaller": clip_grad_norm_ scales by
# max_norm / (norm + 1e-6), so an unclipped step keeps its norm to float rounding.
_CLIPPED_TOLERANCE = 1e-5
EPOCH_LOG_KEYS = ("grad_norm", "grad_norm_max", "clipped_steps", "exploding_steps", "vanishing_steps")


class GradientNorms(Callback):
    """Per-layer gradient norms of every `every`-th optimizer step, before clipping.

    Add `recorder.after_clipping` to the callbacks too, to record the global norm after clipping
    (it runs after GradientClipping, this one before).

    Epoch logs: `grad_norm` (mean global norm), `grad_norm_max`, `clipped_steps`, and the flags
    `exploding_steps` (global norm above `exploding_threshold`) and `vanishing_steps` (some layer's
    norm below `vanishing_threshold`); the first step with a flag, and the first non-finite layer,
    are also warned about once.

    Args:
        every: record every this many optimizer steps (1: all).
        directory: where grad_norms.npz goes (RUN_DIR/diagnostics); None keeps it in memory
            (`arrays()`, `save(directory)`).
    """

    order = -5  # GradientClipping has order 0: these are the raw gradients

    def __init__(
        self,
        every: int = 1,
        directory: Path | None = None,
        exploding_threshold: float = 1e3,
        vanishing_threshold: float = 1e-7,
    ):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every = every
        self.directory = None if directory is None else Path(directory)
        self.exploding_threshold = exploding_threshold
        self.vanishing_threshold = vanishing_threshold
        self.after_clipping = _AfterClipping(self)
        self.active = True  # False when the run already has a recorder of its own (see `has_twin`)
        self.groups: LayerGroups | None = None
        self.steps: list[int] = []
        self.layer_squares: list[torch.Tensor] = []  # per recorded step: (layers,)
        self.after: list[torch.Tensor] = []  # per recorded step: global norm after clipping
        self._epoch_start = 0
        self._warned: set[str] = set()

    def on_fit_start(self, state: TrainState) -> None:
        self.active = not has_twin(self, state)
        self.groups = LayerGroups.of(state.model)
        self.steps, self.layer_squares, self.after = [], [], []
        self._epoch_start = 0
        self._warned = set()

    def recording(self, state: TrainState) -> bool:
        return self.active and state.step % self.every == 0

    def after_backward(self, state: TrainState) -> None:
        if self.recording(state):
            self.steps.append(state.step)
            self.layer_squares.append(self.groups.squared_norms())

    def on_epoch_end(self, state: TrainState) -> None:
        if not self.active:
            return
        arrays = self.arrays()
        recent = slice(self._epoch_start, len(arrays["steps"]))
        self._epoch_start = len(arrays["steps"])
        before, layers = arrays["global_before"][recent], arrays["layer_norms"][recent]
        after = arrays["global_after"][recent]
        if len(before):
            state.logs["grad_norm"] = float(np.mean(before))
            state.logs["grad_norm_max"] = float(np.max(before))
            # Without the after-clipping companion there is nothing to compare: no step counts as clipped.
            clipped = after < before * (1 - _CLIPPED_TOLERANCE) if len(after) == len(before) else np.zeros(0, bool)
            state.logs["clipped_steps"] = int(clipped.sum())
            exploding = before > self.exploding_threshold
            vanishing = layers.min(axis=1) < self.vanishing_threshold
            state.logs["exploding_steps"] = int(exploding.sum())
            state.logs["vanishing_steps"] = int(vanishing.sum())
            self._warn_once(arrays, recent, exploding, vanishing)
            if state.history:  # the trainer appended the epoch's row before this hook: complete it
                state.history[-1].update({key: state.logs[key] for key in EPOCH_LOG_KEYS})
        self.save()

    def on_fit_end(self, state: TrainState) -> None:
        if self.steps:  # a diverged fit ends without on_epoch_end: still say where it broke
            arrays = self.arrays()
            recent = slice(self._epoch_start, len(arrays["steps"]))
            self._warn_once(arrays, recent, np.zeros(0, bool), np.zeros(0, bool))
        self.save()

    def _warn_once(self, arrays: dict[str, np.ndarray], recent: slice, exploding: np.ndarray,
                   vanishing: np.ndarray) -> None:
        steps, layers = arrays["steps"][recent], arrays["layer_norms"][recent]
        names = arrays["layers"]
        bad = ~np.isfinite(layers)
        if bad.any() and "nonfinite" not in self._warned:
            row = int(np.argmax(bad.any(axis=1)))
            first = names[int(np.argmax(bad[row]))]
            self._warn("nonfinite", f"gradients became NaN/inf at step {steps[row]}, first in layer '{first}'")
        if exploding.any() and "exploding" not in self._warned:
            row = int(np.argmax(exploding))
            self._warn("exploding", f"exploding gradients: global norm {arrays['global_before'][recent][row]:.3g} "
                                    f"> {self.exploding_threshold:g} at step {steps[row]}")
        if vanishing.any() and "vanishing" not in self._warned:
            row = int(np.argmax(vanishing))
            layer = names[int(np.argmin(layers[row]))]
            self._warn("vanishing", f"vanishing gradients: layer '{layer}' norm {layers[row].min():.3g} "
                                    f"< {self.vanishing_threshold:g} at step {steps[row]}")

    def _warn(self, kind: str, message: str) -> None:
        self._warned.add(kind)
        warnings.warn(message, RuntimeWarning, stacklevel=3)

    def arrays(self) -> dict[str, np.ndarray]:
        """steps (S,), layers (L,) names, has_matrix (L,) (weight layers, not norm layers),
        layer_norms (S, L), global_before (S,), global_after (S,) (empty without the companion)."""
        names = np.asarray(self.groups.names if self.groups else [], dtype=str)
        has_matrix = np.asarray(self.groups.has_matrix if self.groups else [], dtype=bool)
        if not self.layer_squares:
            return {"steps": np.zeros(0, np.int64), "layers": names, "has_matrix": has_matrix,
                    "layer_norms": np.zeros((0, len(names))), "global_before": np.zeros(0),
                    "global_after": np.zeros(0)}
        squares = torch.stack(self.layer_squares).double().cpu().numpy()  # one host copy
        after = torch.stack(self.after).double().cpu().numpy() if self.after else np.zeros(0)
        return {
            "steps": np.asarray(self.steps, dtype=np.int64),
            "layers": names,
            "has_matrix": has_matrix,
            "layer_norms": np.sqrt(squares),
            "global_before": np.sqrt(squares.sum(axis=1)),
            "global_after": after,
        }

    def save(self, directory: Path | None = None) -> Path | None:
        directory = Path(directory) if directory is not None else self.directory
        if directory is None or self.groups is None or not self.active:
            return None
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / GRAD_NORMS_FILE
        np.savez_compressed(path, every=self.every, **self.arrays())
        return path


class _AfterClipping(Callback):
    """The global gradient norm after GradientClipping (order 0) has run, for the same steps."""

    order = 5

    def __init__(self, recorder: GradientNorms):
        self.recorder = recorder

    def after_backward(self, state: TrainState) -> None:
        if self.recorder.recording(state):
            self.recorder.after.append(self.recorder.groups.squared_norms().sum().sqrt())


class TimestepGradientProbe(Callback):
    """dL/dh_t per layer and time step on one fixed batch, before training and after epochs.

    Args:
        probe: model -> (layers, T) norms, e.g. a closure over `timestep_gradients` and a batch
            (the model is put in eval mode while it runs).
        every_epochs: measure after every this many epochs (and always after the last one).
    """

    def __init__(self, probe: Callable[[nn.Module], np.ndarray], every_epochs: int = 1,
                 directory: Path | None = None):
        self.probe = probe
        self.every_epochs = every_epochs
        self.directory = None if directory is None else Path(directory)
        self.epochs: list[int] = []
        self.steps: list[int] = []
        self.norms: list[np.ndarray] = []

    def measure(self, model: nn.Module, epoch: int, step: int) -> None:
        with evaluating(model), torch.enable_grad():
            self.norms.append(np.asarray(self.probe(model), dtype=np.float64))
        self.epochs.append(epoch)
        self.steps.append(step)

    def on_fit_start(self, state: TrainState) -> None:
        self.epochs, self.steps, self.norms = [], [], []
        self.measure(state.model, state.epoch, state.step)

    def on_epoch_end(self, state: TrainState) -> None:
        last = state.epoch >= state.max_epochs or state.should_stop
        if state.epoch % self.every_epochs == 0 or last:
            self.measure(state.model, state.epoch, state.step)
        self.save()

    def arrays(self) -> dict[str, np.ndarray]:
        """epochs (M,), steps (M,), norms (M, layers, T): measurement m was taken after epoch
        epochs[m] (0: before training)."""
        norms = np.stack(self.norms) if self.norms else np.zeros((0, 0, 0))
        return {"epochs": np.asarray(self.epochs, np.int64), "steps": np.asarray(self.steps, np.int64),
                "norms": norms}

    def save(self, directory: Path | None = None) -> Path | None:
        directory = Path(directory) if directory is not None else self.directory
        if directory is None or not self.norms:
            return None
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / TIMESTEP_GRADS_FILE
        np.savez_compressed(path, **self.arrays())
        return path


class SpectralSnapshot(Callback):
    """Eigenvalues and spectral radius of every recurrent matrix before and after training."""

    def __init__(self, directory: Path | None = None):
        self.directory = None if directory is None else Path(directory)
        self.active = True
        self.before: dict[str, Any] = {}
        self.after: dict[str, Any] = {}

    def on_fit_start(self, state: TrainState) -> None:
        self.active = not has_twin(self, state)
        self.before, self.after = (spectral_summary(state.model) if self.active else {}), {}

    def on_fit_end(self, state: TrainState) -> None:
        if self.active:
            self.after = spectral_summary(state.model)
            self.save()

    def radii(self) -> dict[str, dict[str, float]]:
        """{"before": {matrix: radius}, "after": {...}}."""
        return {when: {name: entry["radius"] for name, entry in summary.items()}
                for when, summary in (("before", self.before), ("after", self.after))}

    def save(self, directory: Path | None = None) -> Path | None:
        directory = Path(directory) if directory is not None else self.directory
        if directory is None or not self.before:
            return None
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for when, summary in (("before", self.before), ("after", self.after)):
            for name, entry in summary.items():
                arrays[f"{when}/{name}"] = entry["eigenvalues"]
        path = directory / SPECTRAL_FILE
        np.savez_compressed(path, **arrays)
        return path


def has_twin(callback: Callback, state: TrainState) -> bool:
    """Whether a callback of the same class comes before `callback` in the run: the diagnostics
    can be asked for twice (the config's `diagnostics.*` and a study or pipeline adding its own), and
    one recorder per run is enough, so the later one stands down."""
    for other in state.callbacks:
        if other is callback:
            return False
        if type(other) is type(callback):
            return True
    return False


def diagnostics_callbacks(settings: Any, run_dir: Path | None) -> list[Callback]:
    """The model-agnostic diagnostics a config's `diagnostics` section asks for (per-layer gradient
    norms, spectra), writing into RUN_DIR/diagnostics; per-time-step gradients need to know the
    task's recurrent layer and loss, so the sequence pipeline adds those itself."""
    directory = None if run_dir is None else Path(run_dir) / DIAGNOSTICS_DIR
    callbacks: list[Callback] = []
    if settings.grad_norms:
        recorder = GradientNorms(settings.grad_norms_every, directory, settings.exploding_threshold,
                                 settings.vanishing_threshold)
        callbacks += [recorder, recorder.after_clipping]
    if settings.spectral:
        callbacks.append(SpectralSnapshot(directory))
    return callbacks

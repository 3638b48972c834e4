"""Diagnostics for the studies' training runs: callbacks to add (`StudyPlan.callbacks`) and
metrics read back from the run directory (`StudyPlan.run_metrics`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from trainlab.diagnostics.callbacks import GradientNorms
from trainlab.rundir import DIAGNOSTICS_DIR, GRAD_NORMS_FILE


def gradient_norm_callbacks(experiment: Any, run_dir: Path) -> list:
    """Per-layer gradient norms at every step, written to RUN_DIR/diagnostics/grad_norms.npz."""
    recorder = GradientNorms(every=1, directory=run_dir / DIAGNOSTICS_DIR)
    return [recorder, recorder.after_clipping]


def read_gradient_norms(run_dir: Path) -> dict[str, np.ndarray] | None:
    path = run_dir / DIAGNOSTICS_DIR / GRAD_NORMS_FILE
    if not path.is_file():
        return None
    with np.load(path) as loaded:
        return {key: loaded[key] for key in loaded.files}


def initial_weight_layer_norms(run_dir: Path) -> tuple[list[str], np.ndarray] | None:
    """Names and gradient norms of the weight layers (convolutions, linear; not norm layers) at the
    first step, i.e. with the initial weights."""
    arrays = read_gradient_norms(run_dir)
    if arrays is None or not len(arrays["steps"]):
        return None
    keep = arrays["has_matrix"] if "has_matrix" in arrays else np.ones(len(arrays["layers"]), bool)
    return [str(name) for name in arrays["layers"][keep]], arrays["layer_norms"][0][keep]


def gradient_norm_metrics(run_dir: Path) -> dict[str, float]:
    """`grad_norm_first_layer_initial`, `grad_norm_last_layer_initial` (first and last weight
    layer at the first step), their ratio `grad_norm_first_to_last_initial` (far below 1: the
    gradient vanishes on its way to the input), and `grad_norm_mean` over the whole run."""
    initial = initial_weight_layer_norms(run_dir)
    if initial is None:
        return {}
    _, norms = initial
    arrays = read_gradient_norms(run_dir)
    first, last = float(norms[0]), float(norms[-1])
    return {"grad_norm_first_layer_initial": first, "grad_norm_last_layer_initial": last,
            "grad_norm_first_to_last_initial": first / last if last > 0 else float("nan"),
            "grad_norm_mean": float(np.mean(arrays["global_before"]))}

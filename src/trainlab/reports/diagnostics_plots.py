"""Figures of the gradient diagnostics, read from RUN_DIR/diagnostics/*.npz.

- per-time-step gradient curves: ||dL/dh_t|| against the distance from the loss, on a log scale;
- a layer x step heatmap of per-layer gradient norms, and the global norm before/after clipping;
- eigenvalues of recurrent matrices against the unit circle, before and after training;
- a hidden-state heatmap (units x time) for one input.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import LogNorm

from trainlab import rundir
from trainlab.metrics.statistics import mean_and_half_width
from trainlab.reports.figures import new_figure, palette
from trainlab.rundir import (
    ACTIVATIONS_FILE,
    DIAGNOSTICS_DIR,
    GRAD_NORMS_FILE,
    SPECTRAL_FILE,
    TIMESTEP_GRADS_FILE,
)

COLOURS = palette("tab10")


def plot_timestep_curves(
    curves: dict[str, np.ndarray], path: str | os.PathLike, title: str, overlay: bool = False
) -> Path:
    """One line per label: ||dL/dh_t|| (T,) against k = T - 1 - t, steps back from the last step,
    on a log scale, so a geometric decay is a straight line whose slope is log(rate).

    With `overlay`, curves come in pairs meant to coincide: the second of each pair is drawn dashed
    over the first."""
    path = Path(path)
    figure, axes = new_figure(figsize=(7, 4.2), layout="constrained")
    for index, (label, norms) in enumerate(curves.items()):
        norms = np.asarray(norms, dtype=np.float64)
        distance = np.arange(len(norms))[::-1]
        shown = np.where(norms > 0, norms, np.nan)
        if overlay:
            style, width = ("-", 3.0) if index % 2 == 0 else ("--", 1.2)
        else:
            style, width = ("-" if index < 10 else "--"), 1.5
        axes.semilogy(distance, shown, style, lw=width, color=COLOURS[index % 10], label=label)
    axes.set_xlabel("k: steps back from the last step (where the loss is read)")
    axes.set_ylabel("||dL/dh_t||")
    axes.set_title(title, fontsize=9)
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=7, ncol=2)
    figure.savefig(path, dpi=100)
    return path


def plot_layer_heatmap(
    steps: np.ndarray, layers: list[str], layer_norms: np.ndarray, path: str | os.PathLike
) -> Path:
    """Per-layer gradient norms (S, L) as a layers x steps heatmap with a log colour scale."""
    path = Path(path)
    figure, axes = new_figure(figsize=(8, 0.35 * len(layers) + 2), layout="constrained")
    values = np.where(layer_norms > 0, layer_norms, np.nan).T
    finite = values[np.isfinite(values)]
    norm = LogNorm(vmin=finite.min(), vmax=finite.max()) if finite.size else None
    image = axes.imshow(values, aspect="auto", interpolation="nearest", norm=norm, cmap="viridis",
                        extent=(steps[0] - 0.5, steps[-1] + 0.5, len(layers) - 0.5, -0.5))
    axes.set_yticks(range(len(layers)), layers, fontsize=7)
    axes.set_xlabel("optimizer step")
    axes.set_title("gradient norm per layer (before clipping)", fontsize=9)
    figure.colorbar(image, ax=axes, label="||grad||")
    figure.savefig(path, dpi=100)
    return path


def plot_gradient_norm_curves(arrays: dict[str, np.ndarray], path: str | os.PathLike) -> Path:
    """Each layer's gradient norm per step, and the global norm before and after clipping."""
    path = Path(path)
    figure, (left, right) = new_figure(1, 2, figsize=(11, 3.8), layout="constrained")
    steps = arrays["steps"]
    for index, name in enumerate(arrays["layers"]):
        left.semilogy(steps, arrays["layer_norms"][:, index], color=COLOURS[index % 10], label=str(name), lw=0.8)
    left.set_title("per-layer gradient norm", fontsize=9)
    left.legend(fontsize=6)
    right.semilogy(steps, arrays["global_before"], label="before clipping", lw=0.8)
    if len(arrays["global_after"]) == len(steps):
        right.semilogy(steps, arrays["global_after"], label="after clipping", lw=0.8)
        clipped = int((arrays["global_after"] < arrays["global_before"] * (1 - 1e-5)).sum())
        right.set_title(f"global gradient norm ({clipped} of {len(steps)} steps clipped)", fontsize=9)
    right.legend(fontsize=7)
    for axes in (left, right):
        axes.set_xlabel("optimizer step")
        axes.grid(alpha=0.3)
    figure.savefig(path, dpi=100)
    return path


def plot_eigenvalues(panels: dict[str, dict[str, np.ndarray]], path: str | os.PathLike) -> Path:
    """One panel per title: eigenvalues {"before": ..., "after": ...} in the complex plane, with
    the unit circle (outside it a linear recurrence explodes, inside it vanishes)."""
    path = Path(path)
    count = max(len(panels), 1)
    figure, axes = new_figure(1, count, figsize=(3.4 * count, 3.6), layout="constrained", squeeze=False)
    circle = np.exp(1j * np.linspace(0, 2 * np.pi, 200))
    for panel, (title, snapshots) in zip(axes[0], panels.items()):
        panel.plot(circle.real, circle.imag, color="black", lw=0.8)
        for when, marker, colour in (("before", "o", "#999999"), ("after", "x", "#c0504d")):
            values = snapshots.get(when)
            if values is not None and len(values):
                radius = np.abs(values).max()
                panel.scatter(values.real, values.imag, s=10, marker=marker, color=colour,
                              label=f"{when} (radius {radius:.2f})")
        panel.set_aspect("equal")
        panel.set_title(title, fontsize=8)
        panel.legend(fontsize=6, loc="lower left")
        panel.grid(alpha=0.3)
    figure.savefig(path, dpi=100)
    return path


def plot_hidden_states(
    states: np.ndarray, path: str | os.PathLike, title: str = "hidden state (units x time)"
) -> Path:
    """states (T, H) of one input as a units x time heatmap."""
    path = Path(path)
    figure, axes = new_figure(figsize=(8, 3.5), layout="constrained")
    image = axes.imshow(np.asarray(states).T, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1,
                        interpolation="nearest")
    axes.set_xlabel("time step")
    axes.set_ylabel("unit")
    axes.set_title(title, fontsize=9)
    figure.colorbar(image, ax=axes)
    figure.savefig(path, dpi=100)
    return path


# Reading run and study directories -------------------------------------------------------------------


def read_eigenvalues(run_dir: str | os.PathLike) -> dict[str, dict[str, np.ndarray]]:
    """{matrix: {"before": eigenvalues, "after": eigenvalues}} from RUN_DIR/diagnostics/spectral.npz."""
    run_dir = Path(run_dir)
    path = run_dir / DIAGNOSTICS_DIR / SPECTRAL_FILE
    if not path.is_file():
        return {}
    matrices: dict[str, dict[str, np.ndarray]] = {}
    with np.load(path) as arrays:
        for key in arrays.files:
            when, name = key.split("/", 1)
            matrices.setdefault(name, {})[when] = arrays[key]
    return matrices


def plot_diagnostics_run(run_dir: str | os.PathLike) -> list[Path]:
    """Every diagnostics figure a run directory's arrays allow, into RUN_DIR/plots."""
    run_dir = Path(run_dir)
    directory = run_dir / DIAGNOSTICS_DIR
    plots_dir = run_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    written = []
    if (directory / GRAD_NORMS_FILE).is_file():
        with np.load(directory / GRAD_NORMS_FILE) as loaded:
            arrays = {key: loaded[key] for key in loaded.files}
        if len(arrays["steps"]):
            written.append(plot_layer_heatmap(arrays["steps"], [str(n) for n in arrays["layers"]],
                                              arrays["layer_norms"], plots_dir / "grad_norm_heatmap.png"))
            written.append(plot_gradient_norm_curves(arrays, plots_dir / "grad_norms.png"))
    if (directory / TIMESTEP_GRADS_FILE).is_file():
        with np.load(directory / TIMESTEP_GRADS_FILE) as loaded:
            epochs, norms = loaded["epochs"], loaded["norms"]
        curves = {f"after epoch {epoch}" if epoch else "before training": norms[index, -1]
                  for index, epoch in enumerate(epochs)}
        written.append(plot_timestep_curves(curves, plots_dir / "timestep_grads.png",
                                            "||dL/dh_t|| of the last recurrent layer"))
    eigenvalues = read_eigenvalues(run_dir)
    if eigenvalues:
        written.append(plot_eigenvalues(eigenvalues, plots_dir / "eigenvalues.png"))
    if (directory / ACTIVATIONS_FILE).is_file():
        with np.load(directory / ACTIVATIONS_FILE) as loaded:
            arrays = {key: loaded[key] for key in loaded.files}
        written.append(plot_hidden_states(arrays["hidden_states"], plots_dir / "hidden_states.png",
                                          "hidden state of the first test input (units x time)"))
        gates = {key.removeprefix("gate_"): values for key, values in arrays.items() if key.startswith("gate_")}
        if gates:
            written.append(plot_gate_means(gates, plots_dir / "gate_means.png"))
    return written


def plot_gate_means(gates: dict[str, np.ndarray], path: str | os.PathLike) -> Path:
    """Each gate's mean over the batch and the units, per time step (LSTM: a forget gate near 1
    keeps the cell; GRU: an update gate near 1 keeps the state)."""
    path = Path(path)
    figure, axes = new_figure(figsize=(7, 3.5), layout="constrained")
    for index, (name, values) in enumerate(gates.items()):
        axes.plot(np.arange(len(values)), values, color=COLOURS[index % 10], label=name)
    axes.set_xlabel("time step")
    axes.set_ylabel("mean gate value")
    axes.set_title("gate means over time (first layer, up to 64 test inputs)", fontsize=9)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)
    figure.savefig(path, dpi=100)
    return path


def mean_timestep_curve(arm_dir: str | os.PathLike, seeds: int, when: str) -> np.ndarray | None:
    """The geometric mean over seeds of the last layer's ||dL/dh_t||, before training ("initial")
    or after the last epoch ("final"); geometric because the norms span orders of magnitude."""
    arm_dir = Path(arm_dir)
    curves = []
    for seed in range(seeds):
        path = arm_dir / f"seed-{seed}" / DIAGNOSTICS_DIR / TIMESTEP_GRADS_FILE
        if path.is_file():
            with np.load(path) as loaded:
                norms = loaded["norms"]
            if len(norms):
                curves.append(norms[0 if when == "initial" else -1, -1])
    if not curves:
        return None
    with np.errstate(divide="ignore"):
        return np.exp(np.mean(np.log(np.stack(curves)), axis=0))


def plot_loss_vs_baseline(summary: dict[str, Any], path: str | os.PathLike) -> Path:
    """Test loss / memoryless baseline per arm (mean and 95% CI), one panel per task and length."""
    path = Path(path)
    rows = summary["rows"]
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        task, length, _ = row["arm"].split("-", 2)
        groups.setdefault(f"{task}, T={length}", []).append(row)
    figure, axes = new_figure(1, len(groups), figsize=(4.2 * len(groups), 4), layout="constrained",
                                squeeze=False, gridspec_kw={"width_ratios": [len(g) + 1 for g in groups.values()]})
    for panel, (title, members) in zip(axes[0], groups.items()):
        values = [mean_and_half_width(row.get("loss_vs_memoryless")) for row in members]
        means, errors = [mean for mean, _ in values], [half for _, half in values]
        panel.bar(range(len(members)), means, yerr=errors, capsize=3, color="#4a7ab5")
        panel.axhline(1.0, color="black", linestyle="--", lw=1, label="memoryless baseline")
        panel.axhline(0.5, color="#c0504d", linestyle=":", lw=1, label="half of it")
        panel.set_xticks(range(len(members)), [row["arm"].split("-", 2)[2] for row in members],
                         rotation=60, ha="right", fontsize=7)
        panel.set_title(title, fontsize=9)
        panel.set_ylabel("test loss / memoryless loss")
        panel.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    figure.savefig(path, dpi=100)
    return path


def plot_study_eigenvalues(
    study_dir: str | os.PathLike, arms: list[str], labels: dict[str, str], path: str | os.PathLike
) -> Path | None:
    """W_hh eigenvalues of seed 0 of each arm (the forget-gate block for an LSTM, the update-gate
    block for a GRU) before and after training."""
    study_dir = Path(study_dir)
    path = Path(path)
    panels = {}
    for arm in arms:
        matrices = read_eigenvalues(study_dir / arm / "seed-0")
        if not matrices:
            continue
        name = next((n for n in matrices if n.endswith((".forget", ".update"))), next(iter(matrices)))
        panels[f"{labels.get(arm, arm)}\n{name.rsplit('.', 1)[-1] if '.' in name else ''}"] = matrices[name]
    if not panels:
        return None
    return plot_eigenvalues(panels, path)


def plot_layer_profiles(
    profiles: dict[str, np.ndarray], path: str | os.PathLike, title: str
) -> Path:
    """One line per label: gradient norm (log scale) against the weight layer's index from the
    input, so a gradient that vanishes on its way down shows as a line falling to the left."""
    path = Path(path)
    figure, axes = new_figure(figsize=(7, 4), layout="constrained")
    for index, (label, norms) in enumerate(profiles.items()):
        axes.semilogy(np.arange(1, len(norms) + 1), np.where(norms > 0, norms, np.nan),
                      color=COLOURS[index % 10], marker="." if len(norms) < 30 else None, label=label)
    axes.set_xlabel("weight layer (1 = next to the input)")
    axes.set_ylabel("||grad||")
    axes.set_title(title, fontsize=9)
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=7)
    figure.savefig(path, dpi=100)
    return path

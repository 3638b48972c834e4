"""Study `vanishing-gradients`: measured dL/dh_t against sequence length, cell and initialisation.

On the adding problem (Le et al. 2015's form: values in [0, 1], one marker in each half) and the
copy task, every arm is one recurrent network of the `sequence-classification` task with the
diagnostics switched on, so each run writes the norm of dL/dh_t for every step (autograd through
the real recurrence, on a fixed validation batch, before training and after every epoch), the
eigenvalues of W_hh before and after training, and per-layer gradient norms at every step.

Arms are named `<task>-<length>-<configuration>`: the vanilla tanh RNN with torch's default
initialisation, Xavier, orthogonal scaled to spectral radius 0.5 / 1.0 / 1.5 (1.5 with and without
gradient clipping), the relu RNN with identity initialisation (IRNN), the LSTM with forget-gate
bias 1 or chrono initialisation, and the GRU. The headline metric is the test loss divided by the
memoryless baseline (adding: the variance of the target, 1/6; copy: 10 log(8) / (T + 20)): about 1
means the network learnt nothing about the past.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

from trainlab import registry, rundir
from trainlab.pipelines import sequence  # noqa: F401  (registers the sequence-classification task)
from trainlab.studies.plan import Arm, StudyPlan

# name -> (label, model section, clip the gradients)
CONFIGURATIONS: dict[str, tuple[str, dict[str, Any], bool]] = {
    "rnn-tanh": ("RNN tanh, default init", {"name": "rnn", "nonlinearity": "tanh"}, True),
    "rnn-tanh-xavier": ("RNN tanh, Xavier", {"name": "rnn", "init": "xavier"}, True),
    "rnn-tanh-orth-0.5": ("RNN tanh, orthogonal x0.5", {"name": "rnn", "init": "orthogonal",
                                                        "spectral_radius": 0.5}, True),
    "rnn-tanh-orth-1.0": ("RNN tanh, orthogonal x1.0", {"name": "rnn", "init": "orthogonal",
                                                        "spectral_radius": 1.0}, True),
    "rnn-tanh-orth-1.5": ("RNN tanh, orthogonal x1.5", {"name": "rnn", "init": "orthogonal",
                                                        "spectral_radius": 1.5}, True),
    "rnn-tanh-orth-1.5-noclip": ("RNN tanh, orthogonal x1.5, no clipping",
                                 {"name": "rnn", "init": "orthogonal", "spectral_radius": 1.5}, False),
    "irnn": ("IRNN (relu, identity)", {"name": "rnn", "nonlinearity": "relu", "init": "identity"}, True),
    "lstm": ("LSTM, forget bias 1", {"name": "lstm", "forget_bias": 1.0}, True),
    "lstm-chrono": ("LSTM, chrono init", {"name": "lstm", "chrono": True}, True),
    "gru": ("GRU", {"name": "gru"}, True),
}
# The two configurations the finding compares.
VANILLA, GATED = "rnn-tanh", "lstm"
TASK_SOURCES = {"adding": "adding-uniform", "copy": "copy"}
CLIP_NORM = 1.0


def quick_grid() -> list[tuple[str, int, list[str]]]:
    """(task, length, configurations): short and long adding problems, one short copy task."""
    return [
        ("adding", 10, [VANILLA, GATED]),
        ("adding", 50, list(CONFIGURATIONS)),
        ("copy", 10, [VANILLA, GATED]),
    ]


def full_grid() -> list[tuple[str, int, list[str]]]:
    return [(task, length, list(CONFIGURATIONS)) for task in TASK_SOURCES for length in (10, 50, 100, 200)]


def base_setting(scale: str, task: str) -> dict[str, Any]:
    quick = scale == "quick"
    return {
        "task": "sequence-classification",
        "data": {"source": TASK_SOURCES[task], "num_examples": 6000 if quick else 20_000, "batch_size": 64,
                 "val_fraction": 0.1, "test_fraction": 0.2},
        "model": {"hidden_size": 32 if quick else 128},
        "optim": {"name": "adam", "lr": 0.01 if quick else 0.001},
        "train": {"epochs": 10 if quick else 50, "restore_best": True},
        "diagnostics": {"grad_norms": True, "timestep_grads": True, "spectral": True, "activations": True,
                        "probe_examples": 64},
    }


def arm_name(task: str, length: int, configuration: str) -> str:
    return f"{task}-{length}-{configuration}"


def parse_arm(name: str) -> tuple[str, int, str]:
    task, length, configuration = name.split("-", 2)
    return task, int(length), configuration


@registry.studies.register("vanishing-gradients", "measured dL/dh_t: RNN vs LSTM/GRU, inits, clipping, lengths")
def vanishing_gradients(scale: str) -> StudyPlan:
    grid = quick_grid() if scale == "quick" else full_grid()
    arms = []
    for task, length, configurations in grid:
        for configuration in configurations:
            label, model, clip = CONFIGURATIONS[configuration]
            config = copy.deepcopy(base_setting(scale, task))
            config["data"]["sequence_length"] = length
            config["model"].update(model)
            if clip:
                config["train"]["grad_clip_norm"] = CLIP_NORM
            arms.append(Arm(arm_name(task, length, configuration), config, label=f"{task} T={length}: {label}"))
    longest = max(length for task, length, _ in grid if task == "adding")
    comparisons = [(arm_name("adding", longest, GATED), arm_name("adding", longest, VANILLA)),
                   (arm_name("adding", longest, "gru"), arm_name("adding", longest, VANILLA))]
    data_note = (
        "synthetic, offline: the adding problem (values in [0, 1], one marker per half; 6,000 sequences, "
        "70/10/20 split) at T = 10 and 50, the copy task (10 symbols of 8, delay 10); hidden 32, Adam 1e-2, "
        f"batch 64, 10 epochs, gradients clipped to norm {CLIP_NORM:g} unless the arm says otherwise"
        if scale == "quick" else
        "synthetic, offline: adding problem and copy task at T = 10, 50, 100, 200; 20,000 sequences, hidden "
        f"128, Adam 1e-3, batch 64, 50 epochs, gradients clipped to norm {CLIP_NORM:g} unless the arm says otherwise"
    )
    return StudyPlan(
        name="vanishing-gradients",
        question=("How fast does the gradient dL/dh_t shrink with the distance from the loss in a vanilla RNN, "
                  "how do initialisation and spectral radius change that, and do the gated cells (LSTM, GRU) "
                  "keep it alive long enough to learn the adding problem and the copy task?"),
        data_note=data_note,
        arms=arms,
        metrics=["loss_vs_memoryless", "test_loss", "solved", "grad_decay_rate_initial", "grad_decay_rate_final",
                 "grad_first_to_last_ratio", "spectral_radius_before", "spectral_radius_after", "train_seconds"],
        seeds=2 if scale == "quick" else 5,
        comparisons=comparisons,
        finding=finding,
        figures=figures,
        higher_is_better=False,
    )


def _mean(row: dict[str, Any], metric: str) -> float:
    value = row.get(metric)
    return math.nan if value is None else value["mean"]


def finding(summary: dict[str, Any]) -> str:
    """The vanilla RNN against the LSTM at the longest adding length, then the measured decay rates."""
    rows = {row["arm"]: row for row in summary["rows"]}
    lengths = sorted({parse_arm(arm)[1] for arm in rows if parse_arm(arm)[0] == "adding"})
    if not lengths:
        return "No adding-problem arms to compare."
    longest = lengths[-1]
    vanilla, gated = rows.get(arm_name("adding", longest, VANILLA)), rows.get(arm_name("adding", longest, GATED))
    parts = []
    if vanilla and gated:
        v_ratio, g_ratio = _mean(vanilla, "loss_vs_memoryless"), _mean(gated, "loss_vs_memoryless")
        verdict = "learns the task" if g_ratio < 0.5 else "does not learn it either"
        parts.append(
            f"On the adding problem at T={longest}, the vanilla tanh RNN ends at {v_ratio:.2f}x the memoryless "
            f"baseline's loss (1.0 = it learnt nothing about the past), while the LSTM {verdict} "
            f"({g_ratio:.2f}x; solved in {_mean(gated, 'solved'):.0%} of seeds)")
        v_rate, g_rate = _mean(vanilla, "grad_decay_rate_initial"), _mean(gated, "grad_decay_rate_initial")
        if math.isfinite(v_rate) and math.isfinite(g_rate):
            parts.append(
                f"Before training, the RNN's dL/dh_t shrinks by a factor {v_rate:.3f} per step back in time "
                f"({v_rate ** (longest - 1):.1e} over the whole sequence), the LSTM's by {g_rate:.3f} "
                f"({g_rate ** (longest - 1):.1e})")
    scaled = [(c, rows.get(arm_name("adding", longest, c))) for c in
              ("rnn-tanh-orth-0.5", "rnn-tanh-orth-1.0", "rnn-tanh-orth-1.5")]
    rates = [f"radius {c.rsplit('-', 1)[1]}: {_mean(row, 'grad_decay_rate_initial'):.3f}" for c, row in scaled if row]
    if rates:
        parts.append("Per-step decay rate at initialisation by spectral radius of W_hh, "
                     f"{'; '.join(rates)} (a tanh RNN cannot exceed the radius: tanh' <= 1)")
    return ". ".join(parts) + f" (mean of {summary['seeds']} seeds)."


def figures(study_dir: Path, summary: dict[str, Any]) -> list[Path]:
    from trainlab.reports import diagnostics_plots

    plots_dir = study_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    arms = [row["arm"] for row in summary["rows"]]
    labels = {row["arm"]: row["label"] for row in summary["rows"]}
    paths = []
    groups: dict[tuple[str, int], list[str]] = {}
    for arm in arms:
        task, length, _ = parse_arm(arm)
        groups.setdefault((task, length), []).append(arm)
    for (task, length), members in groups.items():
        for when in ("initial", "final"):
            curves = {}
            for arm in members:
                curve = diagnostics_plots.mean_timestep_curve(study_dir / arm, summary["seeds"], when)
                if curve is not None:
                    curves[labels[arm].split(": ", 1)[-1]] = curve
            if curves:
                title = (f"{task}, T={length}: ||dL/dh_t|| {'before training' if when == 'initial' else 'after training'}"
                         f" (mean of {summary['seeds']} seeds)")
                paths.append(diagnostics_plots.plot_timestep_curves(
                    curves, plots_dir / f"timestep_grads_{task}_{length}_{when}.png", title))
    paths.append(diagnostics_plots.plot_loss_vs_baseline(summary, plots_dir / "loss_vs_memoryless.png"))
    eigen_arms = [arm for arm in arms if parse_arm(arm)[2] in (VANILLA, "rnn-tanh-orth-1.5", "irnn", GATED)
                  and parse_arm(arm)[1] == max(parse_arm(a)[1] for a in arms)]
    eigen_path = diagnostics_plots.plot_study_eigenvalues(
        study_dir, eigen_arms, labels, plots_dir / "eigenvalues.png")
    if eigen_path is not None:
        paths.append(eigen_path)
    return paths

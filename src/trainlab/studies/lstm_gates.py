"""Study `lstm-gates`: which parts of the LSTM matter? Greff et al. 2017's ablation on two tasks.

Greff, Srivastava, Koutník, Steunebrink and Schmidhuber, "LSTM: A Search Space Odyssey" (IEEE
TNNLS 2017), trained eight one-change variants of the LSTM on speech, handwriting and music and
found: the forget gate and the output activation are the most critical components (NFG and NOAF
hurt most); coupling the input and forget gates (CIFG) costs nearly nothing; removing the input
gate, the output gate or the input activation (NIG, NOG, NIAF) hurts less than those two; full
gate recurrence (FGR) does not help; peepholes make no significant difference. Their vanilla LSTM
had peepholes; ours is torch's, without, and `peepholes` is the variant that adds them.

Every variant (models/recurrent_cells.py) runs here on the same step-by-step cell, the vanilla one
included (`model.unrolled`), so their time per epoch compares like with like, on two tasks of
different kinds with the same budget each: a character-level language model (test bits per
character) and the adding problem (test loss / the memoryless baseline's). Both metrics are lower
is better; the headline, `final_metric`, is the task's own. `vs_vanilla` is each run's metric
divided by the vanilla run's of the same seed and task (1.0 = as good as vanilla); on the adding
problem, where a run either has learnt the task by the end or not, that ratio swings widely.

The comparison with Greff et al. is computed from the results, per task:
- a variant's effect is its mean metric minus vanilla's (positive: worse); the damage scale is
  the largest effect of any variant on that task; a "small" effect is at most SMALL_EFFECT of it;
- "NFG and NOAF most critical": both are the two worst variants (agrees), one of them is (partly);
- "CIFG nearly free": its effect is small or negative;
- "NIG, NOG, NIAF smaller effects": each does less damage than both NFG and NOAF (partly: some);
- "FGR no help" and "peepholes no help": not significantly better than vanilla (Welch's 95%
  interval over seeds; with one seed, not better by more than a small effect).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

from trainlab import registry, rundir
from trainlab.metrics.statistics import difference, mean_and_half_width
from trainlab.models.recurrent_cells import VARIANTS
from trainlab.pipelines import sequence  # noqa: F401  (registers the sequence-classification task)
from trainlab.reports.figures import new_figure
from trainlab.studies.plan import Arm, StudyPlan

TASKS = ("lm", "adding")
TASK_METRICS = {"lm": "test_bpc", "adding": "loss_vs_memoryless"}  # both: lower is better
VARIANT_LABELS = {"vanilla": "vanilla", "nig": "NIG", "nfg": "NFG", "nog": "NOG", "niaf": "NIAF", "noaf": "NOAF",
                  "cifg": "CIFG", "peepholes": "peepholes", "fgr": "FGR"}
SMALL_EFFECT = 0.25  # of the worst variant's damage on the task
CRITICAL = ("nfg", "noaf")
MINOR = ("nig", "nog", "niaf")


def settings(scale: str) -> tuple[dict[str, dict[str, Any]], dict[str, str], str]:
    """Per task: the config (without the variant), a label, and the data note of the study."""
    quick = scale == "quick"
    lm = {
        "task": "language-model",
        "data": {"source": "python-stdlib", "tokenizer": "char", "val_fraction": 0.05, "test_fraction": 0.05,
                 "limit": 20_000 if quick else 400_000, "chunk_length": 32 if quick else 64,
                 "batch_size": 32},
        "model": {"name": "lstm", "hidden_size": 64 if quick else 128, "layers": 1},
        "optim": {"name": "adam", "lr": 0.01 if quick else 0.003},
        "train": {"epochs": 3 if quick else 8, "grad_clip_norm": 5.0},
    }
    length = 15 if quick else 50
    adding = {
        "task": "sequence-classification",
        "data": {"source": "adding-uniform", "sequence_length": length, "num_examples": 2000 if quick else 10_000,
                 "batch_size": 32, "val_fraction": 0.1, "test_fraction": 0.2},
        "model": {"name": "lstm", "hidden_size": 32 if quick else 64},
        "optim": {"name": "adam", "lr": 0.01 if quick else 0.003},
        "train": {"epochs": 7 if quick else 20, "grad_clip_norm": 1.0},
    }
    labels = {"lm": "character LM (Python source)", "adding": f"adding problem, T={length}"}
    if quick:
        note = ("lm: characters of the Python standard library's source (offline), the first 20,000 characters "
                "of each split, chunks of 32, batch 32, 1x64 LSTM, Adam 1e-2, 3 epochs; adding: the adding problem "
                "(values in [0, 1]) at T=15, 2,000 sequences (70/10/20), 1x32 LSTM, Adam 1e-2, batch 32, 7 epochs. "
                "Every variant on the step-by-step cell")
    else:
        note = ("lm: characters of the Python standard library's source (offline), the first 400,000 characters "
                "of each split, chunks of 64, batch 32, 1x128 LSTM, Adam 3e-3, 8 epochs; adding: T=50, 10,000 "
                "sequences, 1x64 LSTM, Adam 3e-3, 20 epochs. Every variant on the step-by-step cell")
    return {"lm": lm, "adding": adding}, labels, note


def arm_name(task: str, variant: str) -> str:
    return f"{task}-{variant}"


def parse_arm(name: str) -> tuple[str, str]:
    task, variant = name.split("-", 1)
    return task, variant


@registry.studies.register("lstm-gates", "Greff et al.'s LSTM ablation: which gates matter, on a char LM and adding")
def lstm_gates(scale: str) -> StudyPlan:
    configs, labels, note = settings(scale)
    arms = []
    for task in TASKS:
        for variant in VARIANTS:
            config = copy.deepcopy(configs[task])
            # The vanilla arm too runs step by step: the same code path for every arm's time per epoch.
            config["model"].update(variant=variant, unrolled=True)
            arms.append(Arm(arm_name(task, variant), config, label=f"{labels[task]}: {VARIANT_LABELS[variant]}"))
    return StudyPlan(
        name="lstm-gates",
        question=("Which parts of the LSTM matter? Each of Greff et al.'s one-change variants (no input, forget or "
                  "output gate, no input or output activation, coupled input-forget gate, peepholes, full gate "
                  "recurrence) against the vanilla cell, on a language model and a memory task, same budget each; "
                  "does the ranking agree with 'LSTM: A Search Space Odyssey'?"),
        data_note=note,
        arms=arms,
        metrics=["final_metric", "vs_vanilla", "test_bpc", "loss_vs_memoryless", "test_loss", "seconds_per_epoch",
                 "train_seconds"],
        seeds=2 if scale == "quick" else 5,
        finding=finding,
        figures=figures,
        higher_is_better=False,
        run_metrics=run_metrics,
    )


def run_metrics(run_dir: Path) -> dict[str, float]:
    """`final_metric` (the task's own), `vs_vanilla` (over the same seed's vanilla run) and
    `seconds_per_epoch` (mean of history.csv) of one finished run `STUDY/<task>-<variant>/seed-k`."""
    task, _ = parse_arm(run_dir.parent.name)
    metric = TASK_METRICS[task]
    value = rundir.read_json(run_dir / rundir.METRICS_FILE).get(metric)
    extra: dict[str, float] = {}
    if value is None:
        return extra
    extra["final_metric"] = float(value)
    vanilla_file = run_dir.parent.parent / arm_name(task, "vanilla") / run_dir.name / rundir.METRICS_FILE
    if vanilla_file.is_file():
        vanilla = rundir.read_json(vanilla_file).get(metric)
        if vanilla:
            extra["vs_vanilla"] = float(value) / float(vanilla)
    seconds = [row["seconds"] for row in rundir.read_history(run_dir) if "seconds" in row]
    if seconds:
        extra["seconds_per_epoch"] = sum(seconds) / len(seconds)
    return extra


# ----------------------------------------------------------------------------- the analysis


def task_results(summary: dict[str, Any], task: str) -> dict[str, list[float]]:
    """variant -> the task metric of each seed (only the variants that have one)."""
    found = {}
    for row in summary["rows"]:
        row_task, variant = parse_arm(row["arm"])
        if row_task == task and row.get("final_metric") is not None:
            found[variant] = row["final_metric"]["values"]
    return found


def effects(results: dict[str, list[float]]) -> dict[str, dict[str, Any]]:
    """Per variant but vanilla: mean effect (variant - vanilla, positive = worse), its share of the
    worst variant's damage, and Welch's difference over seeds."""
    vanilla = results["vanilla"]
    base = sum(vanilla) / len(vanilla)
    found = {}
    for variant, values in results.items():
        if variant == "vanilla":
            continue
        found[variant] = {"effect": sum(values) / len(values) - base,
                          "difference": difference(values, vanilla).to_dict()}
    worst = max((item["effect"] for item in found.values()), default=0.0)
    for item in found.values():
        item["share_of_worst"] = item["effect"] / worst if worst > 0 else None
    return found


def ranking(results: dict[str, list[float]]) -> list[str]:
    """Variants from best (lowest mean metric) to worst."""
    return sorted(results, key=lambda variant: sum(results[variant]) / len(results[variant]))


def _small(item: dict[str, Any]) -> bool:
    return item["effect"] <= 0 or (item["share_of_worst"] is not None and item["share_of_worst"] <= SMALL_EFFECT)


def _no_help(item: dict[str, Any], worst_effect: float) -> bool:
    """Not significantly better than vanilla (one seed: not better by more than a small effect)."""
    significant = item["difference"]["significant"]
    if significant is None:
        return item["effect"] >= -SMALL_EFFECT * max(worst_effect, 0.0)
    return not (significant and item["effect"] < 0)


def greff_checks(results: dict[str, list[float]]) -> dict[str, dict[str, Any]]:
    """Each of Greff et al.'s claims on one task: {"verdict": agrees|partly|disagrees|missing, "detail"}."""
    found = effects(results)
    worst_effect = max((item["effect"] for item in found.values()), default=0.0)
    order = [variant for variant in ranking(results) if variant != "vanilla"]
    checks: dict[str, dict[str, Any]] = {}

    def share(variant: str) -> str:
        item = found[variant]
        relative = item["share_of_worst"]
        text = f"{VARIANT_LABELS[variant]} {item['effect']:+.3g}"
        return text + (f" ({relative:.0%} of the worst)" if relative is not None else "")

    if all(variant in found for variant in CRITICAL):
        worst_two = order[-2:]
        hits = sum(variant in worst_two for variant in CRITICAL)
        checks["critical"] = {"verdict": ("agrees", "partly", "disagrees")[2 - hits],
                              "detail": f"worst two: {', '.join(VARIANT_LABELS[v] for v in reversed(worst_two))}"}
    if "cifg" in found:
        checks["cifg"] = {"verdict": "agrees" if _small(found["cifg"]) else "disagrees", "detail": share("cifg")}
    minor = [variant for variant in MINOR if variant in found]
    if minor and all(variant in found for variant in CRITICAL):
        least_critical = min(found[variant]["effect"] for variant in CRITICAL)
        smaller = [variant for variant in minor if found[variant]["effect"] < least_critical]
        verdict = "agrees" if len(smaller) == len(minor) else "partly" if smaller else "disagrees"
        checks["minor"] = {"verdict": verdict, "detail": "; ".join(share(variant) for variant in minor)}
    for key, variant in (("fgr", "fgr"), ("peepholes", "peepholes")):
        if variant in found:
            item = found[variant]
            verdict = "agrees" if _no_help(item, worst_effect) else "disagrees"
            significance = item["difference"]["significant"]
            note = "" if significance is None else (" (significant)" if significance else " (not significant)")
            checks[key] = {"verdict": verdict, "detail": share(variant) + note}
    return checks


CLAIMS = {
    "critical": "the forget gate and the output activation are the most critical (NFG and NOAF the worst)",
    "cifg": "coupling the input and forget gates (CIFG) is nearly free",
    "minor": "removing the input gate, the output gate or the input activation (NIG, NOG, NIAF) hurts less",
    "fgr": "full gate recurrence (FGR) does not help",
    "peepholes": "peepholes do not help significantly",
}


def add_views(summary: dict[str, Any]) -> dict[str, Any]:
    """Rankings, effects, comparisons on each task's metric and the checks against Greff et al.,
    added to the summary in place (idempotent)."""
    if "greff" in summary:
        return summary
    summary["ranking"], summary["effects"], checks_by_task = {}, {}, {}
    for task in TASKS:
        results = task_results(summary, task)
        if "vanilla" not in results:
            continue
        summary["ranking"][task] = ranking(results)
        summary["effects"][task] = effects(results)
        checks_by_task[task] = greff_checks(results)
        for variant, item in summary["effects"][task].items():
            summary["comparisons"].append({"a": arm_name(task, variant), "b": arm_name(task, "vanilla"),
                                           "metric": TASK_METRICS[task], **item["difference"]})
    summary["greff"] = {
        claim: {"claim": text, **{task: checks[claim] for task, checks in checks_by_task.items() if claim in checks}}
        for claim, text in CLAIMS.items()
    }
    summary["narrative"] = narrative(summary)
    return summary


def _overall(entry: dict[str, Any]) -> str:
    verdicts = {task: entry[task]["verdict"] for task in TASKS if task in entry}
    if not verdicts:
        return "not measured"
    if len(set(verdicts.values())) == 1:
        verdict = next(iter(verdicts.values()))
        return f"{verdict} on {'both tasks' if len(verdicts) == 2 else 'the task measured'}"
    return "; ".join(f"{verdict} on {task}" for task, verdict in verdicts.items())


def narrative(summary: dict[str, Any]) -> list[str]:
    """Paragraphs for the report: the ranking per task, then each claim of Greff et al. against it."""
    paragraphs = []
    for task, order in summary["ranking"].items():
        rows = {parse_arm(row["arm"])[1]: row for row in summary["rows"] if parse_arm(row["arm"])[0] == task}
        ranked = ", ".join(f"{VARIANT_LABELS[v]} {rows[v]['final_metric']['mean']:.4g}" for v in order)
        paragraphs.append(f"{task} ({TASK_METRICS[task]}, best first): {ranked}.")
    for entry in summary["greff"].values():
        details = "; ".join(f"{task}: {entry[task]['detail']}" for task in TASKS if task in entry)
        paragraphs.append(f"Greff et al.: {entry['claim']}. Here: {_overall(entry)} ({details}).")
    paragraphs.append(f"Effects are the mean metric minus vanilla's (positive = worse) over {summary['seeds']} seed(s); "
                      f"'small' is at most {SMALL_EFFECT:.0%} of the worst variant's effect on the task.")
    return paragraphs


def finding(summary: dict[str, Any]) -> str:
    """The worst variants per task and how many of Greff et al.'s claims hold on both tasks."""
    add_views(summary)
    parts = []
    for task, order in summary["ranking"].items():
        worst = [VARIANT_LABELS[v] for v in reversed(order[-2:])]
        cifg = summary["effects"][task].get("cifg")
        cost = f", CIFG {cifg['effect']:+.3g}" if cifg else ""
        parts.append(f"{task}: worst {', '.join(worst)}{cost}")
    verdicts = [_overall(entry) for entry in summary["greff"].values()]
    agreed = sum(verdict.startswith("agrees on both") for verdict in verdicts)
    return (f"{'; '.join(parts)} ({TASK_METRICS['lm']} / {TASK_METRICS['adding']} minus vanilla's). "
            f"{agreed} of {len(verdicts)} of Greff et al.'s claims hold on both tasks "
            f"(mean of {summary['seeds']} seed(s)).")


# ----------------------------------------------------------------------------- figures


def figures(study_dir: Path, summary: dict[str, Any]) -> list[Path]:
    add_views(summary)
    plots_dir = study_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    return [plot_task_metrics(summary, plots_dir / "variants_by_task.png"),
            plot_cost(summary, plots_dir / "cost.png")]


def _rows_by_variant(summary: dict[str, Any], task: str) -> dict[str, dict[str, Any]]:
    return {parse_arm(row["arm"])[1]: row for row in summary["rows"] if parse_arm(row["arm"])[0] == task}


def plot_task_metrics(summary: dict[str, Any], path: Path) -> Path:
    """Per task: each variant's final metric (mean, 95% CI over seeds), vanilla's as a line."""

    figure, axes = new_figure(1, len(TASKS), figsize=(11, 3.8), layout="constrained")
    for panel, task in zip(axes, TASKS):
        rows = _rows_by_variant(summary, task)
        variants = [v for v in VARIANTS if v in rows]
        values = [mean_and_half_width(rows[v].get("final_metric")) for v in variants]
        colours = ["#4a7ab5" if v == "vanilla" else "#d08030" if v in CRITICAL else "#999999" for v in variants]
        panel.bar(range(len(variants)), [mean for mean, _ in values], yerr=[half for _, half in values],
                  capsize=3, color=colours)
        panel.set_xticks(range(len(variants)), [VARIANT_LABELS[v] for v in variants], rotation=45, fontsize=8)
        if "vanilla" in rows and rows["vanilla"].get("final_metric"):
            panel.axhline(rows["vanilla"]["final_metric"]["mean"], color="black", linestyle="--", linewidth=1)
        finite = [mean for mean, _ in values if math.isfinite(mean)]
        if finite and task == "lm":  # bits per character differ in the second digit: zoom in
            low, high = min(finite), max(finite)
            panel.set_ylim(max(0.0, low - 0.5 * (high - low) - 0.05), high + 0.5 * (high - low) + 0.05)
        panel.set_title(f"{task}: {TASK_METRICS[task]} (lower is better; 95% CI over {summary['seeds']} seed(s))",
                        fontsize=9)
        panel.grid(axis="y", alpha=0.3)
    figure.savefig(path, dpi=100)
    return path


def plot_cost(summary: dict[str, Any], path: Path) -> Path:
    """Per task: parameters and seconds per epoch of each variant (all on the step-by-step cell)."""

    figure, axes = new_figure(2, len(TASKS), figsize=(11, 5.5), layout="constrained")
    for column, task in enumerate(TASKS):
        rows = _rows_by_variant(summary, task)
        variants = [v for v in VARIANTS if v in rows]
        ticks = [VARIANT_LABELS[v] for v in variants]
        axes[0, column].bar(range(len(variants)), [rows[v].get("params") or 0 for v in variants], color="#4a7ab5")
        axes[0, column].set_title(f"{task}: parameters", fontsize=9)
        values = [mean_and_half_width(rows[v].get("seconds_per_epoch")) for v in variants]
        axes[1, column].bar(range(len(variants)), [mean for mean, _ in values], yerr=[half for _, half in values],
                            capsize=3, color="#999999")
        axes[1, column].set_title(f"{task}: seconds per epoch", fontsize=9)
        for row in range(2):
            axes[row, column].set_xticks(range(len(variants)), ticks, rotation=45, fontsize=8)
            axes[row, column].grid(axis="y", alpha=0.3)
    figure.savefig(path, dpi=100)
    return path


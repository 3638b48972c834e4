"""Run a study: every arm with every seed as an ordinary run directory, then summary.json.

A study directory holds `<arm>/seed-<k>/` run directories, `study.json` (what was asked) and, when
every run is done, `summary.json`. Running the same study into the same directory again skips the
runs that completed, so an interrupted study continues where it stopped.
"""

from __future__ import annotations

import copy
import shutil
import time
from pathlib import Path
from typing import Any

from trainlab import runs
from trainlab.config import apply_overrides, build_config
from trainlab.errors import TrainlabError
from trainlab.studies.plan import Arm, StudyPlan
from trainlab.studies.statistics import difference, estimate

STUDY_FILE = "study.json"
SUMMARY_FILE = "summary.json"


def run_study(
    plan: StudyPlan,
    study_dir: Path,
    scale: str,
    seeds: int | None = None,
    overrides: list[tuple[str, Any]] = (),
    overwrite: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """Run (or finish) every arm x seed of `plan` into `study_dir`; returns the summary."""
    from trainlab import experiment  # imported here: the study modules load without torch work

    seeds = seeds or plan.seeds
    request = {"study": plan.name, "scale": scale, "seeds": seeds,
               "overrides": [f"{key}={value}" for key, value in overrides]}
    _prepare_study_dir(study_dir, request, overwrite)
    # Every config is validated before the first run starts: a typo fails in a second, not an hour.
    configs = {(arm.name, seed): _arm_config(arm, seed, study_dir, overrides)
               for arm in plan.arms for seed in range(seeds)}
    total = len(configs)
    for index, ((arm_name, seed), config) in enumerate(configs.items(), start=1):
        run_dir = study_dir / arm_name / f"seed-{seed}"
        if runs.is_complete(run_dir):
            continue
        if not quiet:
            runs.say(f"[{index}/{total}] {plan.name}: {arm_name}, seed {seed}")
        started = time.perf_counter()
        metrics = experiment.train_run(config, run_dir, overwrite=True, quiet=True)
        if not quiet:
            headline = plan.metrics[0]
            value = metrics.get(headline)
            shown = f"{value:.4f}" if isinstance(value, float) else value
            runs.say(f"    {headline} {shown} ({time.perf_counter() - started:.0f} s)")
    summary = summarize(plan, study_dir, seeds, scale)
    runs.write_json(study_dir / SUMMARY_FILE, summary)
    return summary


def _prepare_study_dir(study_dir: Path, request: dict[str, Any], overwrite: bool) -> None:
    study_file = study_dir / STUDY_FILE
    if study_file.is_file() and not overwrite:
        previous = runs.read_json(study_file)
        if previous != request:
            raise TrainlabError(
                f"'{study_dir}' holds another study run ({previous['study']}, scale {previous['scale']}, "
                f"{previous['seeds']} seeds, overrides {previous['overrides']}); choose another --out "
                "or add --overwrite"
            )
        return  # the same study again: finish what is missing
    if study_dir.is_dir() and any(study_dir.iterdir()):
        if not study_file.is_file():
            raise TrainlabError(
                f"'{study_dir}' is not empty and holds no {STUDY_FILE}; choose another --out"
            )
        shutil.rmtree(study_dir)  # --overwrite of a study directory
    study_dir.mkdir(parents=True, exist_ok=True)
    runs.write_json(study_file, request)


def _arm_config(arm: Arm, seed: int, study_dir: Path, overrides: list[tuple[str, Any]]):
    raw = _fill(copy.deepcopy(arm.config), {"study_dir": str(study_dir), "seed": str(seed)})
    raw = apply_overrides(raw, [*overrides, ("run.seed", seed)])
    return build_config(raw)


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, text in names.items():
            value = value.replace("{" + name + "}", text)
        return value
    if isinstance(value, dict):
        return {key: _fill(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, names) for item in value]
    return value


def summarize(plan: StudyPlan, study_dir: Path, seeds: int, scale: str) -> dict[str, Any]:
    """Each arm's metrics over seeds (mean, std, 95% CI), the comparisons and the finding."""
    values: dict[str, dict[str, list[float]]] = {}
    rows = []
    for arm in plan.arms:
        per_seed = [runs.read_json(study_dir / arm.name / f"seed-{seed}" / runs.METRICS_FILE)
                    for seed in range(seeds)]
        values[arm.name] = {
            metric: [float(metrics[metric]) for metrics in per_seed if metrics.get(metric) is not None]
            for metric in plan.metrics
        }
        row: dict[str, Any] = {"arm": arm.name, "label": arm.label or arm.name,
                               "params": per_seed[0].get("params")}
        for metric, metric_values in values[arm.name].items():
            row[metric] = estimate(metric_values).to_dict() if metric_values else None
        rows.append(row)
    headline = plan.metrics[0]
    comparisons = [
        {"a": a, "b": b, "metric": headline,
         **difference(values[a][headline], values[b][headline]).to_dict()}
        for a, b in plan.comparisons
    ]
    summary: dict[str, Any] = {
        "study": plan.name,
        "question": plan.question,
        "data": plan.data_note,
        "scale": scale,
        "seeds": seeds,
        "headline_metric": headline,
        "higher_is_better": plan.higher_is_better,
        "metrics": plan.metrics,
        "rows": rows,
        "comparisons": comparisons,
    }
    best = max if plan.higher_is_better else min
    summary["best_arm"] = best(
        (row for row in rows if row[headline] is not None), key=lambda row: row[headline]["mean"]
    )["arm"]
    summary["finding"] = plan.finding(summary) if plan.finding else _default_finding(summary)
    return summary


def _default_finding(summary: dict[str, Any]) -> str:
    headline = summary["headline_metric"]
    row = next(row for row in summary["rows"] if row["arm"] == summary["best_arm"])
    return f"{row['label']} has the best {headline}: {row[headline]['mean']:.4f} (mean of {summary['seeds']} seeds)."

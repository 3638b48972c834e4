"""A sweep's summary, read from its Optuna study: the table of trials, the best config and
parameter importances, written next to the trials' run directories.

    OUT/trials.csv, OUT/trials.json   one row per trial: number, state, value, parameters, run dir
    OUT/best_config.yaml              the best trial's config (`trainlab train --config` reruns it)
    OUT/summary.json                  study, metric, counts by state, best trial, importances
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from trainlab import rundir, runs
from trainlab.sweeps.settings import SweepSettings

TRIAL_FILE = "trial.json"  # in each trial's run directory: its number, parameters and outcome
SUMMARY_FILE = "summary.json"
TRIALS_CSV = "trials.csv"
TRIALS_JSON = "trials.json"
BEST_CONFIG_FILE = "best_config.yaml"


def trial_dir_name(number: int) -> str:
    return f"trial-{number:04d}"


def counts_toward_total(trial: Any) -> bool:
    """Whether a trial is one of the sweep's requested trials: finished, pruned, running, or
    diverged. Trials interrupted (Ctrl-C, a killed worker) and surplus ones are run again; queued
    ones (study.enqueue_trial) count once a worker takes them."""
    state = trial.state.name
    if state in ("COMPLETE", "PRUNED", "RUNNING"):
        return True
    return state == "FAIL" and trial.user_attrs.get("outcome") == "diverged"


def trial_rows(study: Any, settings: SweepSettings) -> list[dict[str, Any]]:
    rows = []
    for trial in study.get_trials(deepcopy=False):
        if trial.user_attrs.get("outcome") == "surplus":
            continue
        state = trial.state.name
        if state == "FAIL":
            state = "DIVERGED" if trial.user_attrs.get("outcome") == "diverged" else "FAIL"
        row: dict[str, Any] = {"number": trial.number, "state": state, "value": trial.value}
        for parameter in settings.space:
            stored = trial.params.get(parameter.key)
            row[parameter.key] = None if stored is None else parameter.config_value(stored)
        duration = trial.duration.total_seconds() if trial.duration is not None else None
        row.update({"pruned_epoch": trial.user_attrs.get("pruned_epoch"), "seconds": duration,
                    "worker": trial.user_attrs.get("worker"), "run_dir": trial.user_attrs.get("run_dir")})
        rows.append(row)
    return rows


def parameter_importances(optuna: Any, study: Any, completed: int) -> tuple[dict[str, float] | None, str | None]:
    """Optuna's importances (fraction of the objective's variance each parameter explains), or why
    there are none."""
    if completed < 2:
        return None, f"parameter importances need at least 2 completed trials; this sweep has {completed}"
    try:
        importances = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError) as error:  # e.g. every completed trial had the same values
        return None, f"parameter importances could not be computed: {error}"
    return {key: float(value) for key, value in importances.items()}, None


def write_summary(
    optuna: Any, study: Any, settings: SweepSettings, out: Path, storage_url: str, requested: int
) -> dict[str, Any]:
    """Write the trials table, the best config and summary.json; returns the summary."""
    rows = trial_rows(study, settings)
    _write_table(rows, out / TRIALS_CSV)
    runs.write_json(out / TRIALS_JSON, rows)
    states: dict[str, int] = {}
    for row in rows:
        states[row["state"]] = states.get(row["state"], 0) + 1
    completed = states.get("COMPLETE", 0)
    best = None
    if completed:
        trial = study.best_trial
        run_dir = trial.user_attrs.get("run_dir")
        best = {"number": trial.number, "value": trial.value, "run_dir": run_dir,
                "params": next(row for row in rows if row["number"] == trial.number)}
        best["params"] = {key: best["params"][key] for key in (p.key for p in settings.space)}
        config_path = out / run_dir / rundir.CONFIG_FILE if run_dir else None
        if config_path is not None and config_path.is_file():
            runs.atomic_write_text(out / BEST_CONFIG_FILE, config_path.read_text())
    importances, importance_note = parameter_importances(optuna, study, completed)
    summary = {
        "study": study.study_name,
        "storage": _without_password(storage_url),
        "metric": settings.metric,
        "direction": settings.direction,
        "sampler": settings.sampler,
        "pruner": settings.pruner,
        "trials_requested": requested,
        "trials": len(rows),
        "states": states,
        "best": best,
        "best_config": BEST_CONFIG_FILE if best else None,
        "importances": importances,
        "importance_note": importance_note,
        "space": settings.declaration()["space"],
    }
    runs.write_json(out / SUMMARY_FILE, summary)
    return summary


def _write_table(rows: list[dict[str, Any]], path: Path) -> None:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({key: _cell(value) for key, value in row.items()} for row in rows)
    runs.atomic_write_text(path, buffer.getvalue())


def _cell(value: Any) -> Any:
    return "" if value is None else value


def _without_password(url: str) -> str:
    """A database URL as it may be written to disk: postgresql://user:***@host/db."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # not a URL SQLAlchemy parses: nothing to hide that it could find
        return url

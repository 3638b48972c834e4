"""The curriculum's studies, one file each; importing this package registers them by name.

A study module registers a function `(scale) -> StudyPlan` with `registry.studies`; `run` runs a
registered study into a directory and writes its summary and report.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import time
from pathlib import Path
from typing import Any

from trainlab import registry
from trainlab.errors import TrainlabError
from trainlab.studies.plan import SCALES, Arm, StudyPlan


def default_study_dir(name: str, scale: str, root: str | os.PathLike = Path("runs")) -> Path:
    """`runs/study-<name>-<scale>-<timestamp>`."""
    root = Path(root)
    return root / f"study-{name}-{scale}-{time.strftime('%Y%m%d-%H%M%S')}"


def run(
    name: str,
    scale: str = "quick",
    seeds: int | None = None,
    study_dir: str | os.PathLike | None = None,
    overrides: list[tuple[str, Any]] = (),
    overwrite: bool = False,
    quiet: bool = False,
    jobs: int = 1,
    folds: int | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Run study `name` at `scale` (quick: offline, minutes on a laptop; full: the paper setting);
    `jobs` runs that many configurations x seeds at once, in separate processes; `folds` replaces
    the seeds by stratified k-fold cross-validation (image-classification studies)."""
    from trainlab.reports.study_report import write_study_report
    from trainlab.studies.runner import run_study

    study_dir = None if study_dir is None else Path(study_dir)
    if scale not in SCALES:
        raise TrainlabError(f"--scale {scale}: choose one of {', '.join(SCALES)}")
    if seeds is not None and seeds < 1:
        raise TrainlabError(f"--seeds {seeds}: a study needs at least one seed")
    plan = registry.studies.get(name)(scale)
    study_dir = study_dir or default_study_dir(name, scale)
    summary = run_study(plan, study_dir, scale, seeds, list(overrides), overwrite, quiet, jobs, folds)
    extra = plan.figures(study_dir, summary) if plan.figures else []
    write_study_report(study_dir, summary, extra)
    return study_dir, summary


# Every other module of this package is a study that registers itself on import.
_FRAMEWORK = {"plan", "runner"}
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _FRAMEWORK:
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["SCALES", "Arm", "StudyPlan", "default_study_dir", "run"]

"""What a study is: named configurations (arms), the seeds each runs with, what is compared."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCALES = ("quick", "full")


@dataclass(frozen=True)
class Arm:
    """One configuration of a study, as plain config data (what a YAML file would hold).

    String values may name `{study_dir}` and `{seed}`, filled in per run: an arm can start from
    the checkpoint another arm wrote with the same seed (transfer learning).
    """

    name: str
    config: dict[str, Any]
    label: str = ""  # a longer name for tables and legends; the name when empty


@dataclass
class StudyPlan:
    """A study of the curriculum: run every arm with every seed, then summarise and compare.

    Attributes:
        question: the one question the study answers, shown at the top of its report.
        data_note: which data it ran on, in words (e.g. "scikit-learn's digits, offline").
        metrics: metrics.json keys to summarise over seeds; the first is the headline.
        comparisons: pairs of arm names compared on the headline metric (first minus second).
        finding: turns the summary into the report's one-sentence finding.
        figures: extra figures from the finished study directory (paths returned).
        run_arm: runs one arm that is not a training run (a NumPy or scikit-learn experiment):
            `(config, seed, run_dir) -> metrics`; the config is the arm's plain data with the
            overrides applied. None: every arm is a training run of its config.
        check_arm: validates such a config before the first run starts (raises TrainlabError).
        callbacks: training callbacks a study adds to each training run, built from the run's
            experiment (`(experiment, run_dir) -> callbacks`), e.g. a weight-norm logger.
        run_metrics: metrics a study derives from a finished run directory (from its history, say),
            summarised over seeds like the metrics of metrics.json.
    """

    name: str
    question: str
    data_note: str
    arms: list[Arm]
    metrics: list[str]
    seeds: int = 3
    comparisons: list[tuple[str, str]] = field(default_factory=list)
    finding: Callable[[dict[str, Any]], str] | None = None
    figures: Callable[[Path, dict[str, Any]], list[Path]] | None = None
    higher_is_better: bool = True  # of the headline metric
    run_arm: Callable[[dict[str, Any], int, Path], dict[str, Any]] | None = None
    check_arm: Callable[[dict[str, Any]], None] | None = None
    callbacks: Callable[[Any, Path], list[Any]] | None = None
    run_metrics: Callable[[Path], dict[str, float]] | None = None

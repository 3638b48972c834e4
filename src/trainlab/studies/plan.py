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

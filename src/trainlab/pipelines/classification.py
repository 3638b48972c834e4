"""What every classification pipeline adds when a run ends: the confusion matrices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from trainlab import rundir, runs
from trainlab.pipelines.base import Pipeline


class ClassificationPipeline(Pipeline):
    classes: list[str]

    def finish(self, model: nn.Module, results: dict[str, dict[str, Any]], run_dir: Path) -> dict[str, Any]:
        # metrics.json keeps flat scalars; the matrices go beside it with the class names.
        confusion = {split: result.pop("confusion_matrix") for split, result in results.items()}
        runs.write_json(run_dir / rundir.CONFUSION_FILE, {"classes": self.classes, **confusion})
        return {}

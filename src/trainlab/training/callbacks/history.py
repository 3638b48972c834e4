"""Write the history of epoch logs to CSV after every epoch."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from trainlab.runs import atomic_write_text
from trainlab.training.callbacks.base import Callback
from trainlab.training.state import TrainState


class HistoryCSV(Callback):
    """Rewrites `path` from `state.history` each epoch: one row per epoch.

    Rewriting the whole (small) file keeps it equal to the history a checkpoint holds, so a run
    resumed from that checkpoint never shows an epoch twice or skips one.
    """

    order = 20

    def __init__(self, path: Path):
        self.path = Path(path)

    def on_fit_start(self, state: TrainState) -> None:
        if state.history:  # resumed: drop rows written after the checkpoint
            self._write(state.history)

    def on_epoch_end(self, state: TrainState) -> None:
        self._write(state.history)

    def _write(self, rows: list[dict[str, Any]]) -> None:
        columns: list[str] = []
        for row in rows:
            columns += [key for key in row if key not in columns]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(self.path, buffer.getvalue())

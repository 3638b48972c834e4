"""Show training progress: a live bar on a terminal, one line per epoch otherwise."""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from trainlab.training.callbacks.base import Callback
from trainlab.training.state import TrainState


class ProgressDisplay(Callback):
    """A rich progress bar per epoch when `stream` is a terminal, and a summary line per epoch.

    `quiet=True` shows nothing. Goes to stderr by default, so stdout stays for results.
    """

    order = 50  # after the callbacks that add to the epoch logs

    def __init__(self, quiet: bool = False, stream: TextIO | None = None):
        self.quiet = quiet
        self.console = Console(file=stream or sys.stderr, highlight=False, soft_wrap=True)
        self.live = self.console.is_terminal and not quiet
        self._progress: Progress | None = None
        self._task = None

    def on_epoch_start(self, state: TrainState) -> None:
        if not self.live:
            return
        self._progress = Progress(
            TextColumn(f"epoch {state.epoch + 1}/{state.max_epochs}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self._task = self._progress.add_task("train", total=state.steps_per_epoch)
        self._progress.start()

    def on_batch_end(self, state: TrainState) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=state.batch_index + 1)

    def on_epoch_end(self, state: TrainState) -> None:
        self._close()
        if self.quiet:
            return
        shown = "  ".join(
            f"{key} {value:.4g}"
            for key, value in state.logs.items()
            if key == "lr" or key.endswith(("_loss", "_accuracy"))
        )
        seconds = state.logs.get("seconds", 0.0)
        self.console.print(f"epoch {state.epoch}/{state.max_epochs}  {shown}  ({seconds:.1f}s)")

    def on_fit_end(self, state: TrainState) -> None:
        self._close()
        if state.stop_reason and not state.diverged and not self.quiet:  # divergence is an error
            self.console.print(state.stop_reason)

    def _close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

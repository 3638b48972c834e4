"""`--data SOURCE` for any task: a builtin dataset name or a path, read by the task's loader."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from trainlab import registry
from trainlab.config import DataConfig, build_data_config
from trainlab.errors import TrainlabError
from trainlab.runs import say


def load_source(task: str, data: DataConfig) -> Any:
    """The splits of `data.source` for `task`; an unknown source gets one line with the choices.

    `data` may be any data section (a plain `DataConfig(source=...)` in a notebook): it is read as
    the options of the task's kind of data, with their defaults where it sets none."""
    section = registry.tasks.get(task).data_section
    if not isinstance(data, section):
        data = build_data_config(data.model_dump(exclude_unset=True), task)
    # The task names its loader as "module:function", imported only now (pandas, Pillow cost time).
    loader = registry.tasks.get(task).loader
    source = data.source
    if source in registry.datasets:
        made_for = registry.datasets.entry(source).task
        if made_for != task:
            raise TrainlabError(f"--data {source} is a dataset for {made_for}; it cannot feed task {task}")
    elif not Path(source).exists():
        builtin = [entry.name for entry in registry.datasets.entries() if entry.task == task]
        close = difflib.get_close_matches(source, builtin, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise TrainlabError(
            f"--data {source}: neither a builtin {task} dataset{hint} nor an existing path; "
            f"builtin: {', '.join(builtin) or 'none'}"
        )
    return registry.imported(loader)(data)


def builtin_splits(task: str, data: DataConfig, own_splits: str) -> Any | None:
    """The splits of the builtin dataset `data.source` (made for `task`), or None when the source
    is not a builtin name; `own_splits` says how the builtin splits itself, for the note printed
    when data.test or data.val is given too."""
    if data.source not in registry.datasets:
        return None
    entry = registry.datasets.entry(data.source)
    if entry.task != task:
        raise TrainlabError(f"--data {data.source} is a {entry.task} dataset, not a {task} one")
    if data.test is not None or data.val is not None:
        say(f"note: data.test / data.val apply to {own_splits}")
    return entry.builder(data)


def guess_task(source: str) -> str:
    """The task a source is for: a builtin's own task, or one read off the path's form."""
    if source in registry.datasets:
        return registry.datasets.entry(source).task
    path = Path(source)
    if path.is_dir():
        has_texts = any(path.rglob("*.txt"))
        return "text-classification" if has_texts else "image-classification"
    if path.suffix.lower() in (".tsv", ".jsonl"):
        return "text-classification"
    if path.suffix.lower() == ".txt":
        return "language-model"
    raise TrainlabError(
        f"--data {source}: say what it is for with --task (forecast or text-classification for a CSV)"
    )

"""Name -> builder tables for models, datasets, tasks and studies.

Builders register themselves with a decorator where they are defined; before a table is first read,
the package whose import registers its builtin entries is imported (models, datasets, tasks or
studies: only that one, so listing models imports no study and predicting loads no dataset).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from trainlab.errors import TrainlabError

Builder = TypeVar("Builder", bound=Callable[..., Any])



@dataclass(frozen=True)
class Entry(Generic[Builder]):
    name: str
    builder: Builder
    summary: str
    config_class: type | None = None  # models: the config section with the model's options
    task: str | None = None  # datasets and models: the task they are made for, e.g. "forecast"


class Registry(Generic[Builder]):
    """A table of named builders; an unknown name is an error that lists the choices.

    One name may be registered once per task (`lstm` classifies texts and forecasts series); a
    lookup with a task picks that task's entry.
    """

    def __init__(self, kind: str, builtins: str | None = None):
        self.kind = kind
        self.builtins = builtins  # the module whose import registers the builtin entries, if any
        self._entries: dict[tuple[str, str | None], Entry[Builder]] = {}

    def register(
        self, name: str, summary: str = "", config_class: type | None = None, task: str | None = None
    ) -> Callable[[Builder], Builder]:
        def decorate(builder: Builder) -> Builder:
            if (name, task) in self._entries:
                for_task = f" for {task}" if task else ""
                raise ValueError(f"{self.kind} '{name}' is registered twice{for_task}")
            first_doc_line = (builder.__doc__ or "").strip().split("\n")[0]
            self._entries[name, task] = Entry(name, builder, summary or first_doc_line, config_class, task)
            return builder

        return decorate

    def entry(self, name: str, task: str | None = None) -> Entry[Builder]:
        self._load_builtins()
        candidates = [entry for (known, _), entry in self._entries.items() if known == name]
        if not candidates:
            raise TrainlabError(unknown_name_message(self.kind, name, self.names(task)))
        if task is not None:
            for_task = [entry for entry in candidates if entry.task in (task, None)]
            if not for_task:
                tasks = sorted(str(entry.task) for entry in candidates)
                made_for = tasks[0] if len(tasks) == 1 else f"{', '.join(tasks[:-1])} and {tasks[-1]}"
                raise TrainlabError(
                    f"{self.kind} '{name}' is for {made_for}, not {task}; "
                    f"choices for {task}: {', '.join(self.names(task)) or 'none yet'}"
                )
            candidates = for_task
        if len(candidates) > 1:
            tasks = ", ".join(sorted(str(entry.task) for entry in candidates))
            raise ValueError(f"{self.kind} '{name}' exists for several tasks ({tasks}): name the task")
        return candidates[0]

    def get(self, name: str, task: str | None = None) -> Builder:
        return self.entry(name, task).builder

    def __contains__(self, name: str) -> bool:
        return name in self.names()

    def _load_builtins(self) -> None:
        if self.builtins is not None:
            importlib.import_module(self.builtins)

    def names(self, task: str | None = None) -> list[str]:
        """Every registered name, or those usable for `task`."""
        return sorted({entry.name for entry in self.entries(task)})

    def entries(self, task: str | None = None) -> list[Entry[Builder]]:
        self._load_builtins()
        chosen = [entry for entry in self._entries.values() if task is None or entry.task in (task, None)]
        return sorted(chosen, key=lambda entry: (entry.name, entry.task or ""))


def unknown_name_message(kind: str, name: str, choices: list[str]) -> str:
    """"unknown model 'resnt18' (did you mean 'resnet18'?); choices: ..." for any kind of name."""
    close = difflib.get_close_matches(name, choices, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {kind} '{name}'{hint}; choices: {', '.join(choices) or 'none yet'}"


def imported(target: str) -> Callable[..., Any]:
    """The function `target` names as "module:function", imported now: a task names its loader
    this way so that listing tasks imports no pandas or Pillow."""
    module, function = target.split(":")
    return getattr(importlib.import_module(module), function)


models: Registry = Registry("model", "trainlab.models")
datasets: Registry = Registry("dataset", "trainlab.data.builtins")
tasks: Registry = Registry("task", "trainlab.pipelines")
studies: Registry = Registry("study", "trainlab.studies")

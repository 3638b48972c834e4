"""Name -> builder tables for models, datasets, tasks and studies.

Builders register themselves with a decorator where they are defined; `load_builtins` imports those
modules so that every table is full before anyone looks a name up.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from trainlab.errors import TrainlabError

Builder = TypeVar("Builder", bound=Callable[..., Any])

# Modules whose import registers the builtin entries.
_BUILTIN_MODULES = ("trainlab.models", "trainlab.data", "trainlab.training.tasks")


@dataclass(frozen=True)
class Entry(Generic[Builder]):
    name: str
    builder: Builder
    summary: str
    config_class: type | None = None  # models: the config section with the model's options
    task: str | None = None  # datasets: the task they are made for, e.g. "text-classification"


class Registry(Generic[Builder]):
    """A table of named builders; an unknown name is an error that lists the choices."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry[Builder]] = {}

    def register(
        self, name: str, summary: str = "", config_class: type | None = None, task: str | None = None
    ) -> Callable[[Builder], Builder]:
        def decorate(builder: Builder) -> Builder:
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            first_doc_line = (builder.__doc__ or "").strip().split("\n")[0]
            self._entries[name] = Entry(name, builder, summary or first_doc_line, config_class, task)
            return builder

        return decorate

    def entry(self, name: str) -> Entry[Builder]:
        load_builtins()
        if name not in self._entries:
            raise TrainlabError(unknown_name_message(self.kind, name, self.names()))
        return self._entries[name]

    def get(self, name: str) -> Builder:
        return self.entry(name).builder

    def __contains__(self, name: str) -> bool:
        load_builtins()
        return name in self._entries

    def names(self) -> list[str]:
        load_builtins()
        return sorted(self._entries)

    def entries(self) -> list[Entry[Builder]]:
        return [self._entries[name] for name in self.names()]


def unknown_name_message(kind: str, name: str, choices: list[str]) -> str:
    """"unknown model 'resnt18' (did you mean 'resnet18'?); choices: ..." for any kind of name."""
    close = difflib.get_close_matches(name, choices, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {kind} '{name}'{hint}; choices: {', '.join(choices) or 'none yet'}"


def load_builtins() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


models: Registry = Registry("model")
datasets: Registry = Registry("dataset")
tasks: Registry = Registry("task")
studies: Registry = Registry("study")

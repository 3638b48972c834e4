"""The base of every config section: unknown keys are errors, assignments are validated too."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


class Section(BaseModel):
    """A config section: unknown keys are errors, assignments are validated too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


class NamedSection(Section):
    """A section chosen by name; a bare string is shorthand for `{name: ...}` (`optim=sgd`)."""

    name: str

    @model_validator(mode="before")
    @classmethod
    def _name_shorthand(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data

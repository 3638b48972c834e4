"""The table `trainlab list models` prints, computed from the model registry and written to
trainlab/model_catalogue.py, so that the listing imports no torch (its import alone takes 1.6-2.4 s
on a 2-core machine; the listing itself, a few milliseconds).

The registry stays the owner: tests/test_model_catalogue.py fails when the written table differs
from the registry's, and `python -m trainlab.models.catalogue` rewrites it.
"""

from __future__ import annotations

from pathlib import Path

from trainlab import registry
from trainlab.models import reference_parameter_count

CATALOGUE_MODULE = Path(__file__).resolve().parents[1] / "model_catalogue.py"
REFERENCE_NOTE = ("parameters (M) for 3x32x32 images with 10 classes, texts with a 20,000-word vocabulary "
                  "and 2 classes, one series of 24-step windows, language models over 67 characters")


def registry_rows() -> tuple[tuple[str, str | None, int | None, str], ...]:
    """(name, task, parameters on the task's reference data or None, summary) of every model a
    task of `trainlab train` can use, in the registry's order."""
    tasks = registry.tasks.names()
    return tuple((entry.name, entry.task, reference_parameter_count(entry.name, entry.task), entry.summary)
                 for entry in registry.models.entries() if entry.task is None or entry.task in tasks)


def module_text(rows: tuple[tuple[str, str | None, int | None, str], ...]) -> str:
    return (
        '"""The models `trainlab list models` prints. Written by `python -m trainlab.models.catalogue`\n'
        'from the model registry; do not edit (tests/test_model_catalogue.py checks it)."""\n\n'
        f"REFERENCE_NOTE = {REFERENCE_NOTE!r}\n\n"
        "# (name, task, parameters on the task's reference data or None, summary)\n"
        "MODELS = (\n" + "".join(f"    {row!r},\n" for row in rows) + ")\n"
    )


def main() -> None:
    CATALOGUE_MODULE.write_text(module_text(registry_rows()))
    print(f"wrote {CATALOGUE_MODULE}")


if __name__ == "__main__":
    main()

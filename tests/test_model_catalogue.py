"""`trainlab list models` prints a table written from the model registry (models/catalogue.py), so
that it imports no torch; the table must stay what the registry computes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from trainlab import model_catalogue
from trainlab.models.catalogue import module_text, registry_rows


def test_the_written_table_is_the_registrys():
    rows = registry_rows()
    assert model_catalogue.MODELS == rows, "the model table is stale: run python -m trainlab.models.catalogue"
    assert ("lstm", "text-classification") in {(name, task) for name, task, _, _ in rows}
    # The module written is the one imported (a hand edit would show here too).
    assert Path(model_catalogue.__file__).read_text(encoding="utf-8") == module_text(rows)


def test_listing_models_imports_no_torch():
    code = ("import contextlib, io, sys\nfrom trainlab.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n    assert main(['list', 'models']) == 0\n"
            "print('torch' in sys.modules)\nprint(out.getvalue())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    imported_torch, *listing = done.stdout.rstrip("\n").splitlines()
    assert imported_torch == "False"
    lstm = next(line for line in listing if line.split()[:2] == ["lstm", "text-classification"])
    count = next(count for name, task, count, _ in model_catalogue.MODELS
                 if (name, task) == ("lstm", "text-classification"))
    assert f"{count / 1e6:.2f}M" in lstm.split()  # the parameters, in millions
    assert listing[-1] == model_catalogue.REFERENCE_NOTE

"""Quick commands load only what they use: listing models or predicting with a run imports no
study, dataset module, pandas, scipy, scikit-learn, matplotlib or torch._dynamo (each costs from
tenths of a second to seconds, paid on every call of a shell loop)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch._dynamo", "pandas", "scipy", "sklearn", "matplotlib", "statsmodels", "trainlab.studies",
         "trainlab.data.builtins")

RUN = """
import contextlib, io, sys
from trainlab.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
assert code == 0, code
print(" ".join(name for name in {heavy!r} if name in sys.modules) or "none")
"""


def loaded_by(*command: str) -> str:
    done = subprocess.run([sys.executable, "-c", RUN.format(heavy=HEAVY), *command], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_listing_models_loads_nothing_heavy():
    # The listing reads the table written from the registry (models/catalogue.py; no torch at
    # all, tests/test_model_catalogue.py).
    assert loaded_by("list", "models") == "none"


def test_predicting_loads_nothing_heavy(tmp_path, trainlab):
    run_dir = tmp_path / "digits"
    code, _, err = trainlab("train", "image-classification", "--data", "digits", "--out", str(run_dir),
                            "train.epochs=1", "data.limit=60")
    assert code == 0, err
    image = tmp_path / "digit.png"
    from PIL import Image

    Image.new("L", (8, 8), 128).save(image)
    assert loaded_by("predict", str(run_dir), str(image), str(image)) == "none"


def test_training_on_images_loads_no_table_library(tmp_path):
    # Looking a dataset up registers every builtin, the series among them; those import pandas
    # (0.2 s) and statsmodels only when a series is loaded, so an image run pays for neither.
    loaded = loaded_by("train", "image-classification", "--data", "digits", "--out", str(tmp_path / "run"),
                       "train.epochs=1", "data.limit=60", "--quiet").split()
    assert "pandas" not in loaded and "statsmodels" not in loaded, loaded


def test_training_loads_no_compiler(tmp_path):
    # torch's optimizers import torch._dynamo (about 1 s here, as long as torch itself) on their
    # first step and param group, only to mark those as not to be compiled; trainlab compiles
    # nothing, so its optimizers skip that (training/optim.py).
    loaded = loaded_by("train", "image-classification", "--data", "digits", "--out", str(tmp_path / "run"),
                       "train.epochs=1", "data.limit=60", "--quiet").split()
    assert "torch._dynamo" not in loaded, loaded

"""Every notebook in notebooks/ runs at tiny scale (nbclient, this interpreter as the kernel), offline,
and produces what it is about: its figures, and values checked in the kernel after the last cell."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import trainlab

nbformat = pytest.importorskip("nbformat", reason="notebook tests need nbformat (pip install nbformat)")
nbclient = pytest.importorskip("nbclient", reason="notebook tests need nbclient (pip install nbclient)")
pytest.importorskip("ipykernel", reason="notebook tests need ipykernel (pip install ipykernel)")

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
SOURCE_ROOT = Path(trainlab.__file__).resolve().parents[1]  # the trainlab these tests import

# What each notebook must have produced: expressions over its variables, asserted in its kernel.
CHECKS: dict[str, list[str]] = {
    "01_cnn_depth_and_residuals": [
        ('[row["arm"] for row in summary["rows"]] == '
         '["plain-8", "residual-8", "plain-20", "residual-20", "plain-56", "residual-56"]'),
        # A plain network and its residual twin: the same parameters (option-A shortcuts).
        'table["params"].tolist()[0::2] == table["params"].tolist()[1::2]',
        'study_dir / "plots" / "accuracy_vs_depth.png" in figures',
        'summary["finding"].startswith("At depth 56")',
    ],
    "02_resnext_cardinality": [
        'budget.index.tolist() == [1, 2, 4, 8, 16]',
        'budget["relative_to_1_group"].between(0.9, 1.1).all()',
        '[row["arm"] for row in summary["rows"]] == [f"cardinality-{g}" for g in (1, 2, 4, 8, 16)]',
        'study_dir / "plots" / "accuracy_vs_cardinality.png" in figures',
    ],
    "03_transfer_learning": [
        ('{"pretrain", "scratch", "frozen", "fine-tuned", "discriminative", "staged"} '
         '<= {row["arm"] for row in summary["rows"]}'),
        'study_dir / "plots" / "learning_curve.png" in figures',
        'all(0 <= row["test_accuracy"]["mean"] <= 1 for row in summary["rows"])',
    ],
    "04_vanishing_gradients": [
        'len(norms) == 5 and all(curve.shape == (LENGTH,) and (curve > 0).all() for curve in norms.values())',
        # At initialisation the vanilla RNN's gradient shrinks towards the early steps.
        'norms["RNN tanh, default init"][0] < 1e-3 * norms["RNN tanh, default init"][-1]',
        'decay.loc["RNN tanh, default init", "rate"] < 1',
        ('all(abs(r["loss_vs_memoryless"] - r["test_loss"] / adding_memoryless_mse(LENGTH)) < 1e-9 '
         'for r in results.values())'),
        '(RUNS / "adding-lstm" / "diagnostics" / "timestep_grads.npz").is_file()',
    ],
    "05_sentiment": [
        'summary["rows"][-1]["arm"] == "baseline:tfidf"',
        '"generated reviews" in summary["data"]',  # offline: no IMDB on the test machine
        'all(abs(sum(p.probabilities.values()) - 1) < 1e-5 for p in predictions)',
        'all(p.label == max(p.probabilities, key=p.probabilities.get) for p in predictions)',
        'study_dir / "plots" / "confusion_matrix.png" in figures',
    ],
    "06_rnn_vs_lstm_vs_gru": [
        'counts["LSTM"] == 4 * counts["RNN"] and counts["GRU"] == 3 * counts["RNN"]',
        'len(summary["rows"]) == 9',
        'study_dir / "plots" / "task_metrics.png" in figures',
    ],
    "07_language_modelling_and_generation": [
        'abs(metrics["test_bpc"] - metrics["test_loss"] / math.log(2)) < 1e-9',
        'metrics["baseline_bigram_bpc"] < metrics["baseline_unigram_bpc"]',
        'len(samples) == 4 and all(isinstance(text, str) and text for text in samples.values())',
        # The same seed, model and settings: the same text.
        'samples[0.5] == generate(model, encoder, prompt, 80, SamplingSettings(temperature=0.5), seed=0)',
    ],
    "08_forecasting": [
        'future.shape == (10, 1) and np.isfinite(future.to_numpy()).all()',
        'any(row["arm"].startswith("baseline") for row in summary["rows"])',
        'study_dir / "plots" / "backtest.png" in figures',
    ],
    "09_regularisation": [
        '(len(dropout["rows"]), len(decay["rows"]), len(stopping["rows"])) == (7, 7, 2)',
        ('all(abs(r["generalisation_gap"]["mean"] - (r["train_eval_accuracy"]["mean"] - r["test_accuracy"]["mean"]))'
         ' < 1e-9 for r in dropout["rows"])'),
        'stopping_dir / "plots" / "stopping_point.png" in figures',
    ],
}
# Every notebook runs by default (issue 10: they must never rot): 9-17 s each at tiny scale on an
# idle 2-core machine, kernel start included, about 2 minutes for the nine.


def check_cell(checks: list[str]):
    lines = ["import math, os, sys", "import numpy as np",
             f"assert os.path.realpath(sys.executable) == {os.path.realpath(sys.executable)!r}, sys.executable",
             f"assert trainlab_file.startswith({str(SOURCE_ROOT)!r}), trainlab_file"]
    lines += [f"assert {check}, {check!r}" for check in checks]
    return nbformat.v4.new_code_cell("import trainlab\ntrainlab_file = trainlab.__file__\n" + "\n".join(lines))


def test_every_notebook_has_checks():
    assert {path.stem for path in NOTEBOOKS} == set(CHECKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebooks_are_stored_without_outputs_and_start_with_their_scale(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell in code_cells:
        assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear its outputs"
    first = code_cells[0]
    assert "parameters" in first.metadata.get("tags", []), "the first code cell is the parameters cell"
    assert 'SCALE = os.environ.get("TRAINLAB_NOTEBOOK_SCALE", "quick")' in first.source
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")


@pytest.mark.parametrize(
    "path",
    [pytest.param(path, id=path.stem) for path in NOTEBOOKS],
)
def test_notebook_runs_at_tiny_scale_offline(path, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINLAB_NOTEBOOK_SCALE", "tiny")
    # Offline and alone: no shared data folder, an empty download cache.
    monkeypatch.setenv("TRAINLAB_SHARED_DATA", str(tmp_path / "no-shared-data"))
    monkeypatch.setenv("TRAINLAB_CACHE", str(tmp_path / "empty-cache"))
    # The kernel imports the trainlab under test (an editable install needs nothing, a checkout the path).
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(SOURCE_ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(check_cell(CHECKS[path.stem]))
    work_dir = tmp_path / "work"
    work_dir.mkdir()
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=300,
                                     resources={"metadata": {"path": str(work_dir)}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, if any cell fails

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) >= 2, f"{path.name} showed {len(images)} figures"
    assert all(cell.execution_count for cell in notebook.cells if cell.cell_type == "code")
    assert (work_dir / "notebook-runs").is_dir()  # runs went to the working directory, not the repository
    assert not (NOTEBOOKS_DIR / "notebook-runs").exists()

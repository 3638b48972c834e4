"""The Python API takes a `str` (or any os.PathLike) wherever it takes a path, as `open` does."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from trainlab import experiment, rundir
from trainlab.config import build_config
from trainlab.errors import TrainlabError
from trainlab.predict import predict
from trainlab.reports.model_summary import summarize_run
from trainlab.reports.plots import plot_run
from trainlab.reports.run_report import write_run_report

TINY_DIGITS = {
    "task": "image-classification",
    "data": {"source": "digits", "limit": 60},
    "model": {"channels": [4], "hidden_size": 8},
    "train": {"epochs": 1},
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> str:
    """A finished tiny digits run, trained into a directory given as a str."""
    run_dir = str(tmp_path_factory.mktemp("str-paths") / "run")
    experiment.train_run(build_config(TINY_DIGITS), run_dir, quiet=True)
    return run_dir


def test_train_run_takes_a_str(run_dir):
    assert rundir.is_complete(run_dir)
    assert rundir.read_json(f"{run_dir}/{rundir.METRICS_FILE}")["epochs"] == 1
    assert experiment.load_run_config(run_dir).data.source == "digits"


def test_resume_run_takes_a_str(run_dir):
    with pytest.raises(TrainlabError, match="already complete"):
        experiment.resume_run(run_dir)


def test_predict_and_the_reports_take_a_str(run_dir, tmp_path):
    image = str(tmp_path / "digit.png")
    Image.fromarray((load_digits().images[0] * 255 / 16).astype(np.uint8), mode="L").save(image)
    assert predict(run_dir, [image])[0].label in [str(digit) for digit in range(10)]
    assert all(path.is_file() for path in plot_run(run_dir))
    assert write_run_report(run_dir).name == "report.html"
    assert summarize_run(run_dir).total_parameters > 0


def test_evaluate_takes_a_str(run_dir):
    metrics = rundir.read_json(f"{run_dir}/{rundir.METRICS_FILE}")
    assert experiment.evaluate_run(run_dir, quiet=True)["test_accuracy"] == metrics["test_accuracy"]


def test_a_study_report_takes_a_str(tmp_path):
    from trainlab.reports.study_report import write_study_report

    row = {"arm": "a", "label": "a", "params": None,
           "test_accuracy": {"mean": 0.5, "std": None, "ci_low": None, "ci_high": None, "values": [0.5], "n": 1}}
    summary = {"study": "s", "question": "?", "data": "d", "scale": "quick", "seeds": 1, "rows": [row],
               "metrics": ["test_accuracy"], "headline_metric": "test_accuracy", "comparisons": [],
               "finding": "f"}
    assert write_study_report(str(tmp_path), summary).is_file()

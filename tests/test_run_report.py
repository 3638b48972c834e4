"""RUN_DIR/report.html: written when a run ends and by `trainlab report`, self-contained (every PNG of
plots/ embedded, no network), and showing what the run directory holds."""

from __future__ import annotations

import base64
import json
import re
import shutil

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from trainlab import rundir

TINY_RUN = ["train", "image-classification", "--data", "digits", "--quiet", "train.epochs=2", "data.limit=60",
            "model.channels=[4]", "model.hidden_size=8"]


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    from trainlab.cli import main

    run_dir = tmp_path_factory.mktemp("report") / "run"
    assert main([*TINY_RUN, "--out", str(run_dir)]) == 0
    return run_dir


@pytest.fixture
def run_copy(image_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(image_run, copy)
    return copy


def embedded_images(page: str) -> list[bytes]:
    return [base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def test_training_ends_with_a_self_contained_report(image_run):
    page = (image_run / "report.html").read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", page), "the report must not load anything from the network"
    assert "<script" not in page and "<link" not in page
    images = embedded_images(page)
    plots = sorted((image_run / rundir.PLOTS_DIR).glob("*.png"))
    assert {"loss", "accuracy", "confusion_matrix"} <= {path.stem for path in plots}
    for path in plots:
        assert path.read_bytes() in images, f"{path.name} is not embedded"
    assert len(images) == len(plots)


def test_report_shows_the_runs_metrics_config_and_environment(image_run):
    page = (image_run / "report.html").read_text()
    metrics = json.loads((image_run / rundir.METRICS_FILE).read_text())
    assert f"<td>test_accuracy</td><td>{metrics['test_accuracy']:.4g}</td>" in page
    assert f"{metrics['params']:,}" in page
    assert "model:" in page and "simple_cnn" in page  # the resolved config.yaml
    environment = json.loads((image_run / rundir.ENV_FILE).read_text())
    assert environment["torch"] in page
    # The model summary rebuilt from the run directory agrees with the run's own count.
    assert f"{metrics['params']:,} parameters" in page
    assert '<meta name="viewport"' in page  # readable on a phone


def test_report_scores_every_class_of_the_test_set(image_run):
    from trainlab.metrics.classification import per_class_precision_recall_f1

    page = (image_run / "report.html").read_text()
    confusion = json.loads((image_run / rundir.CONFUSION_FILE).read_text())
    counts = [sum(row) for row in confusion["test"]]
    precision, recall, f1 = per_class_precision_recall_f1(confusion["test"])
    for index, name in enumerate(confusion["classes"]):
        row = (f"<td>{name}</td><td>{counts[index]:,}</td><td>{counts[index] / sum(counts):.1%}</td>"
               f"<td>{precision[index]:.3f}</td><td>{recall[index]:.3f}</td><td>{f1[index]:.3f}</td>")
        assert row in page, name


def test_report_command_shows_figures_and_samples_other_tasks_add(trainlab, run_copy):
    figure, axes = plt.subplots()
    axes.plot([0, 1], [1, 0])
    figure.savefig(run_copy / rundir.PLOTS_DIR / "gradient_heatmap.png")
    plt.close(figure)
    samples = {"prompt": "ROMEO:", "seed": 0, "max_new_tokens": 5,
               "samples": [{"temperature": 0.5, "text": " thou art"}]}
    (run_copy / "samples.json").write_text(json.dumps(samples))
    (run_copy / "report.html").unlink()
    code, out, _ = trainlab("report", run_copy)
    assert code == 0 and out.strip() == str(run_copy / "report.html")
    page = (run_copy / "report.html").read_text()
    assert (run_copy / rundir.PLOTS_DIR / "gradient_heatmap.png").read_bytes() in embedded_images(page)
    assert "gradient heatmap" in page and "ROMEO: thou art" in page


def test_report_of_an_unfinished_run_says_so(run_copy):
    from trainlab.reports.run_report import write_run_report

    (run_copy / rundir.METRICS_FILE).unlink()
    page = write_run_report(run_copy).read_text()
    assert "This run is not complete" in page


def test_report_of_a_directory_that_is_not_a_run_is_one_clear_line(trainlab, tmp_path):
    code, _, err = trainlab("report", tmp_path)
    assert code != 0
    assert err.strip() == (f"trainlab: error: '{tmp_path}' is not a run directory (it has no config.yaml); "
                           "give a directory that `trainlab train` wrote")

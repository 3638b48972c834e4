"""`trainlab compare`: one self-contained page with each run's metrics.json values and overlaid curves."""

from __future__ import annotations

import base64
import json
import re

import pytest

from trainlab import rundir
from trainlab.reports.compare import run_labels
from trainlab.reports.run_report import number_text


def fake_run(run_dir, metrics, losses):
    run_dir.mkdir(parents=True)
    (run_dir / rundir.CONFIG_FILE).write_text("task: image-classification\n")
    (run_dir / rundir.METRICS_FILE).write_text(json.dumps(metrics))
    rows = "".join(f"{epoch},{loss},{loss + 0.1},1.0\n" for epoch, loss in enumerate(losses, start=1))
    (run_dir / rundir.HISTORY_FILE).write_text("epoch,train_loss,val_loss,seconds\n" + rows)
    return run_dir


def test_compare_page_holds_every_runs_metrics_and_overlaid_curves(trainlab, tmp_path):
    first = fake_run(tmp_path / "a" / "seed-0", {"test_accuracy": 0.91234, "params": 1234}, [1.0, 0.5])
    second = fake_run(tmp_path / "b" / "seed-0", {"test_accuracy": 0.5, "val_loss": 0.7}, [2.0, 1.5, 1.2])
    code, out, _ = trainlab("compare", first, second, "--out", tmp_path / "out")
    assert code == 0 and out.strip() == str(tmp_path / "out" / "compare.html")
    page = (tmp_path / "out" / "compare.html").read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    for run_dir in (first, second):
        for key, value in json.loads((run_dir / rundir.METRICS_FILE).read_text()).items():
            assert f"<td>{key}</td>" in page and f"<td>{number_text(value)}</td>" in page
    images = [base64.b64decode(data) for data in re.findall(r'base64,([^"]+)"', page)]
    plots = sorted((tmp_path / "out" / rundir.PLOTS_DIR).glob("*.png"))
    assert [path.stem for path in plots] == ["train_loss", "val_loss"]
    assert all(path.read_bytes() in images for path in plots)
    assert "a/seed-0" in page and "b/seed-0" in page  # runs of the same name told apart


def test_labels_add_parents_only_while_names_clash(tmp_path):
    assert run_labels([tmp_path / "x" / "run1", tmp_path / "y" / "run2"]) == ["run1", "run2"]
    assert run_labels([tmp_path / "x" / "seed-0", tmp_path / "y" / "seed-0"]) == ["x/seed-0", "y/seed-0"]


@pytest.mark.parametrize("bad", ["missing", "run"])
def test_compare_refuses_non_runs_and_writing_into_a_run(trainlab, tmp_path, bad):
    run_dir = fake_run(tmp_path / "run", {"test_accuracy": 0.5}, [1.0])
    if bad == "missing":
        code, _, err = trainlab("compare", run_dir, tmp_path / "nothing")
        assert err.strip() == (f"trainlab: error: '{tmp_path / 'nothing'}' is not a run directory (it has no "
                               "config.yaml); give directories that `trainlab train` wrote")
    else:
        code, _, err = trainlab("compare", run_dir, "--out", run_dir)
        assert err.strip() == (f"trainlab: error: --out '{run_dir}' is a run directory; its plots would be "
                               "replaced: choose another --out")
    assert code != 0

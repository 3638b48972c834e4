"""A study runs every arm x seed as an ordinary run, summarises over seeds, and resumes."""

from __future__ import annotations

import json

import pytest

from trainlab import rundir
from trainlab.errors import TrainlabError
from trainlab.metrics.statistics import difference, estimate
from trainlab.reports.study_report import write_study_report
from trainlab.studies import Arm, StudyPlan
from trainlab.studies.runner import run_study

BASE = {"task": "image-classification", "data": {"source": "digits", "limit": 120},
        "train": {"epochs": 1}}


def tiny_plan() -> StudyPlan:
    return StudyPlan(
        name="tiny",
        question="Does a CNN beat an MLP on digits?",
        data_note="scikit-learn's digits, 120 examples per split",
        arms=[Arm("mlp", {**BASE, "model": "mlp"}, label="MLP"),
              Arm("cnn", {**BASE, "model": {"name": "simple_cnn", "channels": [4]}}, label="CNN")],
        metrics=["test_accuracy", "test_loss"],
        seeds=2,
        comparisons=[("cnn", "mlp")],
    )


def test_study_summarises_every_arm_over_seeds_and_writes_a_report(tmp_path):
    study_dir = tmp_path / "study"
    summary = run_study(tiny_plan(), study_dir, "quick", quiet=True)
    assert [row["arm"] for row in summary["rows"]] == ["mlp", "cnn"]
    for row in summary["rows"]:
        seeds = [rundir.read_json(study_dir / row["arm"] / f"seed-{seed}" / "metrics.json") for seed in (0, 1)]
        assert rundir.read_json(study_dir / row["arm"] / "seed-1" / "env.json")["seed"] == 1
        assert row["test_accuracy"] == estimate([m["test_accuracy"] for m in seeds]).to_dict()
    comparison = summary["comparisons"][0]
    means = {row["arm"]: row["test_accuracy"]["mean"] for row in summary["rows"]}
    assert comparison["difference"] == pytest.approx(means["cnn"] - means["mlp"])
    # Both arms ran seeds 0 and 1: the comparison is paired by seed.
    per_seed = {row["arm"]: row["test_accuracy"]["values"] for row in summary["rows"]}
    paired = difference(per_seed["cnn"], per_seed["mlp"], paired=True)
    assert comparison == {"a": "cnn", "b": "mlp", "metric": "test_accuracy", **paired.to_dict()}
    assert summary["interval"] == ("intervals are 95% t-intervals over 2 seeds; comparisons: paired t "
                                   "(paired by seed where both arms have every seed).")
    assert summary["best_arm"] == max(means, key=means.get)
    assert json.loads((study_dir / "summary.json").read_text()) == summary

    report = write_study_report(study_dir, summary)
    text = report.read_text()
    assert "Does a CNN beat an MLP on digits?" in text and "data:image/png;base64," in text
    assert "intervals are 95% t-intervals over 2 seeds; comparisons: paired t" in text
    assert (study_dir / "plots" / "headline.png").is_file() and (study_dir / "plots" / "val_loss.png").is_file()


def test_a_rerun_skips_finished_runs_and_another_study_is_refused(tmp_path):
    study_dir = tmp_path / "study"
    plan = tiny_plan()
    plan.arms = plan.arms[:1]
    plan.comparisons = []
    run_study(plan, study_dir, "quick", seeds=1, quiet=True)
    metrics_file = study_dir / "mlp" / "seed-0" / "metrics.json"
    written = metrics_file.stat().st_mtime_ns
    run_study(plan, study_dir, "quick", seeds=1, quiet=True)
    assert metrics_file.stat().st_mtime_ns == written
    with pytest.raises(TrainlabError, match=r"holds another study run \(tiny, scale quick, 1 seeds"):
        run_study(plan, study_dir, "quick", seeds=2, quiet=True)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(TrainlabError, match="is not empty and holds no study.json"):
        run_study(plan, tmp_path / "mine", "quick", seeds=1, quiet=True, overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_a_bad_override_fails_before_any_run(tmp_path):
    with pytest.raises(TrainlabError, match="unknown key 'optim.lrr'"):
        run_study(tiny_plan(), tmp_path / "study", "quick", overrides=[("optim.lrr", 1.0)], quiet=True)
    assert not any((tmp_path / "study").glob("*/seed-*"))


def test_the_results_table_shows_counts_readably_and_no_interval_where_seeds_agree():
    from trainlab.reports.study_report import results_table

    def estimate(mean, low, high):
        return {"mean": mean, "ci_low": low, "ci_high": high}

    summary = {"metrics": ["multiply_adds", "test_accuracy"], "rows": [
        {"label": "resnet", "params": 269722,
         "multiply_adds": estimate(15850000.0, 15850000.0, 15850000.0),
         "test_accuracy": estimate(0.91234, 0.9, 0.92)},
    ]}
    table = results_table(summary)
    assert "269,722" in table
    assert "15.85 M<" in table  # one count, not "1.585e+07 ± 0"
    assert "0.9123 ± 0.01" in table


def test_a_study_with_callbacks_trains_with_the_trainer_train_builds(tmp_path, monkeypatch):
    """Studies add their callbacks to the Trainer `trainlab train` builds, rather than a copy built
    by hand (which dropped train.flush_denormals=false, inference_mode and DDP)."""
    from trainlab import experiment
    from trainlab.studies.runner import train_run_with_callbacks
    from trainlab.training.callbacks import Callback
    from trainlab.training.trainer import Trainer

    built, fitted = [], []
    build = experiment.build_experiment
    monkeypatch.setattr(experiment, "build_experiment",
                        lambda *a, **k: built.append(build(*a, **k)) or built[-1])
    built_trainers = []
    init = Trainer.__init__
    monkeypatch.setattr(Trainer, "__init__", lambda self, *a, **k: built_trainers.append(self) or init(self, *a, **k))
    fit = Trainer.fit
    monkeypatch.setattr(Trainer, "fit", lambda self, *a, **k: fitted.append(self) or fit(self, *a, **k))

    class Counting(Callback):
        epochs = 0

        def on_epoch_end(self, state):
            Counting.epochs += 1

    from trainlab.config import build_config

    config = build_config({**BASE, "model": "mlp", "train": {**BASE["train"], "flush_denormals": False}})
    train_run_with_callbacks(config, tmp_path / "run", lambda experiment, run_dir: [Counting()])
    assert fitted == built_trainers == [built[0].trainer] and Counting.epochs == config.train.epochs
    assert rundir.is_complete(tmp_path / "run")

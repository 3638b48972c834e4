"""Studies in parallel processes (`--jobs`) and by stratified k-fold cross-validation (`--folds`)."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold

from trainlab import registry, rundir
from trainlab.config import build_config
from trainlab.data.sources import load_source
from trainlab.errors import TrainlabError
from trainlab.metrics.statistics import estimate, stratified_folds
from trainlab.studies import Arm, StudyPlan
from trainlab.studies.runner import _run_in_processes, run_study, runs_started_from

TINY = {"task": "image-classification", "data": {"source": "digits", "limit": 120, "batch_size": 32},
        "model": {"name": "mlp", "hidden_sizes": [16]}, "train": {"epochs": 1}}


def test_stratified_folds_partition_the_data_with_the_class_balance_of_scikit_learn():
    labels = np.random.default_rng(0).choice(4, size=103, p=[0.4, 0.3, 0.2, 0.1])
    folds = stratified_folds(labels, 5, seed=1)
    everything = np.concatenate(folds)
    assert sorted(everything.tolist()) == list(range(103))  # disjoint and complete
    reference = [test for _, test in StratifiedKFold(5, shuffle=True, random_state=1).split(labels, labels)]
    for label in range(4):
        ours = sorted(int(np.sum(labels[fold] == label)) for fold in folds)
        theirs = sorted(int(np.sum(labels[fold] == label)) for fold in reference)
        assert ours == theirs, label
    assert max(map(len, folds)) - min(map(len, folds)) <= 1
    with pytest.raises(ValueError, match=r"`folds` \(20\) is more than the \d+ examples of class 3"):
        stratified_folds(labels, 20)


@pytest.mark.slow
def test_folds_hold_out_each_stratified_fold_once_and_summarise_over_folds(tmp_path):
    plan = StudyPlan(name="tiny-cv", question="?", data_note="digits", arms=[Arm("mlp", TINY)],
                     metrics=["val_accuracy", "test_accuracy"])
    summary = run_study(plan, tmp_path / "study", "quick", folds=3, quiet=True)
    config = build_config(TINY)
    data = load_source(config.task, config.data)
    pooled = np.concatenate([data.train[1].numpy(), data.val[1].numpy()])
    expected = stratified_folds(pooled, 3, seed=config.data.split_seed)
    values = []
    for fold in range(3):
        run_dir = tmp_path / "study" / "mlp" / f"fold-{fold}"
        info = rundir.read_json(run_dir / "data.json")
        assert info["fold"] == fold and info["folds"] == 3
        sizes = dict(re.findall(r"(train|val|test) (\d+)", info["summary"]))
        assert int(sizes["val"]) == len(expected[fold])
        assert int(sizes["train"]) == len(pooled) - len(expected[fold])
        assert int(sizes["test"]) == len(data.test[1])
        values.append(rundir.read_json(run_dir / "metrics.json")["val_accuracy"])
    row = summary["rows"][0]
    # Folds share training data: Nadeau & Bengio's variance 1/3 + 1/2 (held out / trained on).
    assert row["val_accuracy"] == estimate(values, held_out_ratio=1 / 2).to_dict()
    assert row["val_accuracy"] != estimate(values).to_dict()
    assert summary["folds"] == 3 and summary["seeds"] == 3
    assert "Nadeau & Bengio" in summary["interval"] and "over 3 folds" in summary["interval"]


def test_folds_are_refused_where_they_do_not_apply(tmp_path):
    numeric = registry.studies.get("over-underfitting")("quick")
    with pytest.raises(TrainlabError, match=r"^--folds: study over-underfitting does not train image classifiers"):
        run_study(numeric, tmp_path / "a", "quick", folds=3, quiet=True)
    plan = StudyPlan(name="tiny-cv", question="?", data_note="digits", arms=[Arm("mlp", TINY)], metrics=["val_accuracy"])
    with pytest.raises(TrainlabError, match=r"^--folds 3 and --seeds 2: give one of them"):
        run_study(plan, tmp_path / "b", "quick", seeds=2, folds=3, quiet=True)
    with pytest.raises(TrainlabError, match=r"^--jobs 0: give 1"):
        run_study(plan, tmp_path / "c", "quick", jobs=0, quiet=True)


@pytest.mark.slow  # two spawned workers each import torch: tens of seconds on a busy machine
def test_parallel_jobs_give_the_results_of_one_run_after_another(tmp_path):
    plan = registry.studies.get("over-underfitting")("quick")
    one = run_study(plan, tmp_path / "one", "quick", seeds=3, quiet=True)
    two = run_study(plan, tmp_path / "two", "quick", seeds=3, quiet=True, jobs=2)
    assert one["rows"] == two["rows"]


@pytest.mark.slow
def test_parallel_training_runs_match_sequential_ones_exactly(tmp_path):
    plan = StudyPlan(name="tiny", question="?", data_note="digits", metrics=["test_accuracy", "test_loss"],
                     arms=[Arm("mlp", TINY), Arm("wide", {**TINY, "model": {"name": "mlp", "hidden_sizes": [64]}})])
    one = run_study(plan, tmp_path / "one", "quick", seeds=2, quiet=True)
    two = run_study(plan, tmp_path / "two", "quick", seeds=2, quiet=True, jobs=2)
    assert one["rows"] == two["rows"]
    assert Counter(path.parent.parent.name for path in (tmp_path / "two").glob("*/seed-*/metrics.json")) == {
        "mlp": 2, "wide": 2}


def _pretrain_or_fine_tune(config, seed, run_dir):
    """A study arm without training: the pretraining takes a second; a fine-tuning run says
    whether the run it starts from had finished when it started."""
    if "starts_from" not in config:
        time.sleep(1.0)
        return {"started_after_its_pretraining": 1.0}
    return {"started_after_its_pretraining": float(rundir.is_complete(Path(config["starts_from"])))}


PRETRAIN_THEN_FINE_TUNE = StudyPlan(
    name="tiny-transfer", question="?", data_note="none", metrics=["started_after_its_pretraining"],
    arms=[Arm("pretrain", {}), Arm("fine-tune", {"starts_from": "{study_dir}/pretrain/seed-{seed}"})],
    run_arm=_pretrain_or_fine_tune)


def test_parallel_jobs_start_a_run_only_after_the_run_it_starts_from(tmp_path):
    # With two workers and two runs, both used to start at once: the fine-tuning run then read a
    # pretraining run that had not finished (the sentiment study's `lm` arm, transfer's fine-tuning).
    summary = run_study(PRETRAIN_THEN_FINE_TUNE, tmp_path / "study", "quick", seeds=1, quiet=True, jobs=2)
    fine_tune = rundir.read_json(tmp_path / "study" / "fine-tune" / "seed-0" / rundir.METRICS_FILE)
    assert fine_tune == {"started_after_its_pretraining": 1.0}, summary


def test_a_run_depends_on_the_runs_its_config_names():
    study_dir = Path("/studies/s")
    pending = {study_dir / "pretrain" / "seed-0": 0, study_dir / "pretrain" / "seed-1": 1,
               study_dir / "pretrain-long" / "seed-0": 2}
    fine_tune = PRETRAIN_THEN_FINE_TUNE.arms[1]
    assert runs_started_from(fine_tune, 1, study_dir, pending) == {1}
    assert runs_started_from(fine_tune, 0, study_dir, pending) == {0}  # not pretrain-long, a longer name
    checkpoint = Arm("ft", {"model": {"load_pretrained": "{study_dir}/pretrain/seed-{seed}/checkpoints/best"}})
    assert runs_started_from(checkpoint, 0, study_dir, pending) == {0}
    assert runs_started_from(PRETRAIN_THEN_FINE_TUNE.arms[0], 0, study_dir, pending) == set()


def test_runs_that_start_from_one_another_are_refused_with_what_to_do():
    pending = [(0, "a", 0, None), (1, "b", 0, None), (2, "c", 0, None)]
    reported = []
    with pytest.raises(TrainlabError) as refused:
        _run_in_processes(pending, [(), (), ()], [{1}, {0}, {0}], 2, lambda *result: reported.append(result))
    message = str(refused.value)
    assert "a seed 0, b seed 0" in message and "c seed 0" not in message, message  # c only waits
    assert "make one of their arms start from" in message, message
    assert reported == []

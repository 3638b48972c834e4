"""`trainlab tune`: the task's built-in space restricted to the model's options, a time budget
that starts no trial it expects to overrun, and the best trial (on validation) as the result."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
import yaml

from trainlab.errors import TrainlabError
from trainlab.sweeps import parse_sweep, runner
from trainlab.sweeps.tune import builtin_space, parse_budget


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("10m", 600), ("1.5h", 5400), ("600", 600)])
def test_a_budget_reads_seconds_minutes_or_hours(text, seconds):
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["ten minutes", "0m", "-5m", "10d"])
def test_a_budget_that_is_no_time_is_refused(text):
    with pytest.raises(TrainlabError, match="give a positive time such as 90s, 10m or 1h"):
        parse_budget(text)


def test_the_space_keeps_only_the_options_the_model_has():
    space, left_out = builtin_space({"task": "image-classification", "data": {"source": "digits"}})
    assert list(space) == ["optim.lr", "model.hidden_size", "model.dropout", "optim.weight_decay"]
    # An MLP has hidden_sizes (a list), not hidden_size.
    space, left_out = builtin_space({"task": "image-classification", "data": {"source": "digits"},
                                     "model": {"name": "mlp"}})
    assert left_out == ["model.hidden_size"] and "model.dropout" in space
    space, _ = builtin_space({"task": "forecast", "data": {"source": "nile"}})
    assert {"data.window", "model.normalization"} <= set(space)


def test_no_trial_starts_that_would_end_past_the_budget(monkeypatch, tmp_path):
    """Each fake trial takes 10 s on a fake clock; with 25 s the second starts at 10 s (ends at 20),
    and a third, expected to end at 30, does not start."""
    clock = {"now": 0.0}
    monkeypatch.setattr(runner, "time", SimpleNamespace(monotonic=lambda: clock["now"], sleep=time.sleep))
    values = iter([0.5, 0.3, 0.1])

    def fake_trial(optuna, trial, settings, out, quiet, after_trial):
        for parameter in settings.space:
            parameter.suggest(trial)
        trial.set_user_attr("run_dir", f"trial-{trial.number:04d}")
        clock["now"] += 10
        return next(values)

    monkeypatch.setattr(runner, "_run_trial", fake_trial)
    settings = parse_sweep({"task": "image-classification", "data": {"source": "digits"},
                            "sweep": {"space": {"optim.lr": {"type": "log-float", "low": 1e-4, "high": 1e-2}}}})
    outcome = runner.run_sweep(settings, 100, tmp_path, quiet=True, budget_seconds=25)
    assert outcome.out_of_budget and outcome.summary["trials"] == 2
    assert outcome.summary["best"]["number"] == 1  # val_loss 0.3, the lower of the two


def test_tune_searches_writes_its_sweep_and_points_at_the_best_trial(trainlab, tmp_path):
    out = tmp_path / "tune"
    code, stdout, err = trainlab("tune", "image-classification", "--data", "digits", "--budget", "10m",
                                 "--trials", 2, "--out", out, "train.epochs=1", "data.limit=400")
    assert code == 0, err
    assert stdout.strip() == str(out / "best")
    trials = json.loads((out / "trials.json").read_text())
    best = min((row for row in trials if row["state"] == "COMPLETE"), key=lambda row: row["value"])
    assert (out / "best").resolve() == (out / best["run_dir"]).resolve()
    assert (out / "best" / "metrics.json").is_file() and (out / "best" / "report.html").is_file()
    # tune.yaml is a sweep config that reruns or continues the search.
    declared = yaml.safe_load((out / "tune.yaml").read_text())
    assert declared["train"] == {"epochs": 1} and next(iter(declared["sweep"]["space"])) == "optim.lr"
    code, _, err = trainlab("sweep", "--config", out / "tune.yaml", "--trials", 3, "--out", out, "--quiet")
    assert code == 0, err
    assert len(json.loads((out / "trials.json").read_text())) == 3  # continued, not restarted


def test_a_tune_whose_trials_all_diverge_says_so(trainlab, tmp_path, monkeypatch):
    def diverged(optuna, trial, settings, out, quiet, after_trial):  # as _run_trial records one
        for parameter in settings.space:
            parameter.suggest(trial)
        trial.set_user_attr("outcome", "diverged")
        return float("nan")

    monkeypatch.setattr(runner, "_run_trial", diverged)
    code, _, err = trainlab("tune", "image-classification", "--data", "digits", "--trials", 2,
                            "--out", tmp_path / "tune")
    assert code == 2 and "none of the 2 trials completed within --budget 10m (pruned or diverged" in err

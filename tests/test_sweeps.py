"""`trainlab sweep`: the declared space, tiny sweeps on digits, parallel workers, pruning."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

optuna = pytest.importorskip("optuna")

from trainlab.errors import TrainlabError
from trainlab.sweeps import parse_sweep
from trainlab.sweeps.runner import default_storage

REPO_ROOT = Path(__file__).resolve().parents[1]
# A CNN of a few hundred weights on 300 digits per split: a trial takes well under a second.
TINY = {
    "task": "image-classification",
    "data": {"source": "digits", "limit": 300},
    "model": {"name": "simple_cnn", "channels": [4], "hidden_size": 8},
    "train": {"epochs": 2},
}


def write_config(path: Path, sweep: dict, base: dict = TINY) -> Path:
    path.write_text(yaml.safe_dump({**base, "sweep": sweep}, sort_keys=False))
    return path


def read_json(path: Path):
    return json.loads(path.read_text())


def test_the_space_parses_each_kind_with_its_bounds_and_grid_values():
    settings = parse_sweep({**TINY, "sweep": {"space": {
        "optim.lr": {"type": "log-float", "low": 1e-4, "high": 1e-2},
        "model.dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.25},
        "train.epochs": {"type": "int", "low": 2, "high": 6, "step": 2},
        "model.channels": {"type": "choice", "values": [[4], [4, 8]]},
    }}})
    lr, dropout, epochs, channels = settings.space
    assert (lr.kind, lr.low, lr.high) == ("log-float", 1e-4, 1e-2)
    assert dropout.grid_values() == [0.0, 0.25, 0.5]
    assert epochs.grid_values() == [2, 4, 6]
    # Optuna stores lists as YAML text; the trial's config gets the list back.
    assert channels.labels == ("[4]", "[4, 8]")
    assert channels.config_value("[4, 8]") == [4, 8]
    # The metric and its direction default to train.monitor (val_loss: minimise).
    assert (settings.metric, settings.direction, settings.sampler, settings.pruner) == (
        "val_loss", "minimize", "tpe", "median")
    assert settings.trial_config({"optim.lr": 0.003})["optim"] == {"lr": 0.003}
    accuracy = parse_sweep({**TINY, "train": {"monitor": "val_accuracy"},
                            "sweep": {"space": {"optim.lr": {"type": "float", "low": 0.1, "high": 0.2}}}})
    assert (accuracy.metric, accuracy.direction) == ("val_accuracy", "maximize")


@pytest.mark.parametrize(
    "sweep, message",
    [
        ({"space": {"optim.lr": {"type": "logfloat", "low": 1e-4, "high": 1e-2}}},
         "sweep.space.optim.lr: type 'logfloat' is not one of float, log-float, int, choice"),
        ({"space": {"optim.lr": {"type": "log-float", "low": 0, "high": 1e-2}}},
         ("sweep.space.optim.lr: a log-float range needs low > 0 (got low=0); use type: float for ranges "
         "that include 0")),
        ({"space": {"optim.lr": {"type": "float", "low": 0.1, "high": 0.01}}},
         "sweep.space.optim.lr: low must be below high (got low=0.1, high=0.01)"),
        ({"space": {"optim.lr": {"type": "float", "lo": 0.1, "high": 0.2}}},
         "sweep.space.optim.lr: 'lo' is not a setting of a float parameter (it takes low, high, step)"),
        ({"space": {"train.epochs": {"type": "int", "low": 1.5, "high": 3}}},
         "sweep.space.train.epochs: low must be a whole number, got 1.5"),
        ({"space": {"model.hidden_size": {"type": "choice", "values": []}}},
         ("sweep.space.model.hidden_size: a choice needs a non-empty list of values, e.g. "
         "{type: choice, values: [64, 128]}")),
        ({"space": {"model.hidden_siz": {"type": "choice", "values": [8, 16]}}},
         "sweep.space.model.hidden_siz = 8: unknown key 'model.hidden_siz' (did you mean 'model.hidden_size'?)"),
        ({"space": {"train.epochs": {"type": "int", "low": 0, "high": 3}}},
         "sweep.space.train.epochs = 0: train.epochs: Input should be greater than 0 (got 0)"),
        ({"space": {"optim.lr": 0.1}},
         ("sweep.space.optim.lr: expected a mapping with a type (float, log-float, int, choice), got 0.1; "
         "e.g. optim.lr: {type: log-float, low: 1.0e-4, high: 1.0e-2}")),
        ({"sampler": "grid", "space": {"optim.lr": {"type": "log-float", "low": 1e-4, "high": 1e-2}}},
         ("sweep.space.optim.lr: grid search needs a finite set of values, and a log-float range has none; "
         "declare it as {type: choice, values: [...]} or use sweep.sampler: tpe")),
        ({"metric": "train_loss", "space": {"optim.lr": {"type": "float", "low": 0.1, "high": 0.2}}},
         ("sweep.metric 'train_loss': trials are compared and pruned on a validation metric logged every "
         "epoch; set sweep.metric (or train.monitor) to one, e.g. val_loss")),
        ({"sampler": "bayes", "space": {}},
         "sweep.sampler: Input should be 'tpe', 'random' or 'grid' (got 'bayes')"),
        ({"space": {}}, ("sweep.space must map config keys to their ranges "
                        "(e.g. optim.lr: {type: log-float, low: 1.0e-4, high: 1.0e-2})")),
    ],
)
def test_a_bad_declaration_is_one_clear_line(sweep, message):
    with pytest.raises(TrainlabError) as raised:
        parse_sweep({**TINY, "sweep": sweep})
    assert str(raised.value) == message


def test_the_command_reports_a_bad_space_in_one_line_and_exits_2(trainlab, tmp_path):
    config = write_config(tmp_path / "bad.yaml", {"space": {"optim.lr": {"type": "int", "low": 3, "high": 1}}})
    code, _out, err = trainlab("sweep", "--config", config, "--trials", 2, "--out", tmp_path / "sweep")
    assert code == 2
    assert err == "trainlab: error: sweep.space.optim.lr: low must be below high (got low=3, high=1)\n"
    assert not (tmp_path / "sweep").exists()


def test_a_tiny_sweep_writes_every_trial_as_a_run_and_a_summary_and_continues(trainlab, tmp_path):
    config = write_config(tmp_path / "digits.yaml", {"pruner": "none", "space": {
        "optim.lr": {"type": "log-float", "low": 1e-3, "high": 3e-2},
        "model.hidden_size": {"type": "choice", "values": [8, 16]},
    }})
    out = tmp_path / "sweep"
    code, stdout, err = trainlab("sweep", "--config", config, "--trials", 3, "--out", out)
    assert code == 0, err
    assert stdout.strip().splitlines()[-1] == str(out)
    rows = read_json(out / "trials.json")
    assert [row["number"] for row in rows] == [0, 1, 2]
    for row in rows:
        run_dir = out / f"trial-{row['number']:04d}"
        assert row["run_dir"] == run_dir.name and row["state"] == "COMPLETE"
        metrics = read_json(run_dir / "metrics.json")  # a complete run directory
        assert row["value"] == metrics["val_loss"]
        run_config = yaml.safe_load((run_dir / "config.yaml").read_text())
        assert run_config["optim"]["lr"] == row["optim.lr"]
        assert run_config["model"]["hidden_size"] == row["model.hidden_size"]
        assert 1e-3 <= row["optim.lr"] <= 3e-2 and row["model.hidden_size"] in (8, 16)
        assert read_json(run_dir / "trial.json")["state"] == "COMPLETE"
        assert (run_dir / "checkpoints" / "best" / "model.safetensors").is_file()
    with open(out / "trials.csv") as handle:
        table = list(csv.DictReader(handle))
    assert [float(row["value"]) for row in table] == [row["value"] for row in rows]
    summary = read_json(out / "summary.json")
    best = min(rows, key=lambda row: row["value"])
    assert summary["best"]["number"] == best["number"] and summary["best"]["value"] == best["value"]
    assert summary["states"] == {"COMPLETE": 3}
    assert set(summary["importances"]) == {"optim.lr", "model.hidden_size"}
    assert sum(summary["importances"].values()) == pytest.approx(1.0)
    for name in ("report.html", "plots/history.png", "plots/importance.png", "sweep.db"):
        assert (out / name).is_file(), name
    # The best config reruns the best trial exactly.
    rerun = tmp_path / "rerun"
    assert trainlab("train", "--config", out / "best_config.yaml", "--out", rerun, "--quiet")[0] == 0
    assert read_json(rerun / "metrics.json")["val_loss"] == best["value"]
    # Running the command again with more trials continues the same study.
    code, _, err = trainlab("sweep", "--config", config, "--trials", 4, "--out", out, "--quiet")
    assert code == 0, err
    assert [row["number"] for row in read_json(out / "trials.json")] == [0, 1, 2, 3]
    assert (out / "trial-0003" / "metrics.json").is_file()
    # A different declaration into the same study is refused.
    changed = write_config(tmp_path / "digits.yaml", {"pruner": "none", "sampler": "random", "space": {
        "optim.lr": {"type": "log-float", "low": 1e-3, "high": 3e-2}}})
    code, _, err = trainlab("sweep", "--config", changed, "--trials", 5, "--out", out)
    assert code == 2 and "was started with another sweep declaration" in err


def test_a_trial_worse_than_the_median_is_pruned_and_its_run_ends_cleanly(tmp_path):
    from trainlab.sweeps import run_sweep

    settings = parse_sweep({**TINY, "train": {"epochs": 3}, "sweep": {
        "pruner_startup_trials": 1, "pruner_warmup_epochs": 0,
        "space": {"optim.lr": {"type": "choice", "values": [0.03, 1e-7]}},
    }})
    out = tmp_path / "sweep"
    out.mkdir()
    # The good rate first, then one too small to learn anything: the second must be pruned.
    study = optuna.create_study(study_name="prune", storage=default_storage(out))
    study.enqueue_trial({"optim.lr": 0.03})
    study.enqueue_trial({"optim.lr": 1e-7})
    outcome = run_sweep(settings, trials=2, out=out, study_name="prune", quiet=True)
    assert outcome.ran == [0, 1]
    rows = {row["number"]: row for row in read_json(out / "trials.json")}
    assert rows[0]["state"] == "COMPLETE" and rows[1]["state"] == "PRUNED"
    assert rows[1]["pruned_epoch"] == 1  # the first epoch it may be pruned at (no warm-up)
    pruned_dir = out / "trial-0001"
    assert read_json(pruned_dir / "trial.json")["state"] == "PRUNED"
    assert read_json(pruned_dir / "metrics.json")["epochs"] == 1  # ended cleanly after epoch 1

    def first_val_loss(run_dir: Path) -> float:
        with open(run_dir / "history.csv") as handle:
            return float(next(csv.DictReader(handle))["val_loss"])

    # The median of one earlier trial is that trial's value: pruned because it was worse.
    assert first_val_loss(pruned_dir) > first_val_loss(out / "trial-0000")
    assert outcome.summary["states"] == {"COMPLETE": 1, "PRUNED": 1}
    assert outcome.summary["best"]["number"] == 0
    assert outcome.summary["importances"] is None
    assert outcome.summary["importance_note"] == (
        "parameter importances need at least 2 completed trials; this sweep has 1")


# Two processes start torch: 8 s on an idle 2-core machine.
def test_two_workers_in_parallel_share_one_sqlite_study(tmp_path):
    config = write_config(tmp_path / "shared.yaml", {"pruner": "none", "space": {
        "optim.lr": {"type": "log-float", "low": 1e-3, "high": 3e-2}}})
    out = tmp_path / "sweep"
    command = [sys.executable, "-m", "trainlab", "sweep", "--config", str(config), "--trials", "4",
               "--out", str(out), "--study-name", "shared"]
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "OMP_NUM_THREADS": "1"}
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=environment) for _ in range(2)]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 0, err
    ran = [re.findall(r"^trial (\d+):", err, flags=re.MULTILINE) for _, err in outputs]
    numbers = [int(number) for worker_ran in ran for number in worker_ran]
    # Four trials in all, not four per worker; no trial run twice.
    assert sorted(numbers) == list(range(4))
    rows = read_json(out / "trials.json")
    assert sorted(row["number"] for row in rows) == list(range(4))
    assert sorted(path.name for path in out.glob("trial-*")) == [f"trial-{n:04d}" for n in range(4)]
    workers_seen = {row["worker"] for row in rows}
    assert len(workers_seen) == len([worker_ran for worker_ran in ran if worker_ran])
    # The best trial is reported once: the summary names it, and every worker that printed a best
    # printed the same one.
    best = min(rows, key=lambda row: row["value"])
    assert read_json(out / "summary.json")["best"]["number"] == best["number"]
    printed = {line for _, err in outputs for line in err.splitlines() if line.startswith("best: ")}
    assert len(printed) == 1 and printed.pop().startswith(f"best: trial {best['number']},")


def test_grid_search_visits_every_point_once_and_stops_at_the_grid_size(trainlab, tmp_path):
    config = write_config(tmp_path / "grid.yaml", {"sampler": "grid", "pruner": "none", "space": {
        "optim.lr": {"type": "choice", "values": [0.003, 0.03]},
        "model.hidden_size": {"type": "int", "low": 4, "high": 8, "step": 4},
    }}, base={**TINY, "train": {"epochs": 1}})
    out = tmp_path / "grid"
    code, _, err = trainlab("sweep", "--config", config, "--trials", 10, "--out", out)
    assert code == 0, err
    assert "the grid has 4 points: running that many trials, not 10" in err
    rows = read_json(out / "trials.json")
    assert sorted((row["optim.lr"], row["model.hidden_size"]) for row in rows) == [
        (0.003, 4), (0.003, 8), (0.03, 4), (0.03, 8)]
    assert read_json(out / "summary.json")["trials_requested"] == 4

"""`trainlab resume` after a real SIGKILL ends with the metrics of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

# Dropout draws from the RNG, the plateau schedule and early stopping keep state across epochs:
# a resume that lost any of these would end with other metrics.
SETTINGS = [
    "train.epochs=12", "model.dropout=0.3", "optim.schedule=plateau", "optim.schedule.patience=1",
    "train.early_stopping.patience=6", "data.batch_size=32",
]
TIMINGS = ("train_seconds", "samples_per_second")


def last_checkpoint_epoch(run_dir) -> int:
    try:
        return json.loads((run_dir / "checkpoints" / "last" / "state.json").read_text())["epoch"]
    except (FileNotFoundError, json.JSONDecodeError):  # not written yet, or being swapped in
        return 0


def test_resume_after_sigkill_matches_an_uninterrupted_run(trainlab, tmp_path):
    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "trainlab", "train", "image-classification", "--data", "digits",
               "--seed", "7", "--out", str(killed), "--quiet", *SETTINGS]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while last_checkpoint_epoch(killed) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, f"the run ended before it could be killed: {process.stderr.read()}"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (killed / "metrics.json").exists(), "a killed run must not look complete"
    epochs_before_resume = last_checkpoint_epoch(killed)
    assert 3 <= epochs_before_resume < 12

    code, _out, err = trainlab("resume", killed, "--quiet")
    assert code == 0, err

    unbroken = tmp_path / "unbroken"
    assert trainlab("train", "image-classification", "--data", "digits", "--seed", "7",
                    "--out", unbroken, "--quiet", *SETTINGS)[0] == 0

    def final(run_dir):
        metrics = json.loads((run_dir / "metrics.json").read_text())
        return {key: value for key, value in metrics.items() if key not in TIMINGS}

    assert final(killed) == final(unbroken)
    # The history has each epoch exactly once, with the same results.
    def rows(run_dir):
        lines = (run_dir / "history.csv").read_text().splitlines()
        return [line.rsplit(",", 1)[0] for line in lines]  # without the seconds column

    assert rows(killed) == rows(unbroken)
    environment = json.loads((killed / "env.json").read_text())
    assert len(environment["resumed"]) == 1


def test_resume_refuses_a_complete_run_and_a_folder_that_is_not_a_run(trainlab, tmp_path):
    run_dir = tmp_path / "run"
    assert trainlab("train", "image-classification", "--data", "digits", "--out", run_dir, "--quiet",
                    "train.epochs=1")[0] == 0
    code, _, err = trainlab("resume", run_dir)
    assert (code, err.strip()) == (2, f"trainlab: error: run '{run_dir}' is already complete (metrics.json exists)")
    code, _, err = trainlab("resume", tmp_path)
    assert (code, err.strip()) == (2, f"trainlab: error: '{tmp_path}' is not a run directory (it has no config.yaml)")


def test_resume_before_the_first_checkpoint_starts_over_and_matches(trainlab, tmp_path):
    """A kill before the first epoch ends leaves at most config.yaml: resume starts afresh and writes
    what the run would have written (data.json, which the figures and predict read)."""
    import shutil

    settings = ["--seed", "2", "--quiet", "train.epochs=3", "model.dropout=0.2", "optim.schedule=cosine"]
    unbroken = tmp_path / "unbroken"
    assert trainlab("train", "image-classification", "--data", "digits", "--out", unbroken, *settings)[0] == 0
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(unbroken / "config.yaml", partial / "config.yaml")
    assert trainlab("resume", partial, "--quiet")[0] == 0
    finished = json.loads((partial / "metrics.json").read_text())
    assert json.loads((partial / "data.json").read_text()) == json.loads((unbroken / "data.json").read_text())
    reference = json.loads((unbroken / "metrics.json").read_text())
    assert {k: v for k, v in finished.items() if k not in TIMINGS} == \
        {k: v for k, v in reference.items() if k not in TIMINGS}


def test_an_early_stop_survives_a_kill_before_the_metrics_were_written(trainlab, tmp_path):
    """Killed right after the checkpoint of the epoch that stopped early: resume must not train on."""
    stopped = tmp_path / "stopped"
    settings = ["--seed", "0", "--quiet", "train.epochs=40", "train.early_stopping.patience=1",
                "optim.lr=0.01"]
    assert trainlab("train", "image-classification", "--data", "digits", "--out", stopped, *settings)[0] == 0
    reference = json.loads((stopped / "metrics.json").read_text())
    assert reference["stopped_early"] and reference["epochs"] < 40
    (stopped / "metrics.json").unlink()  # as if killed between the last checkpoint and the metrics
    assert trainlab("resume", stopped, "--quiet")[0] == 0
    resumed = json.loads((stopped / "metrics.json").read_text())
    assert {k: v for k, v in resumed.items() if k not in TIMINGS} == \
        {k: v for k, v in reference.items() if k not in TIMINGS}

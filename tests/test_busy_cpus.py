"""A training command that starts on CPUs others keep busy lets torch's threads wait passively
(busy_cpus.py): chosen from /proc/loadavg's running threads, set before torch is imported, never
over a policy the user set."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from trainlab import busy_cpus


@pytest.mark.parametrize(("cpus", "others", "passive"), [(2, 0, False), (2, 1, True), (2, 2, True), (16, 7, False),
                                                         (16, 8, True), (1, 1, True), (2, None, False)])
def test_passive_waiting_when_others_keep_half_the_cpus_busy(cpus, others, passive):
    environ = {}
    note = busy_cpus.wait_passively_if_busy(environ, cpus, lambda: others)
    assert (environ == {"OMP_WAIT_POLICY": "PASSIVE"}) is passive
    assert (note is not None) is passive
    if passive:
        assert f"{others} other threads are running on {cpus} CPUs" in note


def test_a_policy_the_user_set_is_left_alone_and_the_cpus_not_even_read():
    def never():
        raise AssertionError("read the CPUs although the user chose a policy")

    environ = {"OMP_WAIT_POLICY": "ACTIVE"}
    assert busy_cpus.wait_passively_if_busy(environ, 2, never) is None
    assert environ == {"OMP_WAIT_POLICY": "ACTIVE"}


def test_busy_threads_are_the_median_reading_less_the_reader():
    readings = iter([3, 1, 3, 4, 2])
    assert busy_cpus.busy_threads_elsewhere(lambda: next(readings), samples=5, interval=0) == 2
    assert busy_cpus.busy_threads_elsewhere(lambda: 1, samples=3, interval=0) == 0
    assert busy_cpus.busy_threads_elsewhere(lambda: None, samples=3, interval=0) is None


@pytest.mark.parametrize(("text", "expected"), [("0.52 0.58 0.59 3/245 1234\n", 3), ("1.0 1.0 1.0 12/900 7", 12),
                                                ("garbage", None), ("", None)])
def test_running_threads_read_from_loadavg(tmp_path, monkeypatch, text, expected):
    path = tmp_path / "loadavg"
    path.write_text(text)
    monkeypatch.setattr(busy_cpus, "LOADAVG", path)
    assert busy_cpus.running_threads() == expected
    monkeypatch.setattr(busy_cpus, "LOADAVG", tmp_path / "absent")
    assert busy_cpus.running_threads() is None


RUN = """
import os, sys
from trainlab import busy_cpus
seen = []
busy_cpus.busy_threads_elsewhere = lambda: seen.append("torch" in sys.modules) or 64
from trainlab.cli import main
code = main(sys.argv[1:])
print(code, seen, os.environ.get("OMP_WAIT_POLICY"))
"""


@pytest.mark.parametrize("quiet", [False, True])
def test_a_training_command_chooses_the_policy_before_torch_is_imported(tmp_path, quiet):
    command = ["train", "image-classification", "--data", "digits", "--out", str(tmp_path / "run"),
               "train.epochs=1", "data.limit=60", *(["--quiet"] if quiet else [])]
    environ = {name: value for name, value in os.environ.items() if name != "OMP_WAIT_POLICY"}
    done = subprocess.run([sys.executable, "-c", RUN, *command], capture_output=True, text=True, timeout=300,
                          check=False, env=environ)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0 [False] PASSIVE"
    assert ("wait passively (OMP_WAIT_POLICY=PASSIVE)" in done.stderr) is not quiet


def test_main_called_after_torch_was_imported_sets_no_policy(tmp_path, trainlab, monkeypatch):
    # In a notebook or this test process torch is loaded already (conftest.py): a policy set now
    # would do nothing, so none is set and nothing is said.
    assert "torch" in sys.modules
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setattr(busy_cpus, "busy_threads_elsewhere", lambda: 64)
    code, _, err = trainlab("train", "image-classification", "--data", "digits", "--out", tmp_path / "run",
                            "train.epochs=1", "data.limit=60")
    assert code == 0, err
    assert "OMP_WAIT_POLICY" not in os.environ and "wait passively" not in err

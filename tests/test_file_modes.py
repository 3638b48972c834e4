"""What trainlab writes gets the permissions the user's umask asks for, like any `open`/`mkdir`.

tempfile.mkstemp/mkdtemp (and safetensors) create 0600 files and 0700 folders whatever the umask;
a run directory written that way cannot be read by a teammate or a web server serving reports.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from torch import nn

from local_server import serve
from trainlab import runs
from trainlab.data.download import Resource, fetch
from trainlab.data.extract import extract
from trainlab.training.checkpoint import save_checkpoint
from trainlab.training.state import TrainState

# (umask, mode of a new file, mode of a new folder)
UMASKS = [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)]
TINY_RUN = ["train", "image-classification", "--data", "digits", "--quiet", "train.epochs=1",
            "data.limit=60", "model.channels=[4]", "model.hidden_size=8"]


@contextmanager
def umask(value: int) -> Iterator[None]:
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


def wrong_modes(root: Path, file_mode: int, folder_mode: int) -> list[str]:
    """'path 0600 (want 0644)' for everything under `root` (itself included) with another mode."""
    wrong = []
    for path in [root, *sorted(root.rglob("*"))]:
        want = folder_mode if path.is_dir() else file_mode
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode != want:
            wrong.append(f"{path.relative_to(root.parent)} {mode:04o} (want {want:04o})")
    return wrong


@pytest.mark.parametrize("mask, file_mode, folder_mode", UMASKS)
def test_new_modes_follow_the_umask(mask, file_mode, folder_mode):
    with umask(mask):
        assert (runs.new_file_mode(), runs.new_folder_mode()) == (file_mode, folder_mode)
        assert os.umask(mask) == mask  # reading the umask left it as it was


def test_a_training_run_directory_follows_the_umask(trainlab, tmp_path):
    # One run, under 027: it tells a file made by open() (0640) from one made by mkstemp (0600).
    mask, file_mode, folder_mode = UMASKS[1]
    run_dir = tmp_path / "run"
    with umask(mask):
        code, _, err = trainlab(*TINY_RUN, "--out", run_dir)
    assert code == 0, err
    written = {path.relative_to(run_dir).as_posix() for path in run_dir.rglob("*")}
    assert {"config.yaml", "metrics.json", "report.html", "plots", "checkpoints/last/model.safetensors"} <= written
    assert wrong_modes(run_dir, file_mode, folder_mode) == []


@pytest.mark.parametrize("mask, file_mode, folder_mode", UMASKS)
def test_a_checkpoint_follows_the_umask(tmp_path, mask, file_mode, folder_mode):
    model = nn.Linear(3, 2)
    state = TrainState(model, torch.optim.SGD(model.parameters(), lr=0.1), max_epochs=1, steps_per_epoch=1,
                       callbacks=[])
    with umask(mask):
        save_checkpoint(tmp_path / "last", state)
        save_checkpoint(tmp_path / "last", state)  # replacing one too
    assert wrong_modes(tmp_path / "last", file_mode, folder_mode) == []


@pytest.mark.parametrize("mask, file_mode, folder_mode", UMASKS)
def test_downloads_and_extractions_follow_the_umask(tmp_path, monkeypatch, mask, file_mode, folder_mode):
    cache = tmp_path / "cache"
    monkeypatch.setenv("TRAINLAB_CACHE", str(cache))
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("set/a.txt")
        info.size, info.mode = 5, 0o644
        tar.addfile(info, io.BytesIO(b"alpha"))
    payload = archive.getvalue()
    with umask(mask), serve({"/set.tar.gz": payload}) as server:
        resource = Resource("toy", server.url("/set.tar.gz"), hashlib.sha256(payload).hexdigest(), "set.tar.gz")
        path = fetch(resource, quiet=True)
        extract(path, cache / "toy" / "set")
    # The archive member's own 0644 is kept (under umask 027 too, as tar does); the folders are ours.
    assert wrong_modes(cache / "toy" / "set.tar.gz", file_mode, folder_mode) == []
    assert wrong_modes(cache / "toy" / "set.tar.gz.sha256", file_mode, folder_mode) == []
    assert wrong_modes(cache / "toy" / "set", 0o644, folder_mode) == []

"""Denormals flushed to zero (in every torch thread when set first) and evaluation under inference
mode: both faster, neither changes a result beyond float32's rounding."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from trainlab.config import OptimConfig
from trainlab.data import TensorBatches
from trainlab.training import ClassificationTask, Trainer
from trainlab.training.optim import build_optimizer

DENORMAL = 1e-39  # below float32's smallest normal number, 1.18e-38


def flushed_in_this_thread() -> bool:
    # A one-element product runs in the calling thread: zero exactly when the thread flushes.
    return (torch.tensor([DENORMAL]) * 1.0).item() == 0.0


@pytest.fixture
def denormals_kept():
    """Start without flushing and leave the process as the test suite found it."""
    was_flushing = flushed_in_this_thread()
    torch.set_flush_denormal(False)
    yield
    torch.set_flush_denormal(was_flushing)


def classifier() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def test_the_experiment_flushes_denormals_unless_told_not_to_and_the_trainer_never_does(denormals_kept):
    # The flag is process state (DESIGN.md, Owners): the experiment layer sets it as the config
    # says, before it builds anything; a Trainer built in a notebook leaves the process alone.
    from trainlab.config import build_config
    from trainlab.experiment import build_experiment

    model = classifier()
    Trainer(model, ClassificationTask(3), torch.optim.SGD(model.parameters(), lr=0.1), max_epochs=1)
    assert not flushed_in_this_thread()
    raw = {"task": "image-classification", "data": {"limit": 20}, "train": {"epochs": 1}}
    build_experiment(build_config({**raw, "train": {"epochs": 1, "flush_denormals": False}}), None, quiet=True)
    assert not flushed_in_this_thread()
    build_experiment(build_config(raw), None, quiet=True)
    assert flushed_in_this_thread()


WORKER_THREADS = textwrap.dedent("""
    import sys, torch
    from trainlab.training.denormals import flush_denormals_to_zero
    if sys.argv[1] == "before":
        flush_denormals_to_zero()
    torch.set_num_threads(2)
    # Large enough that torch splits the product between its worker threads.
    tiny = torch.full((1 << 22,), {denormal})
    print(int(((tiny * 1.0) != 0).sum()))
    if sys.argv[1] == "after":
        flush_denormals_to_zero()
        print(int(((tiny * 1.0) != 0).sum()))
""").format(denormal=DENORMAL)


def surviving_denormals(when: str) -> list[int]:
    done = subprocess.run([sys.executable, "-c", WORKER_THREADS, when], capture_output=True, text=True,
                          check=True)
    return [int(line) for line in done.stdout.split()]


def test_flushing_before_torch_starts_its_threads_reaches_every_thread():
    assert surviving_denormals("before") == [0]
    kept, after = surviving_denormals("after")
    assert kept == 1 << 22  # no flushing: every product stays denormal
    if torch.get_num_threads() > 1:
        # Set late, the flag reaches the calling thread only: the worker's part stays denormal.
        assert 0 < after < 1 << 22


LAST_STEP_GRADIENT = textwrap.dedent("""
    import sys, torch
    from trainlab.training.denormals import flush_denormals_to_zero
    if sys.argv[1] == "flush":
        flush_denormals_to_zero()
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(8, 16, batch_first=True)
    inputs = torch.randn(4, 300, 8, requires_grad=True)
    outputs, _ = lstm(inputs)
    outputs[:, -1].sum().backward()
    torch.save(inputs.grad, sys.argv[2])
""")


def test_a_last_step_gradient_is_the_same_with_and_without_flushing(tmp_path):
    # The case that made flushing worth it: a gradient that enters at the last step only and
    # fades through 300 steps of an LSTM; flushing may only zero what is already below 1e-38.
    # Each in a new process: the flags of torch's threads there are the ones set at the start.
    gradients = {}
    for mode in ("keep", "flush"):
        subprocess.run([sys.executable, "-c", LAST_STEP_GRADIENT, mode, str(tmp_path / mode)], check=True)
        gradients[mode] = torch.load(tmp_path / mode)
    kept, flushed = gradients["keep"], gradients["flush"]

    def denormals(values: torch.Tensor) -> int:
        # Read the bits: with the flags set, arithmetic on a denormal would see a zero.
        magnitude_bits = values.view(torch.int32) & 0x7FFFFFFF
        return int(((magnitude_bits > 0) & (magnitude_bits < 0x00800000)).sum())

    assert denormals(kept) > 0 and denormals(flushed) == 0
    assert torch.allclose(kept, flushed, rtol=1e-5, atol=1e-30)
    assert kept[:, -1].abs().min() > 0  # the gradient is there at the last step


def test_evaluation_under_inference_mode_equals_no_grad_and_training_goes_on():
    generator = torch.Generator().manual_seed(0)
    targets = torch.randint(0, 3, (64,), generator=generator)
    inputs = torch.randn(64, 4, generator=generator) + targets[:, None].float()
    batches = TensorBatches(inputs, targets, batch_size=16)
    model = classifier()
    scores = {}
    for inference_mode in (False, True):  # the last one, under inference mode, trains on below
        trainer = Trainer(model, ClassificationTask(3), build_optimizer(model, OptimConfig(lr=0.01)),
                          max_epochs=2, inference_mode=inference_mode)
        scores[inference_mode] = trainer.evaluate(batches)
    assert scores[True] == scores[False]
    # Evaluating between epochs leaves nothing behind that training could not differentiate.
    state = trainer.fit(batches, val_batches=batches)
    assert len(state.history) == 2 and "val_loss" in state.history[-1]
    assert F.cross_entropy(model(inputs), targets).requires_grad

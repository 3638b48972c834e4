"""The NumPy char-level training against its torch twin, and the scratch-vs-torch study."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab import registry
from trainlab.scratch.char_lm import (
    CharLMSettings,
    chunks,
    encode_text,
    initial_hidden_gradients,
    streams,
    train_numpy,
    train_torch,
)
from trainlab.studies.runner import run_study

TEXT = "the quick brown fox jumps over the lazy dog; " * 60


def test_chunks_read_contiguous_streams_with_next_character_targets():
    ids, vocabulary = encode_text("abcdefghij" * 4)
    data = streams(ids, 2)  # two streams of 20 characters
    inputs, targets, restart = next(chunks(data, 5, 1))
    assert restart and inputs.shape == (5, 2)
    assert "".join(vocabulary[i] for i in inputs[:, 0]) == "abcde"
    assert "".join(vocabulary[i] for i in targets[:, 0]) == "bcdef"
    assert "".join(vocabulary[i] for i in inputs[:, 1]) == "abcde"  # stream 2 starts at character 20


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_numpy_and_torch_training_follow_the_same_curve(cell):
    ids, vocabulary = encode_text(TEXT)
    settings = CharLMSettings(cell=cell, hidden_size=8, sequence_length=10, batch_size=4, steps=10, lr=1e-2)
    ours = train_numpy(ids[:2000], ids[2000:], len(vocabulary), settings)
    theirs = train_torch(ids[:2000], ids[2000:], len(vocabulary), settings)
    # float32 in both: the same weights and batches, rounding differences only
    np.testing.assert_allclose(ours.losses, theirs.losses, rtol=1e-4)
    assert ours.losses[-1] < ours.losses[0]
    assert ours.val_loss == pytest.approx(theirs.val_loss, rel=1e-4)
    np.testing.assert_allclose(np.sort(np.abs(ours.eigenvalues_after)), np.sort(np.abs(theirs.eigenvalues_after)),
                               rtol=1e-3, atol=1e-5)


@pytest.mark.slow
def test_a_tiny_scratch_vs_torch_study_runs_both_implementations(tmp_path):
    plan = registry.studies.get("scratch-vs-torch")("quick")
    summary = run_study(plan, tmp_path, "quick", seeds=1, quiet=True, overrides=[
        ("steps", 5), ("train_characters", 4000), ("val_characters", 1000), ("hidden_size", 8)])
    rows = {row["arm"]: row for row in summary["rows"]}
    assert rows["numpy-rnn"]["val_loss"]["mean"] == pytest.approx(rows["torch-rnn"]["val_loss"]["mean"], rel=1e-4)
    assert "RNN: validation loss" in summary["finding"]
    names = {path.name for path in plan.figures(tmp_path, summary)}
    assert names == {"loss_curves_and_time.png", "eigenvalues.png", "hidden_gradients.png"}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_hidden_gradients_by_hand_equal_torch_autograd_on_text(cell):
    ids, vocabulary = encode_text(TEXT)
    curves = initial_hidden_gradients(ids, len(vocabulary), CharLMSettings(cell=cell, hidden_size=6, batch_size=2),
                                      steps=30)
    np.testing.assert_allclose(curves["numpy_bptt"], curves["torch_autograd"], rtol=1e-8)
    assert curves["numpy_bptt"][0] < curves["numpy_bptt"][-1]  # far from the loss, smaller

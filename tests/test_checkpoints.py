"""Checkpoints: no pickle, exact round trips of optimizer and RNG state, atomic replacement."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from torch import nn

from trainlab.errors import TrainlabError
from trainlab.training.callbacks import EarlyStopping
from trainlab.training.checkpoint import (
    checkpoint_path,
    from_json_and_tensors,
    load_callback_states,
    load_weights,
    restore_checkpoint,
    save_checkpoint,
    to_json_and_tensors,
)
from trainlab.training.state import TrainState


def test_nested_values_round_trip():
    value = {
        "ints": {0: {"step": torch.tensor(3.0)}, 1: None},
        "betas": (0.9, 0.999),
        "array": np.arange(5, dtype=np.uint32),
        "list": [1.5, "text", True],
    }
    tensors: dict = {}
    document = json.loads(json.dumps(to_json_and_tensors(value, tensors)))
    back = from_json_and_tensors(document, tensors)
    assert back["ints"][0]["step"].item() == 3.0 and back["ints"][1] is None
    assert back["betas"] == (0.9, 0.999)
    assert back["array"].dtype == np.uint32 and back["array"].tolist() == [0, 1, 2, 3, 4]
    assert back["list"] == [1.5, "text", True]


def make_state(seed: int = 0) -> TrainState:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    return TrainState(model, optimizer, max_epochs=3, steps_per_epoch=2, callbacks=[EarlyStopping()])


def adam_step(state: TrainState, inputs: torch.Tensor) -> None:
    state.optimizer.zero_grad()
    state.model(inputs).pow(2).sum().backward()
    state.optimizer.step()


def test_restore_continues_bit_identically(tmp_path):
    inputs = torch.randn(5, 3)
    original = make_state()
    for _ in range(3):
        adam_step(original, inputs)
    original.epoch, original.step, original.history = 1, 3, [{"epoch": 1, "train_loss": 0.5}]
    save_checkpoint(tmp_path / "last", original)
    expected_random = (random.random(), np.random.rand(), torch.rand(2))
    adam_step(original, inputs)

    restored = make_state(seed=1)  # other initial weights: everything must come from the checkpoint
    callback_states = restore_checkpoint(tmp_path / "last", restored)
    load_callback_states(restored, callback_states)
    assert (random.random(), np.random.rand()) == expected_random[:2]
    assert torch.equal(torch.rand(2), expected_random[2])
    adam_step(restored, inputs)
    for mine, theirs in zip(restored.model.parameters(), original.model.parameters()):
        assert torch.equal(mine, theirs)
    assert (restored.epoch, restored.step, restored.history) == (1, 3, [{"epoch": 1, "train_loss": 0.5}])


@pytest.mark.parametrize("fused", [False, True])
def test_a_channels_last_model_with_fused_adam_continues_bit_identically(tmp_path, fused):
    # The checkpoint stores Adam's moments contiguous; the fused kernel needs them in the
    # parameter's channels_last order again, or it updates each weight with another one's moments.
    def make(seed: int) -> TrainState:
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 2, 3))
        model = model.to(memory_format=torch.channels_last)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01, fused=fused or None)
        return TrainState(model, optimizer, max_epochs=3, steps_per_epoch=2, callbacks=[])

    def step(state: TrainState) -> None:
        state.optimizer.zero_grad()
        state.model(images).pow(2).mean().backward()
        state.optimizer.step()

    images = torch.randn(4, 3, 8, 8).to(memory_format=torch.channels_last)
    original = make(0)
    step(original)
    save_checkpoint(tmp_path / "last", original)
    step(original)
    restored = make(1)
    restore_checkpoint(tmp_path / "last", restored)
    step(restored)
    for mine, theirs in zip(restored.model.parameters(), original.model.parameters()):
        assert torch.equal(mine, theirs)
    conv = next(restored.model.parameters())
    assert restored.optimizer.state[conv]["exp_avg"].stride() == conv.stride()


def test_checkpoint_files_hold_no_pickle_and_replace_atomically(tmp_path):
    state = make_state()
    save_checkpoint(tmp_path / "last", state)
    save_checkpoint(tmp_path / "last", state)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]  # no temporary or .old left
    assert sorted(p.name for p in (tmp_path / "last").iterdir()) == [
        "model.safetensors", "state.json", "state.safetensors"]
    json.loads((tmp_path / "last" / "state.json").read_text())
    for path in (tmp_path / "last").iterdir():
        assert b"\x80\x04" not in path.read_bytes()[:2]  # no pickle protocol header


def test_a_kill_between_the_renames_falls_back_to_the_old_checkpoint(tmp_path):
    save_checkpoint(tmp_path / "last", make_state())
    (tmp_path / "last").rename(tmp_path / "last.old")
    assert checkpoint_path(tmp_path / "last") == tmp_path / "last.old"
    assert checkpoint_path(tmp_path / "missing") is None


def test_callback_states_must_match(tmp_path):
    state = make_state()
    with pytest.raises(TrainlabError, match="no state for callback 0:EarlyStopping"):
        load_callback_states(state, {"0:HistoryCSV": {}})


def test_a_rank_without_the_file_writing_callbacks_gets_its_states_by_type():
    # Rank 0 saved [NaNGuard, EarlyStopping, HistoryCSV, EarlyStopping]; the other ranks have no
    # HistoryCSV, so positions differ: the k-th EarlyStopping gets the k-th saved one.
    saved = {"0:NaNGuard": {}, "1:EarlyStopping": {"best": 0.5, "best_epoch": 2, "wait": 1,
                                                   "stopped_epoch": None, "best_weights": None},
             "2:HistoryCSV": {}, "3:EarlyStopping": {"best": 0.9, "best_epoch": 3, "wait": 0,
                                                      "stopped_epoch": None, "best_weights": None}}
    state = make_state()
    state.callbacks = [EarlyStopping(), EarlyStopping()]
    load_callback_states(state, saved, by_type=True)
    assert [(cb.best, cb.best_epoch, cb.wait) for cb in state.callbacks] == [(0.5, 2, 1), (0.9, 3, 0)]
    with pytest.raises(TrainlabError, match="no state for callback EarlyStopping"):
        load_callback_states(state, {"0:NaNGuard": {}}, by_type=True)


class FlatBufferModel(nn.Module):
    """Weights that are views into one flat buffer, as cuDNN lays out an RNN's weights on the GPU,
    plus an output layer tied to the embedding."""

    def __init__(self):
        super().__init__()
        flat = torch.arange(20, dtype=torch.float32)
        self.weight = nn.Parameter(flat[:12].view(3, 4))
        self.bias = nn.Parameter(flat[12:16])
        self.embedding = nn.Embedding(5, 4)
        self.output = nn.Linear(4, 5, bias=False)
        self.output.weight = self.embedding.weight


def test_weights_that_share_a_flat_buffer_or_are_tied_round_trip(tmp_path):
    model = FlatBufferModel()
    assert model.weight.untyped_storage().data_ptr() == model.bias.untyped_storage().data_ptr()
    save_checkpoint(tmp_path / "last", make_state_of(model))

    other = FlatBufferModel()
    with torch.no_grad():
        for parameter in other.parameters():
            parameter.zero_()
    load_weights(other, tmp_path / "last")
    for name, tensor in model.state_dict().items():
        assert torch.equal(other.state_dict()[name], tensor), name
    assert other.output.weight is other.embedding.weight  # still tied after loading


def make_state_of(model: nn.Module) -> TrainState:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return TrainState(model, optimizer, max_epochs=1, steps_per_epoch=1, callbacks=[])

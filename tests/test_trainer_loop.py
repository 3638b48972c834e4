"""The Trainer against a hand-written loop, hook order, accumulation, optimizers."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from trainlab.config import OptimConfig
from trainlab.data import TensorBatches
from trainlab.training import ClassificationTask, Trainer
from trainlab.training.callbacks import Callback
from trainlab.training.optim import build_optimizer


def blobs(count: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    targets = torch.randint(0, 3, (count,), generator=generator)
    inputs = torch.randn(count, 4, generator=generator) + targets[:, None].float()
    return inputs, targets


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def test_one_epoch_equals_a_hand_written_loop():
    batches = TensorBatches(*blobs(), batch_size=16, shuffle=True, seed=5)
    hand = model()
    optimizer = torch.optim.SGD(hand.parameters(), lr=0.1, momentum=0.9)
    batches.set_epoch(0)
    for inputs, targets in batches:
        optimizer.zero_grad()
        F.cross_entropy(hand(inputs), targets).backward()
        optimizer.step()
    trained = model()
    Trainer(trained, ClassificationTask(3), torch.optim.SGD(trained.parameters(), lr=0.1, momentum=0.9),
            max_epochs=1).fit(batches)
    for mine, theirs in zip(trained.parameters(), hand.parameters()):
        assert torch.equal(mine, theirs)


def test_accumulating_two_batches_equals_one_batch_twice_as_large():
    data = blobs(64)
    large = model()
    optimizer = torch.optim.SGD(large.parameters(), lr=0.1)
    for inputs, targets in TensorBatches(*data, batch_size=32):
        optimizer.zero_grad()
        F.cross_entropy(large(inputs), targets).backward()
        optimizer.step()
    accumulated = model()
    state = Trainer(accumulated, ClassificationTask(3), torch.optim.SGD(accumulated.parameters(), lr=0.1),
                    max_epochs=1, accumulate_grad_batches=2).fit(TensorBatches(*data, batch_size=16))
    assert state.step == 2
    for mine, theirs in zip(accumulated.parameters(), large.parameters()):
        assert torch.allclose(mine, theirs, atol=1e-6)


HOOKS = ("on_fit_start", "on_epoch_start", "on_batch_start", "after_backward", "on_batch_end",
         "on_validation_end", "on_epoch_end", "on_fit_end")


def recording(hook: str):
    def record(self, state):
        self.calls.append(hook)
    return record


# A callback that overrides every hook and records each call.
Recorder = type("Recorder", (Callback,), {hook: recording(hook) for hook in HOOKS})


def test_hooks_run_in_order_and_history_has_one_row_per_epoch():
    recorder = Recorder()
    recorder.calls = []
    net = model()
    data = blobs(32)
    state = Trainer(net, ClassificationTask(3), torch.optim.SGD(net.parameters(), lr=0.1), max_epochs=2,
                    callbacks=[recorder]).fit(TensorBatches(*data, batch_size=16), TensorBatches(*data, batch_size=32))
    batch = ["on_batch_start", "after_backward", "on_batch_end"]
    epoch = ["on_epoch_start", *batch, *batch, "on_validation_end", "on_epoch_end"]
    assert recorder.calls == ["on_fit_start", *epoch, *epoch, "on_fit_end"]
    assert [row["epoch"] for row in state.history] == [1, 2]
    assert list(state.history[0]) == [
        "epoch", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
        "val_macro_precision", "val_macro_recall", "val_macro_f1", "seconds"]


def test_a_callback_can_stop_training():
    class StopAfterFirstEpoch(Callback):
        def on_epoch_end(self, state):
            state.stop("enough")

    net = model()
    state = Trainer(net, ClassificationTask(3), torch.optim.SGD(net.parameters(), lr=0.1), max_epochs=5,
                    callbacks=[StopAfterFirstEpoch()]).fit(TensorBatches(*blobs(), batch_size=32))
    assert (state.epoch, state.stop_reason) == (1, "enough")


def test_label_smoothing_changes_the_training_loss_only():
    inputs, targets = blobs(16)
    logits = model()(inputs)
    smoothed = ClassificationTask(3, label_smoothing=0.2)
    loss, _, _ = smoothed.forward(lambda x: logits, (inputs, targets), training=True)
    assert loss.item() == pytest.approx(F.cross_entropy(logits, targets, label_smoothing=0.2).item())
    loss, _, _ = smoothed.forward(lambda x: logits, (inputs, targets), training=False)
    assert loss.item() == pytest.approx(F.cross_entropy(logits, targets).item())


def test_train_meter_matches_a_direct_computation():
    net = model()
    data = blobs(40)
    state = Trainer(net, ClassificationTask(3), torch.optim.SGD(net.parameters(), lr=0.0), max_epochs=1
                    ).fit(TensorBatches(*data, batch_size=16))  # lr 0: weights never change
    logits = net(data[0])
    assert state.history[0]["train_loss"] == pytest.approx(F.cross_entropy(logits, data[1]).item(), rel=1e-6)
    assert state.history[0]["train_accuracy"] == pytest.approx((logits.argmax(1) == data[1]).float().mean().item())


def test_fp16_needs_cuda_and_bf16_a_cpu_with_bf16_arithmetic(monkeypatch):
    from trainlab.training import precision

    net = model()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"precision 'fp16': fp16 needs a CUDA GPU \(device is cpu\)"):
        Trainer(net, ClassificationTask(3), optimizer, max_epochs=1, precision="fp16")
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    with pytest.raises(ValueError, match="precision 'bf16': this CPU has no bfloat16 arithmetic"):
        Trainer(net, ClassificationTask(3), optimizer, max_epochs=1, precision="bf16")


def test_weight_decay_skips_biases_and_norm_parameters():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 2))
    net[3].weight.requires_grad_(False)  # frozen parameters are left out
    optimizer = build_optimizer(net, OptimConfig(name="adamw", weight_decay=0.1))
    assert isinstance(optimizer, torch.optim.AdamW)
    decayed, not_decayed = optimizer.param_groups
    assert decayed["weight_decay"] == 0.1 and not_decayed["weight_decay"] == 0.0
    assert {id(p) for p in decayed["params"]} == {id(net[0].weight)}
    assert {id(p) for p in not_decayed["params"]} == {id(net[0].bias), id(net[1].weight), id(net[1].bias), id(net[3].bias)}
    together = build_optimizer(net, OptimConfig(name="adamw", weight_decay=0.1, decay_bias_and_norm=True))
    assert len(together.param_groups) == 1 and len(together.param_groups[0]["params"]) == 5


@pytest.mark.parametrize("name, expected", [("sgd", torch.optim.SGD), ("adam", torch.optim.Adam),
                                            ("adamw", torch.optim.AdamW), ("rmsprop", torch.optim.RMSprop)])
def test_each_optimizer_is_torchs_with_the_configured_settings(name, expected):
    net = model()
    settings = {"nesterov": True} if name == "sgd" else {}
    optimizer = build_optimizer(net, OptimConfig(name=name, lr=0.05, **settings))
    assert isinstance(optimizer, expected)
    group = optimizer.param_groups[0]
    assert group["lr"] == 0.05
    if name == "sgd":
        assert (group["momentum"], group["nesterov"]) == (0.9, True)
    reference = copy.deepcopy(net)
    arguments = {"lr": 0.05, "weight_decay": 0.0, **({"momentum": 0.9, "nesterov": True} if name == "sgd" else {})}
    reference_optimizer = expected(reference.parameters(), **arguments)
    for network, opt in ((net, optimizer), (reference, reference_optimizer)):
        for _ in range(2):
            opt.zero_grad()
            network(blobs(8)[0]).pow(2).sum().backward()
            opt.step()
    for mine, theirs in zip(net.parameters(), reference.parameters()):
        assert torch.allclose(mine, theirs)


@pytest.mark.parametrize("name, fused", [("sgd", True), ("adam", True), ("adamw", True), ("rmsprop", None)])
def test_optimizers_with_a_fused_kernel_use_it_unless_told_not_to(name, fused):
    net = model()
    assert build_optimizer(net, OptimConfig(name=name)).defaults.get("fused") == fused
    assert not build_optimizer(net, OptimConfig(name=name, fused=False)).defaults.get("fused")


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_optimizers_without_the_compiler_wrappers_step_and_save_as_torchs_do(name):
    # trainlab's optimizers call torch's methods under their torch.compile wrappers (no
    # torch._dynamo import): the same steps, bit for bit, the same state_dict, checkpoints that load
    # either way, and step hooks (which the LR schedulers count on) still called.
    from trainlab.training import optim

    settings = {"lr": 0.05, "weight_decay": 0.01, **({"momentum": 0.9} if name in ("SGD", "RMSprop") else {})}
    ours, theirs = model(), model()
    mine = getattr(optim, name)(ours.parameters(), **settings)
    reference = getattr(torch.optim, name)(theirs.parameters(), **settings)
    stepped = []
    mine.register_step_post_hook(lambda *_: stepped.append(1))
    scheduler = torch.optim.lr_scheduler.StepLR(mine, step_size=1, gamma=0.5)
    reference_scheduler = torch.optim.lr_scheduler.StepLR(reference, step_size=1, gamma=0.5)
    for network, opt, schedule in ((ours, mine, scheduler), (theirs, reference, reference_scheduler)):
        for _ in range(3):
            opt.zero_grad()
            network(blobs(8)[0]).pow(2).sum().backward()
            opt.step()
            schedule.step()
        assert all(parameter.grad is not None for parameter in network.parameters())
        opt.zero_grad()
        assert all(parameter.grad is None for parameter in network.parameters())
    assert len(stepped) == 3 and mine.param_groups[0]["lr"] == reference.param_groups[0]["lr"] == 0.05 / 8
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b)
    state, reference_state = mine.state_dict(), reference.state_dict()
    assert state["param_groups"] == reference_state["param_groups"]
    for index, slots in reference_state["state"].items():
        for slot, value in slots.items():
            assert torch.equal(torch.as_tensor(state["state"][index][slot]), torch.as_tensor(value))
    crossed = getattr(optim, name)(model().parameters(), **settings)
    crossed.load_state_dict(reference_state)  # a checkpoint written by torch's own class
    assert crossed.state_dict()["param_groups"] == reference_state["param_groups"]
    with pytest.raises(ValueError, match="different number of parameter groups"):
        crossed.load_state_dict({"state": {}, "param_groups": []})

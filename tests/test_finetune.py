"""Frozen backbones, staged unfreezing and discriminative learning rates, on a small network."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainlab.config import FinetuneConfig, OptimConfig
from trainlab.data import TensorBatches
from trainlab.training import ClassificationTask, Trainer
from trainlab.training.callbacks import Callback
from trainlab.training.finetune import FineTuning, layer_groups, lr_scales
from trainlab.training.optim import build_optimizer


class Net(nn.Module):
    """conv1, bn1, a stage of two blocks, fc: the shape of a torchvision ResNet, in miniature."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()
        self.layer1 = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3)

    def forward(self, images):
        features = self.layer1(self.relu(self.bn1(self.conv1(images))))
        return self.fc(self.pool(features).flatten(1))


def images(count: int = 48):
    generator = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 3, (count,), generator=generator)
    return torch.randn(count, 1, 6, 6, generator=generator) + labels[:, None, None, None], labels


def test_groups_run_from_the_input_to_the_head():
    net = Net()
    assert layer_groups(net) == [net.conv1, net.bn1, net.layer1[0], net.layer1[1], net.fc]
    with pytest.raises(ValueError, match="Sequential has no head named fc, head, classifier"):
        layer_groups(nn.Sequential(nn.Linear(2, 2)))


def test_discriminative_rates_halve_per_group_below_the_head():
    net = Net()
    optimizer = build_optimizer(net, OptimConfig(name="sgd", lr=0.8), lr_scales(net, 0.5))
    rate = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    expected = {net.fc: 0.8, net.layer1[1]: 0.4, net.layer1[0]: 0.2, net.bn1: 0.1, net.conv1: 0.05}
    for module, lr in expected.items():
        assert all(rate[id(p)] == pytest.approx(lr) for p in module.parameters())


class Snapshot(Callback):
    """The parameters and BN statistics at the end of every epoch."""

    def __init__(self):
        self.states = []

    def on_epoch_end(self, state):
        self.states.append({k: v.clone() for k, v in state.model.state_dict().items()})


def test_frozen_backbone_trains_the_head_first_then_unfreezes_the_top_block():
    net = Net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    snapshot = Snapshot()
    config = FinetuneConfig(freeze="backbone", unfreeze_epoch=3, unfreeze_groups=1)
    trainer = Trainer(net, ClassificationTask(3), build_optimizer(net, OptimConfig(lr=0.01)), max_epochs=3,
                      callbacks=[FineTuning(config), snapshot])
    trainer.fit(TensorBatches(*images(), batch_size=16, shuffle=True))

    def changed(epoch_state, prefix):
        return any(not torch.equal(value, before[key]) for key, value in epoch_state.items() if key.startswith(prefix))

    for epoch in (0, 1):  # the head only; BatchNorm statistics stay as they were
        assert changed(snapshot.states[epoch], "fc.")
        for frozen in ("conv1.", "bn1.", "layer1."):
            assert not changed(snapshot.states[epoch], frozen), (epoch, frozen)
    last = snapshot.states[2]
    assert changed(last, "layer1.1.") and not changed(last, "layer1.0.") and not changed(last, "bn1.")


def test_bn_statistics_move_when_asked():
    net = Net()
    running_mean = net.bn1.running_mean.clone()
    config = FinetuneConfig(freeze="backbone", frozen_bn_eval=False)
    trainer = Trainer(net, ClassificationTask(3), build_optimizer(net, OptimConfig(lr=0.01)), max_epochs=1,
                      callbacks=[FineTuning(config)])
    trainer.fit(TensorBatches(*images(), batch_size=16))
    assert not torch.equal(net.bn1.running_mean, running_mean)
    assert torch.equal(net.bn1.weight, torch.ones(4))  # frozen all the same

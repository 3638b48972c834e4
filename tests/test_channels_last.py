"""channels_last changes the memory order of CNN weights and batches, not the results."""

from __future__ import annotations

import torch

from trainlab.config import OptimConfig
from trainlab.data import TensorBatches
from trainlab.models.cnn import SimpleCNN
from trainlab.training import ClassificationTask, Trainer
from trainlab.training.optim import build_optimizer


def fitted(channels_last: bool):
    torch.manual_seed(0)
    model = SimpleCNN(3, 3, (8, 8), channels=[4, 8], hidden_size=8)
    generator = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 3, (64,), generator=generator)
    images = torch.randn(64, 3, 8, 8, generator=generator) + labels[:, None, None, None]
    trainer = Trainer(model, ClassificationTask(3), build_optimizer(model, OptimConfig(lr=0.01)), max_epochs=2,
                      channels_last=channels_last)
    trainer.fit(TensorBatches(images, labels, batch_size=16, shuffle=True))
    return model, trainer.evaluate(TensorBatches(images, labels, batch_size=64))


def test_channels_last_trains_to_the_same_weights_up_to_rounding():
    plain, plain_scores = fitted(False)
    nhwc, nhwc_scores = fitted(True)
    conv = nhwc.features[0][0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    for (name, a), b in zip(plain.state_dict().items(), nhwc.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-5), name
    assert abs(plain_scores["loss"] - nhwc_scores["loss"]) < 1e-5

"""Every registered model: shapes, gradients to every parameter, forward = head(features)."""

from __future__ import annotations

import pytest
import torch

from trainlab import registry
from trainlab.models import ImageSpec, build_model
from trainlab.models.cnn import SimpleCNN

SPEC = ImageSpec(in_channels=3, height=8, width=8, num_classes=7)  # 7: catches hard-coded heads


IMAGE_MODELS = [entry.name for entry in registry.models.entries() if entry.task == "image-classification"]


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_model_outputs_logits_and_every_parameter_gets_a_gradient(name):
    torch.manual_seed(0)
    model = build_model(registry.models.entry(name).config_class(), SPEC)
    images = torch.randn(5, 3, 8, 8)
    logits = model(images)
    assert logits.shape == (5, 7)
    logits.logsumexp(dim=1).sum().backward()
    for parameter_name, parameter in model.named_parameters():
        assert parameter.grad is not None, f"{name}: {parameter_name} got no gradient"
        assert torch.isfinite(parameter.grad).all(), f"{name}: {parameter_name} has a non-finite gradient"
    model.eval()
    assert torch.equal(model(images), model.forward_head(model.forward_features(images)))


def test_simple_cnn_names_the_size_constraint():
    with pytest.raises(ValueError, match=r"height and width must be divisible by 4 \(got 10x8\)"):
        SimpleCNN(1, 10, (10, 8), channels=[8, 16], hidden_size=8)


def test_registry_lists_builtins_and_suggests_close_names():
    from trainlab.errors import TrainlabError

    assert {"simple_cnn", "mlp"} <= set(registry.models.names())
    assert "digits" in registry.datasets and "image-classification" in registry.tasks
    with pytest.raises(TrainlabError, match=r"unknown dataset 'digit' \(did you mean 'digits'\?\); choices: .*digits"):
        registry.datasets.entry("digit")
    table = registry.Registry("thing")
    table.register("one")(lambda: 1)
    with pytest.raises(ValueError, match="thing 'one' is registered twice"):
        table.register("one")(lambda: 2)

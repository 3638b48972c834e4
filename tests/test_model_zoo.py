"""Every registered model: shapes, gradients to every parameter, forward = head(features)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainlab import registry
from trainlab.models import ImageSpec, build_model, resnet, vgg  # noqa: F401  (importing registers them)
from trainlab.models.cnn import SimpleCNN, SimpleCNNConfig

IMAGE_MODELS = [entry.name for entry in registry.models.entries() if entry.task == "image-classification"]
# ImageNet-style networks divide the resolution by 32 (stem 4, then three strided stages); 32x32 leaves
# them 1x1 at the end. Every other model runs on 8x8 (VGG then skips the pools that would empty the map).
IMAGENET_STYLE = {"resnet18", "resnet34", "resnet50", "resnet101", "resnext50_32x4d"}


def tiny_spec(name: str) -> ImageSpec:
    size = 32 if name in IMAGENET_STYLE else 8
    return ImageSpec(in_channels=3, height=size, width=size, num_classes=7)  # 7: catches hard-coded heads


@pytest.fixture
def one_thread():
    """Tiny models gain nothing from intra-op threads, and on shared cores OpenMP's spin-waiting makes
    them many times slower; restores the thread count afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_model_outputs_logits_and_every_parameter_gets_a_gradient(name):
    torch.manual_seed(0)
    spec = tiny_spec(name)
    model = build_model(registry.models.entry(name, "image-classification").config_class(), spec)
    images = torch.randn(5, 3, spec.height, spec.width)
    logits = model(images)
    assert logits.shape == (5, 7)
    logits.logsumexp(dim=1).sum().backward()
    for parameter_name, parameter in model.named_parameters():
        assert parameter.grad is not None, f"{name}: {parameter_name} got no gradient"
        assert torch.isfinite(parameter.grad).all(), f"{name}: {parameter_name} has a non-finite gradient"
    model.eval()
    assert torch.equal(model(images), model.forward_head(model.forward_features(images)))


def test_simple_cnn_defaults_are_the_keras_network():
    model = build_model(SimpleCNNConfig(), ImageSpec(3, 8, 8, 7))
    assert [(key, tuple(tensor.shape)) for key, tensor in model.state_dict().items()] == [
        ("features.0.0.weight", (32, 3, 3, 3)),
        *[(f"features.0.1.{name}", (32,)) for name in ("weight", "bias", "running_mean", "running_var")],
        ("features.0.1.num_batches_tracked", ()),
        ("features.1.0.weight", (64, 32, 3, 3)),
        *[(f"features.1.1.{name}", (64,)) for name in ("weight", "bias", "running_mean", "running_var")],
        ("features.1.1.num_batches_tracked", ()),
        ("head.1.weight", (128, 64 * 2 * 2)),
        ("head.1.bias", (128,)),
        ("head.4.weight", (7, 128)),
        ("head.4.bias", (7,)),
    ]
    assert isinstance(model.features[0][2], nn.ReLU) and isinstance(model.features[0][3], nn.MaxPool2d)
    assert isinstance(model.head[2], nn.ReLU)


def test_simple_cnn_ablation_options_build_what_they_name():
    torch.manual_seed(0)
    config = SimpleCNNConfig(channels=[4], pooling="avg", activation="elu", kernel_size=5, batch_norm=False)
    model = build_model(config, ImageSpec(3, 8, 8, 7))
    convolution = model.features[0][0]
    assert convolution.weight.shape == (4, 3, 5, 5) and convolution.padding == (2, 2)
    assert isinstance(model.head[2], nn.ELU)
    images = torch.randn(2, 3, 8, 8)
    by_hand = torch.nn.functional.avg_pool2d(torch.nn.functional.elu(convolution(images)), 2)
    assert torch.equal(model.forward_features(images), by_hand)
    for name, module in (("leaky_relu", nn.LeakyReLU), ("gelu", nn.GELU), ("relu", nn.ReLU)):
        model = build_model(SimpleCNNConfig(activation=name), ImageSpec(3, 8, 8, 7))
        assert isinstance(model.features[1][2], module) and isinstance(model.head[2], module)
    with pytest.raises(ValueError, match="kernel_size"):
        SimpleCNNConfig(kernel_size=4)
    with pytest.raises(ValueError, match=r"needs an odd kernel_size to keep the image size \(got 4\)"):
        SimpleCNN(1, 10, (8, 8), channels=[8], hidden_size=8, kernel_size=4)


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


def test_every_models_own_config_names_it():
    # build_model picks the model by config.name: a config made from a model's registered class
    # with no arguments (benchmarks, notebooks, `trainlab summary`) must build that model, not
    # its family's default (a ResNet-20 built as ResNet-18 went unnoticed once).
    for entry in registry.models.entries():
        if entry.config_class is not None:
            assert entry.config_class().name == entry.name, (entry.name, entry.task)

"""VGG, ResNet and ResNeXt against the papers and torchvision: parameter counts, state_dict keys built
from the published architecture tables, multiply-adds, plain/residual twins, initialisation, loading
pretrained weights.

Structural checks build the models on the meta device: shapes without memory or initialisation time.
"""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import save_file, save_model
from torch import nn

from trainlab import registry
from trainlab.config import build_config
from trainlab.errors import TrainlabError
from trainlab.models import (
    ImageSpec,
    count_parameters,
    resnet_blocks,
    vgg,  # noqa: F401  (importing registers the VGGs)
)
from trainlab.models import resnet as resnets
from trainlab.models.flops import count_multiply_adds
from trainlab.models.layers import initialize, make_activation
from trainlab.models.pretrained import classifier_head_keys, load_pretrained

IMAGENET = ImageSpec(in_channels=3, height=224, width=224, num_classes=1000)
CIFAR10 = ImageSpec(in_channels=3, height=32, width=32, num_classes=10)


def build(name: str, spec: ImageSpec, meta: bool = False, **options) -> nn.Module:
    entry = registry.models.entry(name, "image-classification")
    config = entry.config_class(**options)
    if not meta:
        return entry.builder(config, spec)
    with torch.device("meta"):
        return entry.builder(config, spec)


def shapes(model: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(key, tuple(tensor.shape)) for key, tensor in model.state_dict().items()]


# --- parameter counts -----------------------------------------------------------------------------

# torchvision's published parameter counts (its model documentation, 1000 classes)
TORCHVISION_PARAMETERS = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnext50_32x4d": 25_028_904,
    "vgg11": 132_863_336,
    "vgg11_bn": 132_868_840,
    "vgg13": 133_047_848,
    "vgg13_bn": 133_053_736,
    "vgg16": 138_357_544,
    "vgg16_bn": 138_365_992,
    "vgg19": 143_667_240,
    "vgg19_bn": 143_678_248,
}


@pytest.mark.parametrize("name", TORCHVISION_PARAMETERS)
def test_imagenet_models_have_torchvisions_parameter_count(name):
    assert count_parameters(build(name, IMAGENET, meta=True)) == TORCHVISION_PARAMETERS[name]


def cifar_resnet_parameters(blocks_per_stage: int, num_classes: int) -> int:
    """He et al. 2016, section 4.2, counted by hand: 3x3 convolutions without bias, 2 BN parameters
    per channel, option A shortcuts without parameters, a linear classifier on 64 features."""
    total = 3 * 16 * 9 + 2 * 16  # stem
    in_channels = 16
    for channels in (16, 32, 64):
        total += in_channels * channels * 9 + 2 * channels  # first convolution of the stage
        total += (2 * blocks_per_stage - 1) * (channels * channels * 9 + 2 * channels)
        in_channels = channels
    return total + 64 * num_classes + num_classes


# He et al. 2016, table 6: depth -> parameters in millions, as printed (two significant digits)
PAPER_CIFAR_PARAMETERS = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7}


@pytest.mark.parametrize("depth", PAPER_CIFAR_PARAMETERS)
def test_cifar_resnets_match_the_paper(depth):
    count = count_parameters(build(f"resnet{depth}", CIFAR10, meta=True))
    assert count == cifar_resnet_parameters((depth - 2) // 6, 10)
    printed = PAPER_CIFAR_PARAMETERS[depth]
    assert float(f"{count / 1e6:.2g}") == printed
    assert count_parameters(build("resnet_cifar", CIFAR10, meta=True, depth=depth)) == count


def test_resnext29_8x64d_has_the_papers_34_4_million_parameters():
    # Xie et al. 2017, table 7 (CIFAR-10): ResNeXt-29, 8x64d, 34.4M
    model = build("resnext29_8x64d", CIFAR10, meta=True)
    assert round(count_parameters(model) / 1e6, 1) == 34.4
    # the bottleneck widths of the paper's CIFAR architecture: 8 x 64 = 512 in the first stage, doubling
    inner_widths = [getattr(model, f"layer{stage}")[0].conv2.weight.shape[0] for stage in (1, 2, 3)]
    assert inner_widths == [512, 1024, 2048]
    assert [getattr(model, f"layer{stage}")[0].conv2.groups for stage in (1, 2, 3)] == [8, 8, 8]
    assert model.fc.in_features == 1024 and model.conv1.weight.shape == (64, 3, 3, 3)


def test_resnext29_4x16d_is_small_enough_for_a_cpu():
    model = build("resnext29_4x16d", CIFAR10, meta=True)
    assert model.layer1[0].conv2.weight.shape == (64, 16, 3, 3)  # 4 groups of 16 channels
    assert count_parameters(model) < 4e6


# --- torchvision state_dict keys, built from the published tables ---------------------------------


def batch_norm_entries(prefix: str, channels: int) -> list[tuple[str, tuple[int, ...]]]:
    return [
        (f"{prefix}.weight", (channels,)),
        (f"{prefix}.bias", (channels,)),
        (f"{prefix}.running_mean", (channels,)),
        (f"{prefix}.running_var", (channels,)),
        (f"{prefix}.num_batches_tracked", ()),
    ]


def torchvision_resnet_entries(
    bottleneck: bool, blocks_per_stage: list[int], groups: int = 1, width_per_group: int = 64
) -> list[tuple[str, tuple[int, ...]]]:
    """He et al. 2016 table 1 and Xie et al. 2017 table 1, with torchvision's module names."""
    entries = [("conv1.weight", (64, 3, 7, 7)), *batch_norm_entries("bn1", 64)]
    in_channels = 64
    for stage, (num_blocks, planes) in enumerate(zip(blocks_per_stage, (64, 128, 256, 512)), start=1):
        out_channels = planes * 4 if bottleneck else planes
        width = planes * width_per_group // 64 * groups
        for index in range(num_blocks):
            block = f"layer{stage}.{index}"
            block_in = in_channels if index == 0 else out_channels
            if bottleneck:
                entries += [(f"{block}.conv1.weight", (width, block_in, 1, 1))]
                entries += batch_norm_entries(f"{block}.bn1", width)
                entries += [(f"{block}.conv2.weight", (width, width // groups, 3, 3))]
                entries += batch_norm_entries(f"{block}.bn2", width)
                entries += [(f"{block}.conv3.weight", (out_channels, width, 1, 1))]
                entries += batch_norm_entries(f"{block}.bn3", out_channels)
            else:
                entries += [(f"{block}.conv1.weight", (planes, block_in, 3, 3))]
                entries += batch_norm_entries(f"{block}.bn1", planes)
                entries += [(f"{block}.conv2.weight", (planes, planes, 3, 3))]
                entries += batch_norm_entries(f"{block}.bn2", planes)
            if index == 0 and (stage > 1 or in_channels != out_channels):
                entries += [(f"{block}.downsample.0.weight", (out_channels, in_channels, 1, 1))]
                entries += batch_norm_entries(f"{block}.downsample.1", out_channels)
        in_channels = out_channels
    return entries + [("fc.weight", (1000, in_channels)), ("fc.bias", (1000,))]


def torchvision_vgg16_bn_entries() -> list[tuple[str, tuple[int, ...]]]:
    """Simonyan and Zisserman 2015, configuration D, in torchvision's nn.Sequential numbering."""
    layout = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    entries, index, in_channels = [], 0, 3
    for entry in layout:
        if entry == "M":
            index += 1
            continue
        entries += [(f"features.{index}.weight", (entry, in_channels, 3, 3))]
        entries += [(f"features.{index}.bias", (entry,))]
        entries += batch_norm_entries(f"features.{index + 1}", entry)
        index += 3  # conv, BN, ReLU
        in_channels = entry
    return entries + [
        ("classifier.0.weight", (4096, 512 * 7 * 7)),
        ("classifier.0.bias", (4096,)),
        ("classifier.3.weight", (4096, 4096)),
        ("classifier.3.bias", (4096,)),
        ("classifier.6.weight", (1000, 4096)),
        ("classifier.6.bias", (1000,)),
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("resnet18", torchvision_resnet_entries(False, [2, 2, 2, 2])),
        ("resnet50", torchvision_resnet_entries(True, [3, 4, 6, 3])),
        ("resnext50_32x4d", torchvision_resnet_entries(True, [3, 4, 6, 3], groups=32, width_per_group=4)),
        ("vgg16_bn", torchvision_vgg16_bn_entries()),
    ],
)
def test_state_dict_keys_and_shapes_are_torchvisions(name, expected):
    assert shapes(build(name, IMAGENET, meta=True)) == expected


# --- multiply-adds --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "published_gmacs"),  # torchvision's documentation ("GFLOPS", i.e. multiply-adds)
    [("resnet18", 1.814), ("resnet50", 4.089), ("resnext50_32x4d", 4.230), ("vgg16", 15.47)],
)
def test_multiply_adds_match_torchvisions_published_numbers(name, published_gmacs):
    multiply_adds = count_multiply_adds(build(name, IMAGENET, meta=True), (3, 224, 224))
    assert multiply_adds / 1e9 == pytest.approx(published_gmacs, rel=0.01)


def test_resnet20_multiply_adds_by_hand_and_against_the_paper():
    by_hand = (
        32 * 32 * 16 * 3 * 9  # stem
        + 6 * 32 * 32 * 16 * 16 * 9  # stage 1: 6 convolutions at 32x32
        + 16 * 16 * 32 * 16 * 9 + 5 * 16 * 16 * 32 * 32 * 9  # stage 2 at 16x16
        + 8 * 8 * 64 * 32 * 9 + 5 * 8 * 8 * 64 * 64 * 9  # stage 3 at 8x8
        + 64 * 10  # classifier
    )
    multiply_adds = count_multiply_adds(build("resnet20", CIFAR10, meta=True), (3, 32, 32))
    assert multiply_adds == by_hand
    assert multiply_adds == pytest.approx(41e6, rel=0.02)  # He et al. 2016: "41 million FLOPs"


def test_multiply_adds_of_grouped_convolution_and_linear_and_mode_is_kept():
    model = nn.Sequential(
        nn.Conv2d(4, 8, kernel_size=3, padding=1, groups=2), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Flatten(), nn.Linear(8 * 5 * 5, 3),
    )
    # conv: 8 * 5 * 5 outputs, each (4 / 2) * 3 * 3 products; linear: 3 outputs, 200 products each
    assert count_multiply_adds(model, (4, 5, 5)) == 8 * 25 * 2 * 9 + 3 * 200
    assert model.training
    with pytest.raises(ValueError, match=r"input_shape must be \(channels, height, width\)"):
        count_multiply_adds(model, (1, 4, 5, 5))


# --- plain and residual twins ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["resnet20", "resnet18", "resnet50", "resnext29_4x16d"])
def test_plain_twin_has_the_same_layers_without_shortcuts(name):
    spec = CIFAR10 if name in ("resnet20", "resnext29_4x16d") else IMAGENET
    residual = shapes(build(name, spec, meta=True))
    plain = shapes(build(name, spec, meta=True, residual=False))
    assert plain == [(key, shape) for key, shape in residual if ".downsample." not in key]
    assert len(plain) < len(residual) or name == "resnet20"  # option A shortcuts have no parameters


def test_option_a_shortcut_and_zero_init_make_every_residual_block_the_identity():
    # With the last BN of every branch at zero (and BN in eval mode at its initial statistics), each
    # block returns ReLU(shortcut): the stem's output, strided by 4 and zero-padded to 64 channels.
    torch.manual_seed(0)
    model = build("resnet20", CIFAR10, zero_init_residual=True).eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        stem = model.act(model.bn1(model.conv1(images)))  # (2, 16, 32, 32), non-negative
        expected = torch.zeros(2, 64, 8, 8)
        expected[:, :16] = stem[:, :, ::4, ::4]
        assert torch.allclose(model.forward_features(images), expected)


def test_plain_network_has_no_path_around_its_blocks():
    torch.manual_seed(0)
    model = build("resnet56", CIFAR10, residual=False).eval()
    for stage in (model.layer1, model.layer2, model.layer3):
        for block in stage:
            assert block.downsample is None
    model.layer3[-1].bn2.weight.data.zero_()  # nothing reaches the output but this BN's zero bias
    with torch.no_grad():
        assert torch.equal(model.forward_features(torch.randn(2, 3, 32, 32)), torch.zeros(2, 64, 8, 8))


def test_zero_init_residual_needs_residual_networks():
    with pytest.raises(ValueError, match="model.zero_init_residual=true needs model.residual=true"):
        build("resnet20", CIFAR10, meta=True, residual=False, zero_init_residual=True)


def test_basic_blocks_refuse_groups_and_configs_reject_bad_options():
    with pytest.raises(ValueError, match="basic blocks support only groups=1 and width_per_group=64"):
        resnet_blocks.BasicBlock(16, 16, groups=2)
    with pytest.raises(ValueError, match=r"depth must be 6n \+ 2 with n >= 1, e.g. 8, 20, 56"):
        resnets.CifarResNetConfig(depth=21)
    with pytest.raises(ValueError, match="groups"):  # basic-block networks have no cardinality option
        resnets.ResNet18Config(groups=2)


def test_model_options_come_through_the_config_layer():
    raw = {"name": "resnext29_4x16d", "groups": 2, "width_per_group": 8, "residual": False}
    config = build_config({"task": "image-classification", "model": raw})
    assert (config.model.groups, config.model.width_per_group, config.model.residual) == (2, 8, False)
    with pytest.raises(TrainlabError, match=r"^unknown key 'model.groups'"):
        build_config({"task": "image-classification", "model": {"name": "resnet18", "groups": 2}})
    with pytest.raises(TrainlabError, match=r"^model.depth: CIFAR ResNet depth must be 6n \+ 2 .* \(got 21\)$"):
        build_config({"task": "image-classification", "model": {"name": "resnet_cifar", "depth": 21}})


def test_cifar_resnet_of_depth_8_for_the_depth_study():
    model = build("resnet_cifar", CIFAR10, meta=True, depth=8)
    assert [len(stage) for stage in (model.layer1, model.layer2, model.layer3)] == [1, 1, 1]
    assert model.forward_features(torch.zeros(1, 3, 32, 32, device="meta")).shape == (1, 64, 8, 8)


# --- initialisation -------------------------------------------------------------------------------


def test_kaiming_fan_out_and_xavier_give_the_expected_standard_deviations():
    torch.manual_seed(0)
    convolution, grouped = nn.Conv2d(256, 512, 3), nn.Conv2d(256, 256, 3, groups=32)
    initialize(nn.Sequential(convolution, grouped), "kaiming")
    # He et al. 2015, fan_out = out_channels * kh * kw (torch counts it without dividing by groups)
    assert convolution.weight.std().item() == pytest.approx(math.sqrt(2 / (512 * 9)), rel=0.01)
    assert grouped.weight.std().item() == pytest.approx(math.sqrt(2 / (256 * 9)), rel=0.02)
    assert torch.equal(convolution.bias, torch.zeros(512))

    convolution, linear = nn.Conv2d(128, 256, 3), nn.Linear(512, 100)
    initialize(nn.Sequential(convolution, linear), "xavier")
    fan_in, fan_out = 128 * 9, 256 * 9  # Glorot and Bengio 2010: variance 2 / (fan_in + fan_out)
    assert convolution.weight.std().item() == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.01)
    assert convolution.weight.abs().max().item() <= math.sqrt(6 / (fan_in + fan_out))
    assert linear.weight.std().item() == pytest.approx(math.sqrt(2 / 612), rel=0.03)
    assert torch.equal(linear.bias, torch.zeros(100))


def test_kaiming_keeps_pytorchs_linear_default_and_resets_batch_norm():
    torch.manual_seed(0)
    reference = nn.Linear(32, 10)
    torch.manual_seed(0)
    linear, norm = nn.Linear(32, 10), nn.BatchNorm2d(8)
    nn.init.normal_(norm.weight), nn.init.normal_(norm.bias)
    initialize(nn.Sequential(linear, norm), "kaiming")
    assert torch.equal(linear.weight, reference.weight) and torch.equal(linear.bias, reference.bias)
    assert torch.equal(norm.weight, torch.ones(8)) and torch.equal(norm.bias, torch.zeros(8))
    with pytest.raises(ValueError, match="unknown init scheme 'he'; choices: kaiming, xavier"):
        initialize(linear, "he")


@pytest.mark.parametrize(("name", "last"), [("resnet20", "bn2"), ("resnext29_4x16d", "bn3")])
def test_zero_init_residual_zeroes_only_the_last_norm_of_each_branch(name, last):
    model = build(name, ImageSpec(3, 8, 8, 7), zero_init_residual=True)
    for key, tensor in model.state_dict().items():
        if key.endswith(f".{last}.weight"):
            assert torch.equal(tensor, torch.zeros_like(tensor)), key
        elif "bn" in key and key.endswith(".weight") or ".downsample.1.weight" in key:
            assert torch.equal(tensor, torch.ones_like(tensor)), key


def test_activation_factory():
    assert isinstance(make_activation("leaky_relu"), nn.LeakyReLU)
    assert isinstance(make_activation("elu"), nn.ELU) and isinstance(make_activation("gelu"), nn.GELU)
    model = build("resnet20", ImageSpec(3, 8, 8, 7), meta=True, activation="gelu")
    assert isinstance(model.layer2[0].act, nn.GELU)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        make_activation("swish")


# --- VGG heads ------------------------------------------------------------------------------------


def test_vgg_uses_torchvisions_head_from_64_pixels_on_and_the_cifar_head_below():
    for size, imagenet_head in ((224, True), (64, True), (63, False), (32, False)):
        model = build("vgg11", ImageSpec(3, size, size, 7), meta=True)
        assert model.imagenet_head is imagenet_head
        assert model(torch.zeros(2, 3, size, size, device="meta")).shape == (2, 7)
    cifar = build("vgg16", CIFAR10, meta=True, dropout=0.3)
    assert [type(layer) for layer in cifar.classifier] == [nn.Dropout, nn.Linear]
    assert cifar.classifier[0].p == 0.3 and cifar.classifier[1].in_features == 512
    assert build("vgg16", CIFAR10, meta=True).classifier[0].p == 0.0
    assert build("vgg16", IMAGENET, meta=True).classifier[2].p == 0.5


def test_vgg_on_tiny_images_skips_the_pools_that_would_empty_the_map():
    tiny = build("vgg11_bn", ImageSpec(3, 8, 8, 7), meta=True)
    computing = (nn.Conv2d, nn.BatchNorm2d, nn.ReLU)
    pools = [type(layer) for layer in tiny.features if not isinstance(layer, computing)]
    assert pools == [nn.MaxPool2d, nn.MaxPool2d, nn.MaxPool2d, nn.Identity, nn.Identity]
    full = build("vgg11_bn", IMAGENET, meta=True)
    features = [(key, shape) for key, shape in shapes(full) if key.startswith("features.")]
    assert [(key, shape) for key, shape in shapes(tiny) if key.startswith("features.")] == features
    assert count_multiply_adds(build("vgg11", CIFAR10, meta=True), (3, 32, 32)) > 0


# --- pretrained weights ---------------------------------------------------------------------------


def trained_resnet20(num_classes: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    model = build("resnet20", ImageSpec(3, 8, 8, num_classes))
    with torch.no_grad():  # make every tensor, buffers included, differ from a fresh model
        for tensor in model.state_dict().values():
            tensor.add_(torch.rand_like(tensor, dtype=torch.float).to(tensor.dtype) + 1)
    return model


def assert_same_tensors(model: nn.Module, reference: nn.Module, except_keys: set[str] = frozenset()) -> None:
    expected = reference.state_dict()
    for key, tensor in model.state_dict().items():
        if key not in except_keys:
            assert torch.equal(tensor, expected[key]), key


@pytest.mark.parametrize("file_format", ["safetensors", "pt", "wrapped-pt", "checkpoint-dir"])
def test_load_pretrained_round_trip(tmp_path, file_format):
    source = trained_resnet20(7, seed=0)
    path = tmp_path / "weights.pt"
    if file_format == "safetensors":
        path = tmp_path / "weights.safetensors"
        save_file(source.state_dict(), str(path))
    elif file_format == "pt":
        torch.save(source.state_dict(), path)
    elif file_format == "wrapped-pt":
        torch.save({"state_dict": source.state_dict(), "epoch": torch.tensor(3)}, path)
    else:  # a trainlab checkpoint directory
        path = tmp_path / "checkpoint"
        path.mkdir()
        save_model(source, str(path / "model.safetensors"))
    torch.manual_seed(1)
    target = build("resnet20", ImageSpec(3, 8, 8, 7))
    report = load_pretrained(target, path)
    assert report.loaded == list(source.state_dict()) and report.skipped == []
    assert_same_tensors(target, source)


def test_builder_applies_load_pretrained_after_initialisation(tmp_path):
    source = trained_resnet20(7, seed=0)
    save_file(source.state_dict(), str(tmp_path / "weights.safetensors"))
    target = build("resnet20", ImageSpec(3, 8, 8, 7), load_pretrained=str(tmp_path / "weights.safetensors"))
    assert_same_tensors(target, source)


def test_a_head_for_another_class_count_is_kept_new_and_reported(tmp_path):
    source = trained_resnet20(10, seed=0)
    torch.save(source.state_dict(), tmp_path / "weights.pt")
    torch.manual_seed(1)
    target = build("resnet20", ImageSpec(3, 8, 8, 7))
    fresh_head = target.fc.weight.detach().clone()
    with pytest.warns(UserWarning, match="the file's classifier head has 10 classes and this model 7"):
        report = load_pretrained(target, tmp_path / "weights.pt")
    assert report.skipped == ["fc.weight", "fc.bias"]
    assert "fc.weight" not in report.loaded and len(report.loaded) == len(source.state_dict()) - 2
    assert torch.equal(target.fc.weight, fresh_head)
    assert_same_tensors(target, source, except_keys={"fc.weight", "fc.bias"})


def test_head_keys_are_the_last_linear_layer():
    imagenet_vgg, cifar_vgg = build("vgg16", IMAGENET, meta=True), build("vgg16", CIFAR10, meta=True)
    assert classifier_head_keys(imagenet_vgg) == {"classifier.6.weight", "classifier.6.bias"}
    assert classifier_head_keys(cifar_vgg) == {"classifier.1.weight", "classifier.1.bias"}
    assert classifier_head_keys(build("resnet50", IMAGENET, meta=True)) == {"fc.weight", "fc.bias"}


def test_load_pretrained_names_what_does_not_fit(tmp_path):
    weights = trained_resnet20(7, seed=0).state_dict()
    target = build("resnet20", ImageSpec(3, 8, 8, 7))
    path = tmp_path / "weights.safetensors"

    save_file({key: value for key, value in weights.items() if key != "layer1.0.conv1.weight"}, str(path))
    missing = r"does not fit ResNet: 1 missing keys: layer1\.0\.conv1\.weight; check"
    with pytest.raises(ValueError, match=missing):
        load_pretrained(target, path)

    save_file({**weights, "head.weight": torch.zeros(2), "head.bias": torch.zeros(2)}, str(path))
    with pytest.raises(ValueError, match=r"2 unexpected keys: head\.bias, head\.weight"):
        load_pretrained(target, path)

    grey = build("resnet20", ImageSpec(1, 8, 8, 7)).state_dict()
    save_file(grey, str(path))
    mismatch = r"1 shape mismatches: conv1\.weight \(16, 1, 3, 3\) in the file vs \(16, 3, 3, 3\)"
    with pytest.raises(ValueError, match=mismatch):
        load_pretrained(target, path)

    save_file({**weights, "fc.weight": torch.zeros(7, 32)}, str(path))  # a head of other features
    with pytest.raises(ValueError, match=r"fc\.weight \(7, 32\) in the file vs \(7, 64\)"):
        load_pretrained(target, path)

    many = [key for key in weights if key.endswith(".weight")]
    save_file({key: value for key, value in weights.items() if key not in many}, str(path))
    first_three = r"conv1\.weight, bn1\.weight, layer1\.0\.conv1\.weight"
    more = rf"\(\+{len(many) - 3} more\)"
    with pytest.raises(ValueError, match=rf"{len(many)} missing keys: {first_three} {more}"):
        load_pretrained(target, path)


def test_load_pretrained_tolerates_absent_batch_norm_counters(tmp_path):
    source = trained_resnet20(7, seed=0)
    counters = [key for key in source.state_dict() if key.endswith("num_batches_tracked")]
    weights = {key: value for key, value in source.state_dict().items() if key not in counters}
    save_file(weights, str(tmp_path / "old.safetensors"))
    target = build("resnet20", ImageSpec(3, 8, 8, 7))
    report = load_pretrained(target, tmp_path / "old.safetensors")
    assert report.absent_counters == counters
    assert_same_tensors(target, source, except_keys=set(report.absent_counters))


class NotATensor:
    pass


def test_load_pretrained_never_unpickles_objects(tmp_path):
    target = build("resnet20", ImageSpec(3, 8, 8, 7))
    torch.save({"state_dict": {"fc.weight": NotATensor()}}, tmp_path / "pickled.pt")
    with pytest.raises(ValueError, match="is not a weights-only torch file"):
        load_pretrained(target, tmp_path / "pickled.pt")
    torch.save({"weights": [torch.zeros(1)]}, tmp_path / "list.pt")
    no_state_dict = r"holds no state_dict \(a dict of tensors, or one under 'state_dict'\)"
    with pytest.raises(ValueError, match=no_state_dict):
        load_pretrained(target, tmp_path / "list.pt")
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"is not a weights-only torch file \(not a torch file, or"):
        load_pretrained(target, tmp_path / "garbage.pt")
    with pytest.raises(ValueError, match="model.load_pretrained: no file at"):
        load_pretrained(target, tmp_path / "absent.safetensors")

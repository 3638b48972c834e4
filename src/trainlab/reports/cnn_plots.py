"""Figures of a CNN run, read from its run directory: first-layer filters, feature maps, mistakes.

The network is rebuilt from config.yaml and data.json and given the weights its metrics were computed
with (`rundir.load_trained`), as `trainlab predict` does; the test images come from
RUN_DIR/test_examples.npz, which the image-classification pipeline writes when a run ends. Nothing
else is read: the figures need neither the dataset nor the network.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from trainlab import rundir
from trainlab.data.transforms import EvalTransform
from trainlab.errors import TrainlabError
from trainlab.reports.figures import grey_to_rgb, image_mosaic, new_figure

# The layer whose output `plot_feature_maps` shows by default: the first stage of a ResNet, the
# first conv block of simple_cnn; any other network shows its first convolution's output.
DEFAULT_LAYERS = ("layer1", "features.0")


def plot_cnn_run(
    run_dir: str | os.PathLike, layer: str | None = None, inputs: int = 4, channels: int = 8
) -> list[Path]:
    """Write the CNN figures of an image-classification run into RUN_DIR/plots; returns their paths.

    Args:
        layer: the module (a name from `model.named_modules()`, e.g. "layer2" or "features.1") whose
            output the feature-map figure shows; None: the first stage or conv block.
        inputs: how many test images the feature-map figure shows.
        channels: how many channels of the layer it shows per image.
    """
    run_dir = Path(run_dir)
    config = rundir.load_run_config(run_dir)
    if config.task != "image-classification":
        raise TrainlabError(f"'{run_dir}' is a {config.task} run; CNN figures need an image-classification run")
    trained = rundir.load_trained(run_dir, config)
    info, model = trained.info, trained.model
    plots_dir = run_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    # An MLP has no filters or feature maps to show; its mistakes are still worth a figure.
    has_convolution = any(isinstance(module, nn.Conv2d) for module in model.modules())
    written = [plot_first_layer_filters(model, plots_dir / "first_layer_filters.png")] if has_convolution else []
    examples_path = run_dir / rundir.TEST_EXAMPLES_FILE
    if examples_path.is_file():
        with np.load(examples_path) as stored:
            examples = {key: stored[key] for key in stored.files}
        if has_convolution:
            transform = rundir.eval_transform(info)
            written.append(plot_feature_maps(
                model, examples["sample_images"][:inputs], examples["sample_labels"][:inputs], info["classes"],
                transform, plots_dir / "feature_maps.png", layer, channels,
            ))
        written.append(plot_misclassified(examples, info["classes"], plots_dir / "misclassified.png"))
    return written


def first_conv(model: nn.Module) -> tuple[str, nn.Conv2d]:
    """The name and module of the first convolution the model holds."""
    found = next(((name, module) for name, module in model.named_modules() if isinstance(module, nn.Conv2d)),
                 None)
    if found is None:
        raise TrainlabError(f"{type(model).__name__} has no convolution to show")
    return found


def _image_panel(image: np.ndarray) -> np.ndarray:
    """(C, H, W) in any range -> (H, W, 3) in [0, 1]: colour images clipped to [0, 1] (uint8 divided
    by 255), anything else averaged to grey and scaled to its own range, as `imshow` would."""
    if image.dtype == np.uint8:
        image = image.astype(np.float32) / 255
    if image.shape[0] == 3:
        return np.clip(image.transpose(1, 2, 0), 0, 1)
    return grey_to_rgb(image.mean(axis=0))


def plot_first_layer_filters(
    model: nn.Module, path: str | os.PathLike, max_filters: int = 64
) -> Path:
    """Each filter of the first convolution as a small image (colour for RGB inputs, else grey), each
    scaled to its own range so that its pattern shows whatever its norm."""
    path = Path(path)
    name, conv = first_conv(model)
    weights = conv.weight.detach().float().cpu()[:max_filters].numpy()  # (F, C_in / groups, kh, kw)
    panels = []
    for kernel in weights:
        kernel = (kernel - kernel.min()) / max(float(kernel.max() - kernel.min()), 1e-12)
        panels.append(kernel.transpose(1, 2, 0) if kernel.shape[0] == 3 else grey_to_rgb(kernel.mean(axis=0)))
    kernel_size = "x".join(str(size) for size in conv.kernel_size)
    figure = image_mosaic(
        panels, min(8, len(panels)), [str(index) for index in range(len(panels))],
        f"first-layer filters ({name}: {len(panels)} of {conv.out_channels}, {kernel_size})", panel_inches=0.9,
    )
    figure.savefig(path, dpi=100)
    return path


def feature_maps(model: nn.Module, images: torch.Tensor, layer: str) -> torch.Tensor:
    """The output (B, C, H', W') of module `layer` for normalised `images` (B, C, H, W)."""
    modules = dict(model.named_modules())
    if layer not in modules:
        choices = [name for name, module in model.named_modules() if name and list(module.children())]
        raise TrainlabError(f"no layer '{layer}' in {type(model).__name__}; choose one of {', '.join(choices)}")
    captured: list[torch.Tensor] = []
    handle = modules[layer].register_forward_hook(lambda module, inputs, output: captured.append(output))
    try:
        with torch.no_grad():
            model(images)
    finally:
        handle.remove()
    output = captured[0]
    if output.dim() != 4:
        raise TrainlabError(f"layer '{layer}' gives {tuple(output.shape)}, not feature maps (B, C, H, W)")
    return output


def default_layer(model: nn.Module) -> str:
    names = {name for name, _ in model.named_modules()}
    return next((name for name in DEFAULT_LAYERS if name in names), None) or first_conv(model)[0]


def plot_feature_maps(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    classes: list[str],
    transform: EvalTransform,
    path: str | os.PathLike,
    layer: str | None = None,
    channels: int = 8,
) -> Path:
    """One row per image: the input, then the first `channels` feature maps of `layer` for it."""
    path = Path(path)
    layer = layer or default_layer(model)
    maps = feature_maps(model, transform(torch.from_numpy(images)), layer).float().numpy()
    shown = min(channels, maps.shape[1])
    panels, titles = [], []
    for row, (image, label) in enumerate(zip(images, labels)):
        panels.append(_image_panel(image))
        titles.append(f"input: {classes[int(label)]}")
        panels.extend(grey_to_rgb(maps[row, channel], "viridis") for channel in range(shown))
        titles.extend(f"channel {channel}" if row == 0 else "" for channel in range(shown))
    height, width = maps.shape[2:]
    figure = image_mosaic(panels, shown + 1, titles,
                          f"feature maps of {layer} ({maps.shape[1]} channels, {height}x{width}), test images")
    figure.savefig(path, dpi=100)
    return path


def plot_misclassified(
    examples: dict[str, np.ndarray], classes: list[str], path: str | os.PathLike
) -> Path:
    """The misclassified test images (most confident first), titled predicted / true."""
    path = Path(path)
    images = examples["misclassified_images"]
    count = len(images)
    suptitle = f"misclassified test images ({count} shown, most confident first)"
    if count == 0:
        figure, axis = new_figure(figsize=(4, 1.5))
        axis.axis("off")
        axis.text(0.5, 0.5, "no misclassified test images", ha="center", va="center")
        figure.suptitle(suptitle, fontsize=9)
    else:
        titles = []
        for predicted, true, confidence in zip(examples["misclassified_predictions"], examples["misclassified_labels"],
                                               examples["misclassified_confidence"]):
            titles.append(f"pred {classes[int(predicted)]} ({float(confidence):.0%})\ntrue {classes[int(true)]}")
        figure = image_mosaic([_image_panel(image) for image in images], min(8, count), titles, suptitle,
                              title_colour="#b22222", panel_inches=1.3)
    figure.savefig(path, dpi=100)
    return path

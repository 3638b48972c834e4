"""What an image run adds when it ends (multiply-adds, first-epoch loss, test examples) and the CNN
figures drawn from the run directory alone."""

from __future__ import annotations

import csv
import shutil

import matplotlib.image
import numpy as np
import pytest
import torch
from torch import nn

from trainlab import rundir
from trainlab.config import build_config
from trainlab.errors import TrainlabError
from trainlab.experiment import train_run
from trainlab.models import ImageSpec, build_model
from trainlab.pipelines import build_pipeline
from trainlab.pipelines.image_classification import MISCLASSIFIED_KEPT
from trainlab.reports import cnn_plots
from trainlab.reports.cnn_plots import plot_cnn_run
from trainlab.training.checkpoint import load_weights

# Small enough to leave mistakes on the test split after one epoch.
TINY_CNN = {"task": "image-classification", "data": {"source": "digits", "limit": 150},
            "model": {"name": "simple_cnn", "channels": [4], "hidden_size": 16}, "train": {"epochs": 1}}


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("cnn") / "run"
    metrics = train_run(build_config(TINY_CNN), run_dir, quiet=True)
    return run_dir, metrics


def test_metrics_count_the_multiply_adds_of_one_image(cnn_run):
    _, metrics = cnn_run
    conv = 8 * 8 * 4 * (1 * 3 * 3)  # output elements x (in_channels x kh x kw), 1x8x8 digits
    hidden = 16 * (4 * 4 * 4)  # flattened 4 channels at 4x4 after the pool
    classifier = 10 * 16
    assert metrics["multiply_adds"] == conv + hidden + classifier == 3488


def test_metrics_hold_the_first_epoch_training_loss_of_the_history(cnn_run):
    run_dir, metrics = cnn_run
    with (run_dir / rundir.HISTORY_FILE).open() as handle:
        first = next(csv.DictReader(handle))
    assert metrics["first_epoch_train_loss"] == float(first["train_loss"])


def test_saved_mistakes_are_the_models_most_confident_wrong_test_predictions(cnn_run):
    run_dir, _ = cnn_run
    config = build_config(TINY_CNN)
    pipeline = build_pipeline(config)
    images, labels = pipeline.data.test
    model = rundir.load_trained(run_dir).model  # the scored checkpoint, rebuilt from the run directory
    with torch.no_grad():
        probabilities = model(pipeline.eval_transform(images)).softmax(dim=1)
    confidence, predictions = probabilities.max(dim=1)
    wrong = (predictions != labels).nonzero().flatten()
    expected = wrong[torch.argsort(confidence[wrong], descending=True, stable=True)][:MISCLASSIFIED_KEPT]
    assert 0 < len(expected)

    saved = np.load(run_dir / rundir.TEST_EXAMPLES_FILE)
    np.testing.assert_array_equal(saved["misclassified_indices"], expected.numpy())
    np.testing.assert_array_equal(saved["misclassified_images"], images[expected].numpy())  # raw, unnormalised
    np.testing.assert_array_equal(saved["misclassified_labels"], labels[expected].numpy())
    np.testing.assert_array_equal(saved["misclassified_predictions"], predictions[expected].numpy())
    np.testing.assert_allclose(saved["misclassified_confidence"], confidence[expected].numpy(), rtol=1e-5)
    assert (saved["misclassified_predictions"] != saved["misclassified_labels"]).all()
    np.testing.assert_array_equal(saved["sample_images"], images[:8].numpy())
    np.testing.assert_array_equal(saved["sample_labels"], labels[:8].numpy())


def test_plot_cnn_run_writes_the_three_figures(cnn_run):
    run_dir, _ = cnn_run
    paths = plot_cnn_run(run_dir)
    assert [path.name for path in paths] == ["first_layer_filters.png", "feature_maps.png", "misclassified.png"]
    for path in paths:
        assert path.parent == run_dir / rundir.PLOTS_DIR
        height, width, _ = matplotlib.image.imread(path).shape
        assert height > 50 and width > 50


def test_feature_maps_come_from_the_named_layer_and_an_unknown_name_lists_the_choices(cnn_run):
    run_dir, _ = cnn_run
    model = rundir.load_trained(run_dir).model
    assert cnn_plots.default_layer(model) == "features.0"
    images = torch.rand(3, 1, 8, 8)
    maps = cnn_plots.feature_maps(model, images, "features.0")
    torch.testing.assert_close(maps, model.features[0](images))  # (3, 4, 4, 4): the block after its pool
    with pytest.raises(TrainlabError, match=r"no layer 'layer9' in SimpleCNN; choose one of features, features.0"):
        cnn_plots.feature_maps(model, images, "layer9")


def test_first_layer_filters_of_colour_inputs_and_display_of_uint8_images(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 5, 3), nn.ReLU(), nn.Conv2d(5, 2, 3))
    assert cnn_plots.first_conv(model) == ("0", model[0])
    path = cnn_plots.plot_first_layer_filters(model, tmp_path / "filters.png")
    assert matplotlib.image.imread(path).ndim == 3
    rgb = np.full((3, 2, 2), 255, dtype=np.uint8)
    picture = cnn_plots._image_panel(rgb)
    assert picture.shape == (2, 2, 3) and picture.max() == 1.0
    grey = cnn_plots._image_panel(np.array([[[2.0, 4.0], [6.0, 10.0]]]))  # one channel, scaled to its own range
    np.testing.assert_allclose(grey[..., 0], [[0.0, 0.25], [0.5, 1.0]], atol=1 / 255)


def test_a_fine_tuned_run_plots_after_its_pretrained_source_is_gone(tmp_path):
    """model.load_pretrained names another run's checkpoint; the figures use this run's own weights."""
    base = {"task": "image-classification", "data": {"source": "digits", "limit": 48},
            "model": {"name": "resnet_cifar", "depth": 8}, "train": {"epochs": 1}}
    train_run(build_config(base), tmp_path / "source", quiet=True)
    tuned = {**base, "model": {**base["model"], "load_pretrained": str(tmp_path / "source/checkpoints/best")}}
    train_run(build_config(tuned), tmp_path / "tuned", quiet=True)
    shutil.rmtree(tmp_path / "source")

    model = rundir.load_trained(tmp_path / "tuned").model
    # The same architecture without the pretrained file, given the tuned run's best checkpoint.
    expected = build_model(build_config(base).model, ImageSpec(1, 8, 8, 10), "image-classification")
    load_weights(expected, tmp_path / "tuned" / "checkpoints" / "best")
    for (name, value), (_, other) in zip(model.state_dict().items(), expected.state_dict().items()):
        torch.testing.assert_close(value, other, msg=name)
    names = [path.name for path in plot_cnn_run(tmp_path / "tuned", layer="layer2")]
    assert names == ["first_layer_filters.png", "feature_maps.png", "misclassified.png"]


def test_an_mlp_run_gets_its_mistakes_figure_and_no_filters(tmp_path):
    """An MLP has no convolution: the run's figures leave out filters and feature maps instead of
    failing the report."""
    config = {**TINY_CNN, "model": {"name": "mlp", "hidden_sizes": [16]}}
    run_dir = tmp_path / "run"
    train_run(build_config(config), run_dir, quiet=True)
    assert [path.name for path in plot_cnn_run(run_dir)] == ["misclassified.png"]

"""model.pretrained=imagenet: torchvision-named weights fetched once through the verified download
(the sha256 prefix in the file name checked), loaded key by key with a new head, and the image
pipeline feeding them what they expect. Served by a local server from a file the test makes."""

from __future__ import annotations

import hashlib
import io
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image

from local_server import refused_url, serve
from trainlab.config import build_config
from trainlab.data.transforms import random_resized_crop
from trainlab.errors import TrainlabError
from trainlab.models import ImageSpec, build_model
from trainlab.models import imagenet_weights as weights_module
from trainlab.pipelines import build_pipeline


@pytest.fixture(scope="module")
def imagenet_file():
    """A resnet18 state_dict in torchvision's keys and shapes (1,000 classes), and its bytes."""
    config = build_config({"task": "image-classification", "model": {"name": "resnet18"}}).model
    torch.manual_seed(3)
    state = build_model(config, ImageSpec(3, 64, 64, 1000), "image-classification").state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return state, buffer.getvalue()


@pytest.fixture
def served(imagenet_file, tmp_path, monkeypatch):
    """The weights served under torch.hub's kind of name (its sha256 prefix), into an empty cache."""
    monkeypatch.setenv("TRAINLAB_CACHE", str(tmp_path / "cache"))
    _, payload = imagenet_file
    name = f"resnet18-{hashlib.sha256(payload).hexdigest()[:8]}.pth"
    monkeypatch.setitem(weights_module.FILES, "resnet18", name)
    with serve({f"/models/{name}": payload}) as server:
        monkeypatch.setattr(weights_module, "BASE_URL", server.url("/models"))
        yield server, name, tmp_path / "cache" / "imagenet-weights" / name


def resnet18(classes: int, pretrained: str = "imagenet"):
    config = build_config({"task": "image-classification",
                           "model": {"name": "resnet18", "pretrained": pretrained}}).model
    return build_model(config, ImageSpec(3, 32, 32, classes), "image-classification")


def test_the_weights_load_with_a_new_head_and_come_from_the_cache_afterwards(imagenet_file, served, monkeypatch):
    state, _ = imagenet_file
    server, name, cached = served
    with pytest.warns(UserWarning, match="kept the new, freshly initialised head"):
        model = resnet18(classes=5)
    for key, tensor in model.state_dict().items():
        if key.startswith("fc."):
            assert tensor.shape[0] == 5
        else:
            torch.testing.assert_close(tensor, state[key], msg=key)
    assert server.requests == [f"/models/{name}"] and cached.is_file()
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("used the network"))
    with pytest.warns(UserWarning):
        again = resnet18(classes=5)  # offline now: the verified copy in the cache
    torch.testing.assert_close(again.state_dict()["conv1.weight"], state["conv1.weight"])


def test_a_file_whose_sha256_does_not_start_as_its_name_says_is_discarded(served, monkeypatch):
    _, name, cached = served
    wrong = name.replace(name.split("-")[1][:8], "0badf00d")
    monkeypatch.setitem(weights_module.FILES, "resnet18", wrong)
    with serve({f"/models/{wrong}": b"not the weights"}) as other:
        monkeypatch.setattr(weights_module, "BASE_URL", other.url("/models"))
        with pytest.raises(TrainlabError, match=r"gave sha256 [0-9a-f]{64}, expected 0badf00d; the download was discarded"):
            resnet18(classes=5)
    assert not cached.parent.exists() or list(cached.parent.iterdir()) == []


def test_a_truncated_download_keeps_nothing(imagenet_file, served, monkeypatch):
    _, payload = imagenet_file
    _, name, cached = served
    with serve({f"/models/{name}": payload}, truncate={f"/models/{name}": 1000}) as broken:
        monkeypatch.setattr(weights_module, "BASE_URL", broken.url("/models"))
        with pytest.raises(TrainlabError, match="connection closed after 1000 of"):
            resnet18(classes=5)
    assert list(cached.parent.iterdir()) == []


def test_offline_without_the_cache_says_where_the_file_goes_and_what_else_to_do(served, monkeypatch):
    _, _, cached = served
    monkeypatch.setattr(weights_module, "BASE_URL", refused_url("/models"))
    with pytest.raises(TrainlabError) as error:
        resnet18(classes=5)
    message = str(error.value)
    assert f"put it at {cached}" in message and "model.load_pretrained=PATH" in message
    assert "\n" not in message


def test_models_without_imagenet_weights_and_both_sources_are_refused():
    with pytest.raises(TrainlabError, match="no ImageNet weights for resnet20; they exist for resnet18"):
        build_model(build_config({"task": "image-classification", "model": {"name": "resnet20",
                                  "pretrained": "imagenet"}}).model, ImageSpec(3, 32, 32, 10), "image-classification")
    with pytest.raises(ValueError, match="not both"):
        build_model(build_config({"task": "image-classification", "model": {
            "name": "resnet18", "pretrained": "imagenet", "load_pretrained": "x.pt"}}).model,
            ImageSpec(3, 32, 32, 10), "image-classification")


def test_the_pipeline_feeds_imagenet_weights_224_rgb_with_imagenet_statistics(served, tmp_path):
    for label in ("cat", "dog"):
        (tmp_path / "photos" / label).mkdir(parents=True)
        for index in range(6):
            pixels = np.random.default_rng(index).integers(0, 256, (40, 50), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "photos" / label / f"{index}.png")  # grayscale files
    config = build_config({"task": "image-classification", "data": {"source": str(tmp_path / "photos")},
                           "model": {"name": "resnet18", "pretrained": "imagenet"}})
    pipeline = build_pipeline(config)
    assert (pipeline.spec.in_channels, pipeline.spec.height, pipeline.spec.width) == (3, 224, 224)
    normalize = pipeline.eval_transform.normalize
    assert normalize.mean == weights_module.MEAN and normalize.std == weights_module.STD
    assert pipeline.augment.random_resized_crop and pipeline.augment.flip
    assert pipeline.summary().splitlines()[-1] == (
        "ImageNet weights (resnet18): inputs 224x224 RGB, normalised with ImageNet's mean and std; "
        "training augmentation flip, random-resized-crop")
    # A recipe the user chose is kept.
    chosen = build_config({**config.model_dump(), "data": {"source": str(tmp_path / "photos"),
                                                          "augment": {"flip": True}}})
    assert not build_pipeline(chosen).augment.random_resized_crop


def test_random_resized_crop_zooms_into_a_box_of_the_asked_area():
    """A quarter of the area at aspect 1 is half the width and height: a linear ramp comes out with
    half its slope, still inside the image's range."""
    ramp = torch.linspace(-1, 1, 64)
    images = torch.stack([ramp.expand(64, 64), ramp[:, None].expand(64, 64)])[None].repeat(8, 1, 1, 1)
    cropped = random_resized_crop(images, torch.Generator().manual_seed(0), area=(0.25, 0.25), ratio=(1, 1))
    inner = cropped[:, :, 2:-2, 2:-2]  # away from the border's interpolation
    slope_x = (inner[:, 0, :, 1:] - inner[:, 0, :, :-1]).mean().item()
    slope_y = (inner[:, 1, 1:, :] - inner[:, 1, :-1, :]).mean().item()
    step = (ramp[1] - ramp[0]).item()
    assert slope_x == pytest.approx(step / 2, rel=1e-3) and slope_y == pytest.approx(step / 2, rel=1e-3)
    assert cropped.min() >= -1 and cropped.max() <= 1
    whole = random_resized_crop(images, torch.Generator().manual_seed(0), area=(1, 1), ratio=(1, 1))
    torch.testing.assert_close(whole, images, atol=1e-5, rtol=0)  # the whole image: unchanged

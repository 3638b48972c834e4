"""torchvision's ImageNet weights for the models that share its layout and keys (`model.pretrained=imagenet`).

Each file is downloaded once into the cache (`data/download.py`: streamed to a temporary file,
verified, then renamed). torch.hub's convention names a file after the first 8 hex digits of its
sha256 (resnet18-f37072fd.pth), and that prefix is what is checked: torchvision publishes no full
digests. The file is read with `weights_only=True` and loaded key by key (`models/pretrained.py`),
the classifier head left new when the run has other classes than ImageNet's 1,000.
"""

from __future__ import annotations

import re
from pathlib import Path

from trainlab.data.download import Resource, fetch
from trainlab.errors import TrainlabError

BASE_URL = "https://download.pytorch.org/models"
# torchvision's IMAGENET1K_V1 weights (the originals; resnet50 has a V2 that needs a longer recipe).
FILES = {
    "resnet18": "resnet18-f37072fd.pth",
    "resnet34": "resnet34-b627a593.pth",
    "resnet50": "resnet50-0676ba61.pth",
    "resnet101": "resnet101-63fe2227.pth",
    "resnext50_32x4d": "resnext50_32x4d-7cdf4587.pth",
    "vgg11": "vgg11-8a719046.pth",
    "vgg11_bn": "vgg11_bn-6002323d.pth",
    "vgg13": "vgg13-19584684.pth",
    "vgg13_bn": "vgg13_bn-abd245e5.pth",
    "vgg16": "vgg16-397923af.pth",
    "vgg16_bn": "vgg16_bn-6c64b313.pth",
    "vgg19": "vgg19-dcbb9e9d.pth",
    "vgg19_bn": "vgg19_bn-c79401a0.pth",
}
# What the weights were trained on: inputs of this size, scaled to [0, 1], then normalised so.
IMAGE_SIZE = (224, 224)
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
_HASH_PREFIX = re.compile(r"-([0-9a-f]{8,64})\.pth$")


def weights_resource(model_name: str) -> Resource:
    """Where the model's ImageNet weights come from and the sha256 prefix they must have."""
    if model_name not in FILES:
        raise TrainlabError(
            f"model.pretrained=imagenet: there are no ImageNet weights for {model_name}; they exist for "
            f"{', '.join(FILES)}"
        )
    filename = FILES[model_name]
    return Resource("imagenet-weights", f"{BASE_URL}/{filename}", _HASH_PREFIX.search(filename).group(1), filename,
                    own_copy="give a copy with model.load_pretrained=PATH instead of model.pretrained=imagenet")


def imagenet_weights(model_name: str, quiet: bool = False) -> Path:
    """The verified local file of the model's ImageNet weights, downloaded on first use."""
    return fetch(weights_resource(model_name), quiet=quiet)

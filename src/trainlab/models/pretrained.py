"""Load weights trained elsewhere (torchvision, converted timm weights, another run) into a model.

Keys map one to one, strictly: the only tolerated differences are a classifier head whose class count
differs (the model keeps its new head, as transfer learning wants) and BatchNorm's
`num_batches_tracked` counters, which older checkpoints lack. Nothing is unpickled: a torch file is
read with `weights_only=True`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from trainlab.training.checkpoint import WEIGHTS_FILE

_SHOWN = 3  # keys named per kind of problem in an error message


@dataclass(frozen=True)
class LoadReport:
    """What `load_pretrained` did, key by key (state_dict names)."""

    loaded: list[str]
    skipped: list[str]  # the classifier head's keys, kept as initialised: its class count differs
    absent_counters: list[str]  # num_batches_tracked buffers the file lacks (left as they were)

    def __str__(self) -> str:
        text = f"loaded {len(self.loaded)} tensors"
        if self.skipped:
            text += f"; kept the new classifier head ({', '.join(self.skipped)})"
        return text


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a .safetensors file, a weights-only torch file (a state_dict or
    {"state_dict": ...}), or a trainlab checkpoint directory (its model.safetensors)."""
    path = Path(path)
    if path.is_dir():
        path = path / WEIGHTS_FILE
    if not path.is_file():
        raise ValueError(f"model.load_pretrained: no file at '{path}'; give a .safetensors or .pt file")
    if path.suffix == ".safetensors":
        return load_file(str(path))
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types, and says more than one line
        raise ValueError(
            f"model.load_pretrained: '{path}' is not a weights-only torch file (not a torch file, or "
            f"it holds objects other than tensors, which are never unpickled); save model.state_dict() "
            f"with torch.save, or use a .safetensors file"
        ) from error
    if isinstance(content, dict) and isinstance(content.get("state_dict"), dict):
        content = content["state_dict"]
    tensors_only = isinstance(content, dict) and all(
        isinstance(value, torch.Tensor) for value in content.values()
    )
    if not tensors_only:
        raise ValueError(
            f"model.load_pretrained: '{path}' holds no state_dict (a dict of tensors, or one under "
            f"'state_dict')"
        )
    return content


def classifier_head_keys(model: nn.Module) -> set[str]:
    """state_dict keys of the model's last linear layer, the one whose size is the class count."""
    linear_names = [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    if not linear_names:
        return set()
    prefix = f"{linear_names[-1]}." if linear_names[-1] else ""
    return {prefix + "weight", prefix + "bias"}


def load_pretrained(model: nn.Module, path: str | Path) -> LoadReport:
    """Copy the tensors saved at `path` into `model`, key by key.

    A classifier head whose shape differs only in its number of classes is left as initialised (with a
    warning that says so); any other missing, unexpected or differently shaped key is a ValueError that
    names the first few of each.
    """
    saved = read_state_dict(path)
    expected = model.state_dict()
    head_keys = classifier_head_keys(model)
    missing = [key for key in expected if key not in saved and not key.endswith("num_batches_tracked")]
    absent_counters = [key for key in expected if key not in saved and key.endswith("num_batches_tracked")]
    unexpected = [key for key in saved if key not in expected]
    skipped, mismatched = [], []
    for key, tensor in expected.items():
        if key not in saved or saved[key].shape == tensor.shape:
            continue
        if key in head_keys and saved[key].shape[1:] == tensor.shape[1:]:
            skipped.append(key)
        else:
            mismatched.append(f"{key} {tuple(saved[key].shape)} in the file vs {tuple(tensor.shape)}")
    problems = [
        _first_few("missing keys", missing),
        _first_few("unexpected keys", unexpected),
        _first_few("shape mismatches", mismatched),
    ]
    problems = [problem for problem in problems if problem]
    if problems:
        raise ValueError(
            f"model.load_pretrained: '{path}' does not fit {type(model).__name__}: {'; '.join(problems)}; "
            f"check that the file holds this architecture's weights (torchvision key names)"
        )
    loaded = {key: tensor for key, tensor in saved.items() if key not in skipped}
    model.load_state_dict(loaded, strict=False)
    report = LoadReport([key for key in expected if key in loaded], skipped, absent_counters)
    if skipped:
        old_classes, new_classes = saved[skipped[0]].shape[0], expected[skipped[0]].shape[0]
        warnings.warn(
            f"model.load_pretrained: the file's classifier head has {old_classes} classes and this "
            f"model {new_classes}; kept the new, freshly initialised head ({', '.join(skipped)})",
            stacklevel=2,
        )
    return report


def _first_few(kind: str, keys: list[str]) -> str:
    if not keys:
        return ""
    more = f" (+{len(keys) - _SHOWN} more)" if len(keys) > _SHOWN else ""
    return f"{len(keys)} {kind}: {', '.join(keys[:_SHOWN])}{more}"

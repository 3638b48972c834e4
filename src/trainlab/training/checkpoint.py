"""Checkpoints that load without unpickling: safetensors for tensors, JSON for everything else.

A checkpoint directory holds
    model.safetensors   the model's weights (loadable by any safetensors reader)
    state.safetensors   every other tensor: optimizer moments, RNG states, callbacks' tensors
    state.json          epoch, step, history, optimizer hyper-parameters, callback states, with
                        {"__tensor__": key} where a tensor of state.safetensors belongs
It is written into a temporary directory and renamed into place, so a kill never leaves half of one.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from trainlab.errors import TrainlabError
from trainlab.runs import give_default_mode
from trainlab.training.state import TrainState

FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
STATE_TENSORS_FILE = "state.safetensors"
STATE_FILE = "state.json"


def save_checkpoint(directory: Path, state: TrainState) -> None:
    """Write the whole training state to `directory`, replacing any checkpoint there atomically."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}-"))
    try:
        save_weights(state.model, temporary / WEIGHTS_FILE)
        tensors: dict[str, torch.Tensor] = {}
        document = to_json_and_tensors(training_state_dict(state), tensors)
        save_file(tensors, str(temporary / STATE_TENSORS_FILE))
        (temporary / STATE_FILE).write_text(json.dumps(document))
        for written in (temporary, temporary / WEIGHTS_FILE, temporary / STATE_TENSORS_FILE):
            give_default_mode(written)
        _replace_directory(temporary, directory)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def save_weights(model: torch.nn.Module, path: Path) -> None:
    """Write the model's weights as safetensors, in the layout `safetensors.torch.load_model` reads.

    safetensors wants every tensor to own its storage. Tied weights (one tensor under two names)
    are written once, under the first name, with the other name pointing at it in the metadata, as
    `safetensors.torch.save_model` does. But that function refuses cuDNN's recurrent weights on the
    GPU, which are views into one flat buffer none of them covers, so each tensor is copied out.
    """
    tensors: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    first_name: dict[tuple, str] = {}
    for name, tensor in model.state_dict().items():
        identity = (tensor.device, tensor.data_ptr(), tensor.dtype, tuple(tensor.shape), tensor.stride())
        if tensor.numel() and identity in first_name:
            aliases[name] = first_name[identity]
            continue
        first_name[identity] = name
        tensors[name] = tensor.detach().to("cpu", copy=True).contiguous()
    save_file(tensors, str(path), metadata=aliases or None)


def read_weights(model: torch.nn.Module, path: Path) -> None:
    """Load weights that `save_weights` (or safetensors' own `save_model`) wrote, strictly."""
    device = next(model.parameters()).device
    tensors = load_file(str(path), device=str(device))
    with safe_open(str(path), framework="pt") as opened:
        metadata = opened.metadata() or {}
    for alias, name in metadata.items():
        if alias not in tensors and name in tensors:
            tensors[alias] = tensors[name]
    model.load_state_dict(tensors)


def _replace_directory(new: Path, target: Path) -> None:
    # rename(2) cannot replace a non-empty directory: move the old one aside first. A kill between
    # the two renames leaves `<target>.old`, which `checkpoint_path` falls back to.
    old = target.with_name(target.name + ".old")
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def checkpoint_path(directory: Path) -> Path | None:
    """The usable checkpoint at `directory` (or the one a kill left beside it), else None."""
    for candidate in (Path(directory), Path(str(directory) + ".old")):
        if (candidate / STATE_FILE).is_file():
            return candidate
    return None


def training_state_dict(state: TrainState) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "epoch": state.epoch,
        "step": state.step,
        "history": state.history,
        # An early stop decided at this epoch must survive a kill before the run wrote its metrics.
        "should_stop": state.should_stop,
        "stop_reason": state.stop_reason,
        "optimizer": state.optimizer.state_dict(),
        "scaler": state.scaler.state_dict() if state.scaler is not None else None,
        "callbacks": {_callback_key(i, cb): cb.state_dict() for i, cb in enumerate(state.callbacks)},
        "rng": {
            "python": random.getstate(),
            "numpy": np.random.get_state(),
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        },
    }


def load_weights(model: torch.nn.Module, directory: Path) -> None:
    """Load only the model weights of a checkpoint (evaluation, prediction, best weights)."""
    found = checkpoint_path(directory)
    if found is None:
        raise TrainlabError(f"no checkpoint in '{directory}'")
    read_weights(model, found / WEIGHTS_FILE)


def saved_epoch(directory: Path) -> int:
    """The epoch the checkpoint at `directory` (a usable one, see `checkpoint_path`) was saved after."""
    return json.loads((Path(directory) / STATE_FILE).read_text())["epoch"]


def restore_checkpoint(directory: Path, state: TrainState) -> dict[str, Any]:
    """Put the model, optimizer, counters, history and RNGs back as they were saved.

    Returns the callbacks' saved states, for `load_callback_states` once the callbacks have been
    reset at the start of fit.
    """
    found = checkpoint_path(directory)
    if found is None:
        raise TrainlabError(f"no checkpoint in '{directory}'")
    load_weights(state.model, found)
    document = json.loads((found / STATE_FILE).read_text())
    if document.get("format") != FORMAT_VERSION:
        raise TrainlabError(f"checkpoint '{found}' has format {document.get('format')}, "
                            f"this trainlab reads format {FORMAT_VERSION}")
    saved = from_json_and_tensors(document, load_file(str(found / STATE_TENSORS_FILE)))
    state.epoch, state.step, state.history = saved["epoch"], saved["step"], saved["history"]
    state.should_stop, state.stop_reason = saved["should_stop"], saved["stop_reason"]
    state.optimizer.load_state_dict(saved["optimizer"])
    _give_moments_their_parameters_layout(state.optimizer)
    if state.scaler is not None and saved["scaler"] is not None:
        state.scaler.load_state_dict(saved["scaler"])
    rng = saved["rng"]
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return saved["callbacks"]


def _give_moments_their_parameters_layout(optimizer: torch.optim.Optimizer) -> None:
    """safetensors stores every tensor contiguous, so the moments of a channels_last parameter come
    back in another memory order than the parameter's. torch's fused Adam walks parameter, gradient
    and moments in memory order without checking their strides: it would pair each weight with
    another weight's moments and train on silently wrong (measured with torch 2.13 on the CPU)."""
    for parameter, moments in optimizer.state.items():
        for key, value in moments.items():
            if (isinstance(value, torch.Tensor) and value.shape == parameter.shape
                    and value.stride() != parameter.stride()):
                moments[key] = torch.empty_like(parameter, dtype=value.dtype).copy_(value)


def load_callback_states(state: TrainState, callback_states: dict[str, Any], by_type: bool = False) -> None:
    """Give each callback its saved state, matched by position and type.

    With `by_type`, the k-th callback of a type gets the k-th saved state of that type: a rank
    other than 0 of a distributed run has no callbacks that write files, so positions differ.
    """
    if by_type:
        saved_by_type: dict[str, list[Any]] = {}
        for key, saved in callback_states.items():
            saved_by_type.setdefault(key.split(":", 1)[1], []).append(saved)
        seen: dict[str, int] = {}
        for callback in state.callbacks:
            name = type(callback).__name__
            occurrence = seen[name] = seen.get(name, -1) + 1
            if occurrence >= len(saved_by_type.get(name, [])):
                raise TrainlabError(f"the checkpoint has no state for callback {name}; it was written "
                                    f"with other callbacks ({', '.join(callback_states)})")
            callback.load_state_dict(saved_by_type[name][occurrence])
        return
    for index, callback in enumerate(state.callbacks):
        key = _callback_key(index, callback)
        if key not in callback_states:
            raise TrainlabError(
                f"the checkpoint has no state for callback {key}; it was written with other "
                f"callbacks ({', '.join(callback_states)})"
            )
        callback.load_state_dict(callback_states[key])


def _callback_key(index: int, callback: Any) -> str:
    return f"{index}:{type(callback).__name__}"


def to_json_and_tensors(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """A JSON-able copy of `value` whose tensors and arrays move into `tensors`.

    Tuples and dicts with non-string keys (optimizer states are keyed by parameter index) are
    tagged so that `from_json_and_tensors` gives back exactly the same structure.
    """
    if isinstance(value, torch.Tensor):
        key = str(len(tensors))
        tensors[key] = value.detach().cpu().clone().contiguous()
        return {"__tensor__": key}
    if isinstance(value, np.ndarray):
        key = str(len(tensors))
        # safetensors has no uint32 for torch; int64 holds every value NumPy's RNG state has.
        tensors[key] = torch.from_numpy(value.astype(np.int64, copy=True))
        return {"__ndarray__": key, "dtype": str(value.dtype)}
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value):
            return {key: to_json_and_tensors(item, tensors) for key, item in value.items()}
        return {"__items__": [[key, to_json_and_tensors(item, tensors)] for key, item in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [to_json_and_tensors(item, tensors) for item in value]}
    if isinstance(value, list):
        return [to_json_and_tensors(item, tensors) for item in value]
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value


def from_json_and_tensors(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, dict):
        if "__tensor__" in value:
            return tensors[value["__tensor__"]]
        if "__ndarray__" in value:
            return tensors[value["__ndarray__"]].numpy().astype(value["dtype"])
        if "__items__" in value:
            return {key: from_json_and_tensors(item, tensors) for key, item in value["__items__"]}
        if "__tuple__" in value:
            return tuple(from_json_and_tensors(item, tensors) for item in value["__tuple__"])
        return {key: from_json_and_tensors(item, tensors) for key, item in value.items()}
    if isinstance(value, list):
        return [from_json_and_tensors(item, tensors) for item in value]
    return value

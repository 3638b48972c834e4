"""`trainlab export RUN_DIR --format onnx|torchscript --out FILE`: a trained model that runs without
trainlab, with a JSON beside it saying what a caller must feed it and how to read what it returns.

The scored checkpoint is rebuilt from the run directory (`rundir.load_trained`) and exported with a
dynamic batch dimension (and, for texts, a dynamic length):

- image classifiers take `images` (N, C, H, W) float32, already scaled to [0, 1] and normalised with
  the mean and std in the JSON; they return `logits` (N, classes);
- text classifiers take `tokens` (N, T) int64, right-padded with the tokenizer's padding id, and
  `lengths` (N,) int64; the tokenizer (vocabulary, lower-casing, length cut) is copied beside the
  file as FILE.tokenizer.json; they return `logits` (N, classes);
- forecasters take `window` (N, window, features) float32, each feature scaled with the scalers in
  the JSON (targets first, then covariates); they return `forecast` (N, horizon, targets) on that
  scale.

ONNX goes through PyTorch's TorchScript-based exporter (`dynamo=False`), which needs the onnx
package (`pip install onnx`, or trainlab's `export` extra); the dynamo exporter would also need
onnxscript.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from trainlab import rundir, runs
from trainlab.data.calendar import input_covariates
from trainlab.errors import TrainlabError

FORMATS = ("onnx", "torchscript")
OPSET = 17


def export_run(run_dir: str | os.PathLike, format: str, out: str | os.PathLike) -> list[Path]:
    """Write the run's model to `out` in `format` and the description beside it; returns the paths."""
    run_dir, out = Path(run_dir), Path(out)
    if format not in FORMATS:
        raise TrainlabError(f"--format {format}: choose one of {', '.join(FORMATS)}")
    if format == "onnx":
        try:
            import onnx  # noqa: F401  (torch's exporter writes the file with it)
        except ImportError:
            raise TrainlabError("ONNX export needs the onnx package: pip install onnx "
                                "(or trainlab[export]); --format torchscript needs nothing more") from None
    config = rundir.load_run_config(run_dir)
    trained = rundir.load_trained(run_dir, config)
    example, description = _signature(config.task, trained, run_dir)
    model = trained.model.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.partial")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporters' deprecation and tracer notices
            if format == "onnx":
                _to_onnx(model, example, description, temporary)
            else:
                torch.jit.trace(model, tuple(example.values())).save(str(temporary))
        temporary.replace(out)
    finally:
        temporary.unlink(missing_ok=True)
    written = [out]
    if trained.encoder is not None:
        tokenizer = out.with_name(f"{out.name}.tokenizer.json")
        shutil.copyfile(run_dir / rundir.ENCODER_FILE, tokenizer)
        description["tokenizer"] = tokenizer.name
        written.append(tokenizer)
    sidecar = out.with_name(f"{out.name}.json")
    runs.write_json(sidecar, {"format": format, "task": config.task, "model": config.model.name,
                              "run_dir": str(run_dir), **description})
    written.append(sidecar)
    return written


def _signature(task: str, trained: rundir.TrainedRun, run_dir: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Example inputs by name, and the JSON description of inputs, outputs and preprocessing."""
    info = trained.info
    if task == "image-classification":
        channels, height, width = info["image_shape"]
        return {"images": torch.zeros(2, channels, height, width)}, {
            "inputs": {"images": {"shape": ["N", channels, height, width], "dtype": "float32"}},
            "outputs": {"logits": {"shape": ["N", len(info["classes"])], "dtype": "float32"}},
            "classes": info["classes"],
            "preprocessing": "pixels scaled to [0, 1], then (x - mean) / std per channel",
            "normalize": info["normalize"],
        }
    if task == "text-classification":
        # Two texts of different lengths, so that the traced graph keeps the padding path.
        tokens = torch.tensor([[5, 6, 7, 8], [5, 6, 0, 0]])
        tokens = tokens.clamp(max=len(trained.encoder.vocab) - 1)
        return {"tokens": tokens, "lengths": torch.tensor([4, 2])}, {
            "inputs": {"tokens": {"shape": ["N", "T"], "dtype": "int64", "padding_id": 0},
                       "lengths": {"shape": ["N"], "dtype": "int64"}},
            "outputs": {"logits": {"shape": ["N", len(info["classes"])], "dtype": "float32"}},
            "classes": info["classes"],
            "preprocessing": "the tokenizer file's tokens, ids right-padded with 0",
        }
    if task == "forecast":
        covariates = input_covariates(info)
        features = len(info["targets"]) + len(covariates)
        return {"window": torch.zeros(2, info["window"], features)}, {
            "inputs": {"window": {"shape": ["N", info["window"], features], "dtype": "float32"}},
            "outputs": {"forecast": {"shape": ["N", info["horizon"], len(info["targets"])], "dtype": "float32"}},
            "targets": info["targets"], "covariates": covariates,
            "calendar": "covariates named ATTRIBUTE_sin/_cos are sin/cos(2 pi position / cycle) of the step's "
                        "time: hour of day (cycle 24), day of week (7, Monday 0), day of year (365.25, "
                        "1 January 0) or month (12, January 0), fractions of the unit included",
            "preprocessing": "each feature (targets, then covariates) as (x - offset) / scale; the "
                             "forecast comes back on the targets' scale: forecast * scale + offset",
            "target_scaler": info["target_scaler"], "covariate_scaler": info.get("covariate_scaler"),
        }
    raise TrainlabError(f"'{run_dir}' is a {task} run; export takes image-classification, "
                        f"text-classification and forecast runs")


def _to_onnx(model: nn.Module, example: dict[str, torch.Tensor], description: dict[str, Any], path: Path) -> None:
    names = list(example)
    output = next(iter(description["outputs"]))
    dynamic = {name: {0: "N"} for name in [*names, output]}
    if "tokens" in dynamic:
        dynamic["tokens"] = {0: "N", 1: "T"}
    torch.onnx.export(model, tuple(example.values()), str(path), input_names=names, output_names=[output],
                      dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)


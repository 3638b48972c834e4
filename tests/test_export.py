"""`trainlab export`: the exported file, run by onnxruntime or torch.jit without trainlab, gives the
trained model's outputs to 1e-5, for images, texts (other lengths than traced) and forecasts."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from trainlab import rundir
from trainlab.cli import main

RUNS = {
    "image-classification": ["--data", "digits", "data.limit=120", "model.channels=[4]", "model.hidden_size=8"],
    "text-classification": ["--data", "synthetic-reviews", "data.num_examples=120", "model.hidden_size=8",
                            "model.embedding_dim=8", "model.bidirectional=true", "model.pooling=max"],
    "forecast": ["--data", "nile", "model.hidden_size=8", "data.window=12", "data.horizon=3"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    made = {}
    for task, settings in RUNS.items():
        run_dir = tmp_path_factory.mktemp(task) / "run"
        assert main(["train", task, "--out", str(run_dir), "--quiet", "train.epochs=1", *settings]) == 0
        made[task] = run_dir
    return made


def inputs_for(task: str, run_dir) -> tuple[torch.Tensor, ...]:
    """Inputs unlike the traced examples: another batch size and, for texts, other lengths."""
    generator = torch.Generator().manual_seed(0)
    info = json.loads((run_dir / rundir.DATA_FILE).read_text())
    if task == "image-classification":
        return (torch.randn(5, *info["image_shape"], generator=generator),)
    if task == "text-classification":
        lengths = torch.tensor([9, 3, 7])
        tokens = torch.randint(2, info["vocab_size"], (3, 9), generator=generator)
        tokens[torch.arange(9) >= lengths[:, None]] = 0
        return tokens, lengths
    return (torch.randn(4, info["window"], 1, generator=generator),)


def reference(run_dir, inputs) -> np.ndarray:
    model = rundir.load_trained(run_dir).model.eval()
    with torch.no_grad():
        return model(*inputs).numpy()


@pytest.mark.parametrize("task", list(RUNS))
def test_onnx_runs_in_onnxruntime_with_the_models_outputs(runs, task, tmp_path, trainlab):
    onnxruntime = pytest.importorskip("onnxruntime")
    out = tmp_path / "model.onnx"
    code, printed, err = trainlab("export", runs[task], "--format", "onnx", "--out", out)
    assert code == 0, err
    description = json.loads((tmp_path / "model.onnx.json").read_text())
    assert description["task"] == task and str(out) in printed
    inputs = inputs_for(task, runs[task])
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    feed = {name: tensor.numpy() for name, tensor in zip(description["inputs"], inputs)}
    assert [item.name for item in session.get_inputs()] == list(description["inputs"])
    (outputs,) = session.run(None, feed)
    np.testing.assert_allclose(outputs, reference(runs[task], inputs), atol=1e-5, rtol=1e-5)
    if task == "text-classification":
        assert (tmp_path / "model.onnx.tokenizer.json").read_text() == (runs[task] / rundir.ENCODER_FILE).read_text()
    if task == "image-classification":
        assert description["normalize"] == json.loads((runs[task] / rundir.DATA_FILE).read_text())["normalize"]


@pytest.mark.parametrize("task", list(RUNS))
def test_torchscript_loads_with_torch_jit_alone(runs, task, tmp_path, trainlab):
    out = tmp_path / "model.pt"
    assert trainlab("export", runs[task], "--format", "torchscript", "--out", out)[0] == 0
    loaded = torch.jit.load(str(out))
    inputs = inputs_for(task, runs[task])
    with torch.no_grad():
        np.testing.assert_allclose(loaded(*inputs).numpy(), reference(runs[task], inputs), atol=1e-5, rtol=1e-5)


def test_export_refuses_what_it_cannot_export(runs, tmp_path, trainlab):
    code, _, err = trainlab("export", tmp_path, "--format", "onnx", "--out", tmp_path / "x.onnx")
    assert code == 2 and "is not a run directory" in err
    assert not (tmp_path / "x.onnx").exists()


def test_onnx_without_the_onnx_package_says_what_to_install(runs, tmp_path, trainlab, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)  # as if not installed
    code, _, err = trainlab("export", runs["forecast"], "--format", "onnx", "--out", tmp_path / "m.onnx")
    assert code == 2 and "ONNX export needs the onnx package: pip install onnx" in err
    assert list(tmp_path.iterdir()) == []

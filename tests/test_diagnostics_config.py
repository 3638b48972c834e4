"""The config's `diagnostics` section works for any task: an image run records per-layer gradient
norms and spectra into RUN_DIR/diagnostics and draws their figures beside the CNN's own."""

from __future__ import annotations

import numpy as np

from trainlab.config import DataConfig
from trainlab.data.sources import load_source


def test_an_image_run_records_layer_norms_whose_squares_sum_to_the_global_norm(trainlab, tmp_path):
    run_dir = tmp_path / "run"
    code, _, err = trainlab(
        "train", "image-classification", "--data", "digits", "--out", run_dir, "--quiet",
        "train.epochs=1", "data.batch_size=128", "model.channels=[8]", "model.hidden_size=16",
        "diagnostics.grad_norms=true", "diagnostics.grad_norms_every=2", "train.grad_clip_norm=0.5",
    )
    assert code == 0, err
    with np.load(run_dir / "diagnostics" / "grad_norms.npz") as arrays:
        steps, layers = arrays["steps"], list(arrays["layers"])
        layer_norms, before, after = arrays["layer_norms"], arrays["global_before"], arrays["global_after"]
    train_examples = len(load_source("image-classification", DataConfig(source="digits")).train[0])
    batches = -(-train_examples // 128)  # the last, partial batch is a step too
    assert list(steps) == list(range(0, batches, 2))  # every second optimizer step, from the first
    assert layers[0] == "features.0.0" and layers[-1].startswith("head")
    # Per-layer norms partition the parameters: their squares add up to the global norm's square.
    np.testing.assert_allclose(np.sqrt((layer_norms**2).sum(axis=1)), before, rtol=1e-5)
    np.testing.assert_allclose(after, np.minimum(before, 0.5), rtol=1e-4)
    plots = {path.name for path in (run_dir / "plots").iterdir()}
    assert {"grad_norm_heatmap.png", "grad_norms.png", "first_layer_filters.png"} <= plots

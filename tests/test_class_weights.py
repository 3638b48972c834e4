"""train.class_weights=balanced: scikit-learn's weights, on the training loss only."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.utils.class_weight import compute_class_weight
from torch import nn

from trainlab.config import build_config
from trainlab.pipelines import build_pipeline
from trainlab.training.tasks import ClassificationTask, balanced_class_weights


def test_balanced_weights_are_scikit_learns():
    labels = np.random.default_rng(0).choice(4, size=500, p=[0.6, 0.25, 0.1, 0.05])
    expected = compute_class_weight("balanced", classes=np.arange(4), y=labels)
    np.testing.assert_allclose(balanced_class_weights(torch.from_numpy(labels), 4).numpy(), expected, rtol=1e-6)
    # a class with no example: no loss term to weigh, and no division by zero
    torch.testing.assert_close(balanced_class_weights(torch.tensor([0, 0, 2]), 3), torch.tensor([0.5, 0.0, 1.0]))


def test_the_weights_shape_the_training_loss_only():
    weights = torch.tensor([0.5, 2.0, 1.0])
    logits = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    targets = torch.tensor([0, 1, 1, 2, 0, 0])
    task = ClassificationTask(3, class_weights=weights)
    model = nn.Identity()
    loss, _, _ = task.forward(model, (logits, targets), training=True)
    per_example = -logits.log_softmax(dim=1)[torch.arange(6), targets]
    by_hand = (weights[targets] * per_example).sum() / weights[targets].sum()  # PyTorch's weighted mean
    torch.testing.assert_close(loss, by_hand)
    evaluated, _, _ = task.forward(model, (logits, targets), training=False)
    torch.testing.assert_close(evaluated, F.cross_entropy(logits, targets))  # comparable across runs


@pytest.mark.parametrize("setting", ["balanced", "none"])
def test_a_run_weighs_its_training_split_and_says_so(setting):
    config = build_config({"task": "image-classification", "data": {"source": "digits", "limit": 120},
                           "train": {"class_weights": setting}})
    pipeline = build_pipeline(config)
    lines = pipeline.summary().splitlines()
    if setting == "none":
        assert pipeline.task.class_weights is None and len(lines) == 1
        return
    labels = pipeline.data.train[1].numpy()
    expected = compute_class_weight("balanced", classes=np.arange(10), y=labels)
    np.testing.assert_allclose(pipeline.task.class_weights.numpy(), expected, rtol=1e-6)
    assert lines[1].startswith(f"class weights (balanced, from the training split): 0 {expected[0]:.3g}, 1 ")


def test_balanced_weights_raise_the_recall_of_a_rare_class():
    """Overlapping classes, 95% against 5%: unweighted, the model misses most of the rare class;
    weighted, it finds most of it (what the option is for)."""
    generator = torch.Generator().manual_seed(0)
    labels = (torch.rand(2000, generator=generator) < 0.05).long()
    inputs = torch.randn(2000, 2, generator=generator) + labels[:, None] * 1.5
    recalls = {}
    for name, weights in (("none", None), ("balanced", balanced_class_weights(labels, 2))):
        torch.manual_seed(0)
        model = nn.Linear(2, 2)
        task = ClassificationTask(2, class_weights=weights)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
        for _ in range(300):
            optimizer.zero_grad()
            task.forward(model, (inputs, labels), training=True)[0].backward()
            optimizer.step()
        predicted = model(inputs).argmax(dim=1)
        recalls[name] = (predicted[labels == 1] == 1).double().mean().item()
    assert recalls["balanced"] > recalls["none"] + 0.3, recalls  # measured 0.88 against 0.43
